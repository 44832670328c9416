using System.Diagnostics;
using Akka.WhatsApp.Client.Media;
using SkiaSharp;
using Xunit;

namespace Akka.WhatsApp.Client.Tests.Media;

/// <summary>
/// Previews as a sender makes them: a 4000×3000 photo shrunk to send and to a thumbnail, EXIF orientation applied,
/// transparency on white, files that are no image refused, and video thumbnails through ffmpeg where it is installed.
/// </summary>
public sealed class MediaPreviewSpec : IClassFixture<MediaPreviewSpec.LargePhoto>, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("wa-preview-").FullName;
    private readonly LargePhoto _photo;

    public MediaPreviewSpec(LargePhoto photo) => _photo = photo;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void A_4000_by_3000_photo_is_sent_as_a_1600_by_1200_jpeg()
    {
        var image = MediaPreview.Image(_photo.Path);

        Assert.Equal((1600, 1200), (image.Width, image.Height));
        AssertJpeg(image);
    }

    [Fact]
    public void A_4000_by_3000_photo_gets_a_100_by_75_thumbnail_of_a_few_KB()
    {
        using var file = File.OpenRead(_photo.Path);
        var thumbnail = MediaPreview.Thumbnail(file);

        Assert.Equal((100, 75), (thumbnail.Width, thumbnail.Height));
        Assert.True(thumbnail.Jpeg.Length < 10 * 1024, $"a thumbnail of {thumbnail.Jpeg.Length} bytes is not a few KB");
        AssertJpeg(thumbnail);
    }

    [Fact]
    public void A_small_picture_is_never_upscaled_and_transparency_shows_on_white()
    {
        using var bitmap = new SKBitmap(new SKImageInfo(50, 40, SKColorType.Rgba8888, SKAlphaType.Premul));
        bitmap.Erase(SKColors.Transparent);
        using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);

        var image = MediaPreview.Image(png.AsStream());

        Assert.Equal((50, 40), (image.Width, image.Height));
        var pixel = Decode(image).GetPixel(25, 20);
        Assert.True(pixel is { Red: > 240, Green: > 240, Blue: > 240 }, $"transparent became {pixel}, not white");
    }

    [Theory]
    [InlineData(1, 200, 100, 20, 50)]  // as stored: the red half on the left
    [InlineData(3, 200, 100, 180, 50)] // turned 180°: red on the right
    [InlineData(6, 100, 200, 50, 20)]  // turned 90° clockwise: the left edge becomes the top
    [InlineData(8, 100, 200, 50, 180)] // turned 90° counter-clockwise: the left edge becomes the bottom
    public void EXIF_orientation_is_applied(int orientation, int width, int height, int redX, int redY)
    {
        using var bitmap = new SKBitmap(200, 100);
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.Blue);
            using var red = new SKPaint { Color = SKColors.Red };
            canvas.DrawRect(0, 0, 100, 100, red);
        }
        using var jpeg = bitmap.Encode(SKEncodedImageFormat.Jpeg, 90);

        var image = MediaPreview.Image(new MemoryStream(WithExifOrientation(jpeg.ToArray(), orientation)));

        Assert.Equal((width, height), (image.Width, image.Height));
        var pixel = Decode(image).GetPixel(redX, redY);
        Assert.True(pixel is { Red: > 200, Blue: < 60 }, $"expected red at ({redX}, {redY}), found {pixel}");
    }

    [Fact]
    public void A_file_that_is_no_image_throws_InvalidDataException()
    {
        var text = Path.Combine(_folder, "notes.txt");
        File.WriteAllText(text, "not a picture at all");

        var error = Assert.Throws<InvalidDataException>(() => MediaPreview.Image(text));
        Assert.Contains("cannot decode", error.Message);
        Assert.Throws<InvalidDataException>(() => MediaPreview.Thumbnail(new MemoryStream([0xFF, 0xD8, 0xFF, 0xE0, 0, 0])));
    }

    /// <summary>These tests run ffmpeg; `./build.sh test` installs it (scripts/tools.sh) and they fail, not skip, without it.</summary>
    private static void RequireFfmpeg() =>
        Assert.True(MediaPreview.FfmpegMissingNote is null,
            "this test needs ffmpeg and ffprobe on PATH: run the tests through ./build.sh test, which installs the Debian package ffmpeg, or install it yourself");

    [Fact]
    public async Task A_video_gets_a_first_frame_thumbnail_through_ffmpeg()
    {
        RequireFfmpeg();
        var video = Path.Combine(_folder, "clip.mp4");
        await Ffmpeg("-f", "lavfi", "-i", "testsrc=duration=1:size=320x240:rate=10", "-pix_fmt", "yuv420p", video);
        var thumbnail = await MediaPreview.VideoThumbnailAsync(video);

        Assert.NotNull(thumbnail);
        Assert.Equal((100, 75), (thumbnail.Width, thumbnail.Height));
        AssertJpeg(thumbnail);
    }

    [Fact]
    public async Task Without_a_video_frame_ffmpeg_fails_clearly_and_a_slow_one_is_killed()
    {
        RequireFfmpeg();
        var text = Path.Combine(_folder, "notes.mp4");
        await File.WriteAllTextAsync(text, "not a video");
        await Assert.ThrowsAsync<InvalidDataException>(() => MediaPreview.VideoThumbnailAsync(text));
        await Assert.ThrowsAsync<TimeoutException>(() => MediaPreview.VideoThumbnailAsync(text, timeout: TimeSpan.FromTicks(1)));
        await Assert.ThrowsAsync<InvalidDataException>(() => MediaPreview.TranscodeVideoAsync(text, Path.Combine(_folder, "out.mp4")));
        Assert.False(File.Exists(Path.Combine(_folder, "out.mp4")));
    }

    [Fact]
    public async Task A_large_video_is_transcoded_to_a_smaller_faststart_h264_mp4_of_the_same_length()
    {
        RequireFfmpeg();
        // 1920×1080 at 25 fps for 2 s, with sound, in MPEG-4 part 2 at a high bitrate: what a phone camera might hand over.
        var original = Path.Combine(_folder, "camera.mkv");
        await Ffmpeg("-f", "lavfi", "-i", "testsrc2=duration=2:size=1920x1080:rate=25", "-f", "lavfi", "-i", "sine=frequency=440:duration=2",
            "-c:v", "mpeg4", "-q:v", "2", "-c:a", "pcm_s16le", "-shortest", original);
        var output = Path.Combine(_folder, "sent.mp4");

        var video = await MediaPreview.TranscodeVideoAsync(original, output);

        Assert.NotNull(video);
        Assert.Equal((1280, 720, "h264"), (video.Width, video.Height, video.Codec));
        Assert.InRange(video.DurationMs, 1900, 2100);
        Assert.True(new FileInfo(output).Length < new FileInfo(original).Length, "the transcode is smaller than the original");
        // +faststart: the index (moov) comes before the media data (mdat), so playback can start from the first bytes.
        var head = (await File.ReadAllBytesAsync(output)).AsSpan();
        Assert.Equal("ftyp"u8.ToArray(), head.Slice(4, 4).ToArray());
        Assert.True(head.IndexOf("moov"u8) is var moov && moov > 0 && moov < head.IndexOf("mdat"u8), "moov before mdat");
        Assert.False(File.Exists(output + ".partial.mp4"));

        // A small video is never upscaled; odd sizes become even (H.264 needs them).
        var small = Path.Combine(_folder, "small.mkv");
        await Ffmpeg("-f", "lavfi", "-i", "testsrc=duration=1:size=321x241:rate=10", "-c:v", "ffv1", small);
        var kept = await MediaPreview.TranscodeVideoAsync(small, Path.Combine(_folder, "small-sent.mp4"));
        Assert.Equal((320, 240), (kept!.Width, kept.Height));
    }

    private static void AssertJpeg(JpegPreview preview)
    {
        Assert.Equal([0xFF, 0xD8, 0xFF], preview.Jpeg[..3]);
        using var codec = SKCodec.Create(new MemoryStream(preview.Jpeg));
        Assert.NotNull(codec);
        Assert.Equal(SKEncodedImageFormat.Jpeg, codec.EncodedFormat);
        Assert.Equal((preview.Width, preview.Height), (codec.Info.Width, codec.Info.Height));
    }

    private static SKBitmap Decode(JpegPreview preview) => SKBitmap.Decode(preview.Jpeg);

    /// <summary>Puts an APP1 Exif segment holding only an Orientation tag right after the JPEG's start marker.</summary>
    private static byte[] WithExifOrientation(byte[] jpeg, int orientation)
    {
        byte[] tiff = [(byte)'M', (byte)'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, (byte)orientation, 0, 0, 0, 0, 0, 0];
        byte[] payload = [.. "Exif\0\0"u8, .. tiff];
        var length = payload.Length + 2;
        return [0xFF, 0xD8, 0xFF, 0xE1, (byte)(length >> 8), (byte)length, .. payload, .. jpeg[2..]];
    }

    private static async Task Ffmpeg(params string[] arguments)
    {
        var start = new ProcessStartInfo("ffmpeg") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in (string[])["-nostdin", "-hide_banner", "-loglevel", "error", "-y", .. arguments])
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(deadline.Token);
        Assert.True(process.ExitCode == 0, $"ffmpeg failed making the test video: {await errors}");
    }

    /// <summary>A 4000×3000 PNG (gradient and shapes, like a photo's large smooth areas), made once for the class.</summary>
    public sealed class LargePhoto : IDisposable
    {
        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"wa-photo-{Guid.NewGuid():N}.png");

        public LargePhoto()
        {
            using var bitmap = new SKBitmap(4000, 3000);
            using (var canvas = new SKCanvas(bitmap))
            {
                using var sky = new SKPaint
                {
                    Shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(4000, 3000), [SKColors.SkyBlue, SKColors.DarkGreen], SKShaderTileMode.Clamp),
                };
                canvas.DrawRect(0, 0, 4000, 3000, sky);
                using var sun = new SKPaint { Color = SKColors.Gold, IsAntialias = true };
                canvas.DrawCircle(3000, 800, 500, sun);
            }
            using var file = File.Create(Path);
            bitmap.Encode(file, SKEncodedImageFormat.Png, 100);
        }

        public void Dispose() => File.Delete(Path);
    }
}
