using System.Diagnostics;
using SkiaSharp;

namespace Akka.WhatsApp.Client.Media;

/// <summary>A JPEG made from a picture or video frame, with its size in pixels (as displayed, after EXIF orientation).</summary>
public sealed record JpegPreview(byte[] Jpeg, int Width, int Height);

/// <summary>A video as <see cref="MediaPreview.TranscodeVideoAsync"/> made it: where, its size in pixels, its length and video codec.</summary>
public sealed record TranscodedVideo(string Path, int Width, int Height, long DurationMs, string Codec);

/// <summary>
/// What is sent alongside or instead of the original: images re-encoded as JPEG with the longer edge bounded (never
/// upscaled, EXIF orientation applied, transparency on white), small thumbnails for the message itself, and video
/// first-frame thumbnails and transcoding through ffmpeg when it is installed (run as a process: two invocations do not
/// need a wrapper library). A file SkiaSharp cannot decode throws <see cref="InvalidDataException"/>; none of these
/// return null except <see cref="VideoThumbnailAsync"/> and <see cref="TranscodeVideoAsync"/> without ffmpeg.
/// </summary>
public static class MediaPreview
{
    /// <summary>Decoding refuses pictures larger than this (after the decoder's own downscaling), rather than allocating gigabytes.</summary>
    public const long MaxDecodedPixels = 120_000_000;

    /// <summary>How long ffmpeg may take for one frame unless told otherwise.</summary>
    public static readonly TimeSpan DefaultFfmpegTimeout = TimeSpan.FromSeconds(30);

    private static readonly SKSamplingOptions Sampling = new(SKFilterMode.Linear, SKMipmapMode.Linear);

    /// <summary>
    /// Null when ffmpeg is on PATH; otherwise why <see cref="VideoThumbnailAsync"/> returns null and how to fix it.
    /// Looked up on each call, so installing ffmpeg takes effect without a restart.
    /// </summary>
    public static string? FfmpegMissingNote => FindOnPath("ffmpeg") is null || FindOnPath("ffprobe") is null
        ? "ffmpeg (or its ffprobe) is not on PATH, so videos are sent as they are, without transcoding or a first-frame thumbnail (TranscodeVideoAsync and VideoThumbnailAsync return null); install it (Debian: apt-get install ffmpeg) to get both."
        : null;

    /// <summary>The picture to send: a JPEG with the longer edge at most <paramref name="maxEdge"/>.</summary>
    public static JpegPreview Image(string path, int maxEdge = 1600, int quality = 80)
    {
        using var file = File.OpenRead(path);
        return Render(file, maxEdge, quality, path);
    }

    /// <inheritdoc cref="Image(string, int, int)"/>
    public static JpegPreview Image(Stream image, int maxEdge = 1600, int quality = 80) => Render(image, maxEdge, quality, "the stream");

    /// <summary>The thumbnail carried inside the message: a JPEG of at most <paramref name="maxEdge"/> pixels a side, a few KB.</summary>
    public static JpegPreview Thumbnail(string path, int maxEdge = 100, int quality = 60) => Image(path, maxEdge, quality);

    /// <inheritdoc cref="Thumbnail(string, int, int)"/>
    public static JpegPreview Thumbnail(Stream image, int maxEdge = 100, int quality = 60) => Image(image, maxEdge, quality);

    /// <summary>
    /// A thumbnail of the first frame of a video, made by running ffmpeg into a temporary JPEG; null when ffmpeg is not
    /// installed (<see cref="FfmpegMissingNote"/>). An ffmpeg that runs past <paramref name="timeout"/> (default
    /// <see cref="DefaultFfmpegTimeout"/>) or is cancelled is killed: <see cref="TimeoutException"/> or
    /// <see cref="OperationCanceledException"/>. A file ffmpeg finds no frame in throws <see cref="InvalidDataException"/>.
    /// </summary>
    public static async Task<JpegPreview?> VideoThumbnailAsync(string path, int maxEdge = 100, int quality = 60, TimeSpan? timeout = null, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEdge, 1);
        if (!File.Exists(path))
            throw new FileNotFoundException("no such video", path);
        if (FindOnPath("ffmpeg") is not { } ffmpeg)
            return null;

