using System.CommandLine;
using Akka.WhatsApp.Client;
using Akka.WhatsApp.Client.Media;
using Akka.WhatsApp.Client.Storage;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;

namespace Akka.WhatsApp.Cli;

/// <summary>
/// Media in `wa` (PROTOCOL.md §12): `wa send --file` compresses an image (longest edge 1600 px) and makes its thumbnail,
/// encrypts, uploads with a progress line, and sends the reference end-to-end encrypted; `wa listen` / `wa chat` show
/// what arrived and save it into the profile's media folder; `wa download` fetches a stored message's media again.
/// </summary>
public static partial class WaCommands
{
    private static readonly HttpClient MediaHttp = new() { Timeout = TimeSpan.FromMinutes(30) };

    private static Command DownloadCommand(Func<ParseResult, bool, CancellationToken, Task<DeviceSession>> deviceAsync, TextWriter output)
    {
        var messageArgument = new Argument<string>("message-id") { Description = "a media message's id (hex, as `wa listen` or `wa history` print it)" };
        var outOption = new Option<string?>("--out") { Description = "where to save it (default: the profile's media folder)" };
        var download = new Command("download", "download (again) the image, video, audio or document of a stored message") { messageArgument };
        download.Options.Add(outOption);
        download.SetAction(async (p, ct) =>
        {
            await using var device = await deviceAsync(p, false, ct);
            var id = p.GetValue(messageArgument)!.ToLowerInvariant();
            var message = device.Store.Find(id) ?? throw new CliException($"no message {id} is stored in this profile");
            if (ReferenceOf(message.Kind, message.Body.Span) is not { } reference)
                throw new CliException($"message {id} is a {message.Kind.ToString().ToLowerInvariant()} message, not media");
            var path = await SaveMediaAsync(device, reference, id, p.GetValue(outOption), output, ct);
            output.WriteLine($"saved {path}");
        });
        return download;
    }

    /// <summary>The kind of message a file is sent as, from what its bytes are.</summary>
    private static ContentKind ContentKindOf(MediaKind kind) => kind switch
    {
        MediaKind.Image => ContentKind.Image,
        MediaKind.Video => ContentKind.Video,
        MediaKind.Audio => ContentKind.Audio,
        MediaKind.Sticker => ContentKind.Sticker,
        _ => ContentKind.Document,
    };

    private static bool IsMedia(ContentKind kind) =>
        kind is ContentKind.Image or ContentKind.Video or ContentKind.Audio or ContentKind.VoiceNote or ContentKind.Document or ContentKind.Sticker or ContentKind.Gif;

    /// <summary>The media reference a message carries, or null when it is not a media message (or not a readable one).</summary>
    private static MediaReference? ReferenceOf(ContentKind kind, ReadOnlySpan<byte> body)
    {
        if (!IsMedia(kind))
            return null;
        try
        {
            return MediaReference.Parser.ParseFrom(body) is { MediaId.Length: > 0 } reference ? reference : null;
        }
        catch (InvalidProtocolBufferException)
        {
            return null;
        }
    }

    /// <summary>"[image 1.2 MB 1600×1200] caption", as a media message shows.</summary>
    private static string DescribeMedia(MediaReference r)
    {
        var size = r.FileLength >= 1 << 20 ? $"{r.FileLength / 1048576.0:0.0} MB" : $"{Math.Max(1, r.FileLength / 1024)} KB";
        var pixels = r.Width > 0 && r.Height > 0 ? $" {r.Width}×{r.Height}" : "";
        var name = r.FileName.Length > 0 ? $" {r.FileName}" : "";
        return $"[{r.Kind.ToString().ToLowerInvariant()} {size}{pixels}{name}]{(r.Caption.Length > 0 ? " " + r.Caption : "")}";
    }

