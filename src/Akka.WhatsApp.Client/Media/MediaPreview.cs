using System.Diagnostics;
using SkiaSharp;

namespace Akka.WhatsApp.Client.Media;

/// <summary>A JPEG made from a picture or video frame, with its size in pixels (as displayed, after EXIF orientation).</summary>
public sealed record JpegPreview(byte[] Jpeg, int Width, int Height);

/// <summary>
/// What is sent alongside or instead of the original: images re-encoded as JPEG with the longer edge bounded (never
/// upscaled, EXIF orientation applied, transparency on white), small thumbnails for the message itself, and video
/// first-frame thumbnails through ffmpeg when it is installed. A file SkiaSharp cannot decode throws
/// <see cref="InvalidDataException"/>; none of these return null except <see cref="VideoThumbnailAsync"/> without ffmpeg.
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
    public static string? FfmpegMissingNote => FindOnPath("ffmpeg") is null
        ? "ffmpeg is not on PATH, so videos are sent without a first-frame thumbnail (VideoThumbnailAsync returns null); install it (Debian: apt-get install ffmpeg) to get one."
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
        var start = new ProcessStartInfo(ffmpeg) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        // Bounded in ffmpeg already (never upscaled), so a 4K frame is not written out full size; ffmpeg applies rotation metadata itself.
        foreach (var argument in (string[])["-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", path, "-frames:v", "1",
                     "-vf", $"scale='min({maxEdge},iw)':'min({maxEdge},ih)':force_original_aspect_ratio=decrease", "-q:v", "2", frame])
            start.ArgumentList.Add(argument);
        try
        {
            using var process = Process.Start(start) ?? throw new InvalidOperationException("ffmpeg did not start");
            var output = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
            var errors = process.StandardError.ReadToEndAsync(CancellationToken.None);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
            deadline.CancelAfter(timeout ?? DefaultFfmpegTimeout);
            try
            {
                await process.WaitForExitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync(CancellationToken.None);
                ct.ThrowIfCancellationRequested();
                throw new TimeoutException($"ffmpeg took longer than {timeout ?? DefaultFfmpegTimeout} for the first frame of {path} and was killed");
            }
            await output;
            var message = (await errors).Trim();
            if (process.ExitCode != 0 || !File.Exists(frame))
                throw new InvalidDataException($"ffmpeg found no video frame in {path} (exit code {process.ExitCode}): {message}");
            return Thumbnail(frame, maxEdge, quality);
        }
        finally
        {
            File.Delete(frame);
        }
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