        var frame = Path.Combine(Path.GetTempPath(), $"wa-frame-{Guid.NewGuid():N}.jpg");
        try
        {
            // Bounded in ffmpeg already (never upscaled), so a 4K frame is not written out full size; ffmpeg applies rotation metadata itself.
            var (exit, errors, _) = await RunAsync(ffmpeg, ["-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", path, "-frames:v", "1",
                "-vf", $"scale='min({maxEdge},iw)':'min({maxEdge},ih)':force_original_aspect_ratio=decrease", "-q:v", "2", frame],
                timeout ?? DefaultFfmpegTimeout, $"the first frame of {path}", ct);
            if (exit != 0 || !File.Exists(frame))
                throw new InvalidDataException($"ffmpeg found no video frame in {path} (exit code {exit}): {errors}");
            return Thumbnail(frame, maxEdge, quality);
        }
        finally
        {
            File.Delete(frame);
        }
    }

    /// <summary>How long transcoding one video may take unless told otherwise.</summary>
    public static readonly TimeSpan DefaultTranscodeTimeout = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Re-encodes a video as WhatsApp-like clients do before sending: H.264 (CRF 28, yuv420p) and AAC 128 kb/s in an
    /// MP4 whose index comes first (<c>+faststart</c>, so a recipient can start playing from a ranged download before
    /// the end), the longer edge at most <paramref name="maxEdge"/> (never upscaled; even sizes, as H.264 needs), and
    /// ffprobe's account of the result. Null without ffmpeg and ffprobe (<see cref="FfmpegMissingNote"/>): the caller
    /// sends the original. A file ffmpeg cannot read as a video throws <see cref="InvalidDataException"/>; past
    /// <paramref name="timeout"/> (default <see cref="DefaultTranscodeTimeout"/>) ffmpeg is killed: <see cref="TimeoutException"/>.
    /// </summary>
    public static async Task<TranscodedVideo?> TranscodeVideoAsync(string path, string output, int maxEdge = 1280, TimeSpan? timeout = null,
        CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEdge, 2);
        if (!File.Exists(path))
            throw new FileNotFoundException("no such video", path);
        if (FindOnPath("ffmpeg") is not { } ffmpeg || FindOnPath("ffprobe") is not { } ffprobe)
            return null;
        var partial = output + ".partial.mp4";
        try
        {
            var (exit, errors, _) = await RunAsync(ffmpeg, ["-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", path,
                "-map", "0:v:0", "-map", "0:a:0?",
                "-vf", $"scale='min({maxEdge},iw)':'min({maxEdge},ih)':force_original_aspect_ratio=decrease,scale=trunc(iw/2)*2:trunc(ih/2)*2",
                "-c:v", "libx264", "-preset", "veryfast", "-crf", "28", "-pix_fmt", "yuv420p",
                "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", "-f", "mp4", partial],
                timeout ?? DefaultTranscodeTimeout, $"transcoding {path}", ct);
            if (exit != 0 || !File.Exists(partial))
                throw new InvalidDataException($"ffmpeg could not transcode {path} as a video (exit code {exit}): {errors}");
            var (probed, probeErrors, described) = await RunAsync(ffprobe, ["-v", "error", "-select_streams", "v:0",
                "-show_entries", "stream=width,height,codec_name:format=duration", "-of", "default=noprint_wrappers=1", partial],
                DefaultFfmpegTimeout, $"probing {partial}", ct);
            if (probed != 0)
                throw new InvalidDataException($"ffprobe could not read what ffmpeg made of {path}: {probeErrors}");
            var fields = described.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(line => line.Split('=', 2)).Where(pair => pair.Length == 2).ToDictionary(pair => pair[0], pair => pair[1]);
            File.Move(partial, output, overwrite: true);
            return new TranscodedVideo(output, int.Parse(fields["width"], System.Globalization.CultureInfo.InvariantCulture),
                int.Parse(fields["height"], System.Globalization.CultureInfo.InvariantCulture),
                double.TryParse(fields.GetValueOrDefault("duration"), System.Globalization.CultureInfo.InvariantCulture, out var seconds) ? (long)(seconds * 1000) : 0,
                fields.GetValueOrDefault("codec_name") ?? "");
        }
        finally
        {
            File.Delete(partial);
        }
    }

    /// <summary>
    /// Runs ffmpeg or ffprobe to its end: its exit code, standard error and output. Past <paramref name="timeout"/> or
    /// on cancellation the process is killed (<see cref="TimeoutException"/>, <see cref="OperationCanceledException"/>).
    /// </summary>
    private static async Task<(int Exit, string Errors, string Output)> RunAsync(string program, IEnumerable<string> arguments, TimeSpan timeout,
        string what, CancellationToken ct)
    {
        var start = new ProcessStartInfo(program) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start");
        var output = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var errors = process.StandardError.ReadToEndAsync(CancellationToken.None);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            ct.ThrowIfCancellationRequested();
            throw new TimeoutException($"{Path.GetFileName(program)} took longer than {timeout} for {what} and was killed");
        }
        return (process.ExitCode, (await errors).Trim(), await output);
    }

    private static JpegPreview Render(Stream source, int maxEdge, int quality, string what)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEdge, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(quality, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(quality, 100);
        using var codec = SKCodec.Create(source) ?? throw new InvalidDataException($"SkiaSharp cannot decode {what} as an image");

        // Sizes before orientation: the longer edge is the same either way.
        var (width, height) = (codec.Info.Width, codec.Info.Height);
        var scale = Math.Min(1.0, (double)maxEdge / Math.Max(width, height));
        var target = new SKSizeI(Math.Max(1, (int)Math.Round(width * scale)), Math.Max(1, (int)Math.Round(height * scale)));

        // JPEG decodes at 1/2, 1/4 or 1/8 size almost for free; other formats decode full size.
        var decoded = codec.GetScaledDimensions((float)scale);
        if (decoded.Width < target.Width || decoded.Height < target.Height)
            decoded = codec.Info.Size;
        if ((long)decoded.Width * decoded.Height > MaxDecodedPixels)
            throw new InvalidDataException($"{what} is {width}x{height} pixels, more than this client decodes");
        using var bitmap = SKBitmap.Decode(codec, new SKImageInfo(decoded.Width, decoded.Height, SKImageInfo.PlatformColorType, SKAlphaType.Premul))
                           ?? throw new InvalidDataException($"SkiaSharp cannot decode {what}: the image data is damaged");

        var origin = codec.EncodedOrigin;
        var turned = origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
        var shown = turned ? new SKSizeI(target.Height, target.Width) : target;
        using var result = new SKBitmap(new SKImageInfo(shown.Width, shown.Height, SKImageInfo.PlatformColorType, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(result))
        {
            canvas.Clear(SKColors.White); // JPEG has no alpha: transparent pixels show on white, not black
            canvas.SetMatrix(Orientation(origin, target.Width, target.Height));
            canvas.DrawBitmap(bitmap, SKRect.Create(target.Width, target.Height), Sampling);
        }
        using var jpeg = result.Encode(SKEncodedImageFormat.Jpeg, quality) ?? throw new InvalidOperationException("SkiaSharp could not encode a JPEG");
        return new JpegPreview(jpeg.ToArray(), shown.Width, shown.Height);
    }

    /// <summary>Maps a w×h picture as stored to how EXIF says it is shown (x' = a·x + b·y + c, y' = d·x + e·y + f).</summary>
    private static SKMatrix Orientation(SKEncodedOrigin origin, float w, float h) => origin switch
    {
        SKEncodedOrigin.TopRight => new SKMatrix(-1, 0, w, 0, 1, 0, 0, 0, 1),     // mirrored
        SKEncodedOrigin.BottomRight => new SKMatrix(-1, 0, w, 0, -1, h, 0, 0, 1), // 180°
        SKEncodedOrigin.BottomLeft => new SKMatrix(1, 0, 0, 0, -1, h, 0, 0, 1),   // flipped
        SKEncodedOrigin.LeftTop => new SKMatrix(0, 1, 0, 1, 0, 0, 0, 0, 1),       // transposed
        SKEncodedOrigin.RightTop => new SKMatrix(0, -1, h, 1, 0, 0, 0, 0, 1),     // 90° clockwise
        SKEncodedOrigin.RightBottom => new SKMatrix(0, -1, h, -1, 0, w, 0, 0, 1), // transverse
        SKEncodedOrigin.LeftBottom => new SKMatrix(0, 1, 0, -1, 0, w, 0, 0, 1),   // 90° counter-clockwise
        _ => SKMatrix.Identity,
    };

    private static string? FindOnPath(string program)
    {
        var file = OperatingSystem.IsWindows() ? program + ".exe" : program;
        return (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(folder => Path.Combine(folder, file))
            .FirstOrDefault(File.Exists);
    }
}