    /// <summary>
    /// Makes the message body of a file: an image is re-encoded to at most 1600 px (a JPEG) with a 100 px thumbnail, a
    /// video gets a first-frame thumbnail when ffmpeg is installed; everything is encrypted and uploaded (progress on
    /// <paramref name="output"/>).
    /// </summary>
    private static async Task<(MediaReference Reference, ContentKind Kind)> UploadFileAsync(DeviceSession device, string path, string caption,
        TextWriter output, CancellationToken ct)
    {
        if (!File.Exists(path))
            throw new CliException($"{path}: no such file");
        var sniffed = MediaSniffer.KindOf(path);
        var reference = new MediaReference { MimeType = sniffed.MimeType, FileName = Path.GetFileName(path), Caption = caption };
        Stream content = File.OpenRead(path);
        try
        {
            if (sniffed.Kind == MediaKind.Image && sniffed.MimeType != "image/gif")
            {
                try
                {
                    var image = MediaPreview.Image(path);
                    var thumbnail = MediaPreview.Thumbnail(path);
                    (reference.Width, reference.Height, reference.Thumbnail, reference.MimeType) =
                        ((uint)image.Width, (uint)image.Height, ByteString.CopyFrom(thumbnail.Jpeg), "image/jpeg");
                    reference.FileName = Path.ChangeExtension(reference.FileName, ".jpg");
                    await content.DisposeAsync();
                    content = new MemoryStream(image.Jpeg);
                }
                catch (InvalidDataException)
                {
                    // Not decodable here: sent as it is, without a preview.
                }
            }
            else if (sniffed.Kind == MediaKind.Video && await MediaPreview.VideoThumbnailAsync(path, ct: ct) is { } frame)
            {
                reference.Thumbnail = ByteString.CopyFrom(frame.Jpeg);
            }
            var uploaded = await new MediaTransfer(device.Client, MediaHttp).UploadAsync(content, sniffed.Kind, reference,
                new ProgressLine(output, "uploading"), ct);
            return (uploaded, ContentKindOf(sniffed.Kind));
        }
        finally
        {
            await content.DisposeAsync();
        }
    }

    /// <summary>Downloads and decrypts a message's media to <paramref name="to"/> or into the profile's media folder.</summary>
    private static async Task<string> SaveMediaAsync(DeviceSession device, MediaReference reference, string messageId, string? to, TextWriter output,
        CancellationToken ct)
    {
        var folder = Path.Combine(device.Folder, "media");
        Directory.CreateDirectory(folder);
        var name = reference.FileName.Length > 0 ? Path.GetFileName(reference.FileName) : reference.MediaId;
        var path = to ?? Path.Combine(folder, $"{messageId[..8]}-{name}");
        await new MediaTransfer(device.Client, MediaHttp).DownloadAsync(reference, path, new ProgressLine(output, "downloading"), ct);
        return path;
    }

    /// <summary>Media this big or smaller is saved as it arrives in `wa listen` / `wa chat`; larger waits for `wa download`.</summary>
    public const ulong AutoDownloadMax = 16 << 20;

    private static async Task AutoDownloadAsync(DeviceSession device, MediaReference media, string messageId, TextWriter output, CancellationToken ct)
    {
        if (media.FileLength > AutoDownloadMax)
        {
            lock (output)
                output.WriteLine($"(not downloaded: `wa download {messageId}` fetches it)");
            return;
        }
        try
        {
            var path = await SaveMediaAsync(device, media, messageId, to: null, output, ct);
            lock (output)
                output.WriteLine($"saved {path}");
        }
        catch (Exception e) when (e is HttpRequestException or MediaIntegrityException or ServerErrorException or IOException)
        {
            lock (output)
                output.WriteLine($"(could not download {messageId}: {e.Message}; `wa download {messageId}` tries again)");
        }
    }

    /// <summary>
    /// A progress bar on one line of the terminal ("uploading ████░░░░ 48% 0.5/1.0 MB"), redrawn at most every percent;
    /// when the output is not a terminal (a pipe, a test) only the end is written.
    /// </summary>
    private sealed class ProgressLine(TextWriter output, string what) : IProgress<MediaProgress>
    {
        private readonly bool _terminal = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;
        private int _shown = -1;

        public void Report(MediaProgress value)
        {
            var percent = value.Total == 0 ? 100 : (int)(value.Done * 100 / value.Total);
            if (percent == _shown || (!_terminal && percent < 100))
                return;
            _shown = percent;
            var bar = new string('█', percent / 5) + new string('░', 20 - percent / 5);
            var line = $"{what} {bar} {percent,3}% {value.Done / 1048576.0:0.0}/{value.Total / 1048576.0:0.0} MB";
            lock (output)
            {
                if (_terminal)
                    output.Write($"\r{line}{(percent == 100 ? "\n" : "")}");
                else
                    output.WriteLine(line);
            }
        }
    }
}
