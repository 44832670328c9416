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

    /// <summary>
    /// `wa profile [user]` shows a profile as its privacy settings let you see it; `--name`, `--about`, `--photo <file>`
    /// and `--no-photo` change your own; `--save-photo` downloads the shown photo. Photos are not end-to-end
    /// encrypted (PROTOCOL.md §12): they are made 640 px at most and uploaded as they are.
    /// </summary>
    private static Command ProfileCommand(Func<ParseResult, bool, CancellationToken, Task<DeviceSession>> deviceAsync, TextWriter output)
    {
        var userArgument = new Argument<string?>("user") { Description = "whose profile (default: yours)", Arity = ArgumentArity.ZeroOrOne };
        var nameOption = new Option<string?>("--name") { Description = "your display name" };
        var aboutOption = new Option<string?>("--about") { Description = "your about text" };
        var photoOption = new Option<string?>("--photo") { Description = "make this picture your profile photo" };
        var noPhotoOption = new Option<bool>("--no-photo") { Description = "remove your profile photo" };
        var savePhotoOption = new Option<bool>("--save-photo") { Description = "download the profile photo into this profile's media folder" };
        var profile = new Command("profile", "show a profile (yours unless named), or change your name, about text and photo") { userArgument };
        foreach (var option in new Option[] { nameOption, aboutOption, photoOption, noPhotoOption, savePhotoOption })
            profile.Options.Add(option);
        profile.SetAction(async (p, ct) =>
        {
            var (name, about, photo, noPhoto) = (p.GetValue(nameOption), p.GetValue(aboutOption), p.GetValue(photoOption), p.GetValue(noPhotoOption));
            var changes = name is not null || about is not null || photo is not null || noPhoto;
            if (changes && p.GetValue(userArgument) is not null)
                throw new CliException("you can change only your own profile: leave out the user");
            if (photo is not null && noPhoto)
                throw new CliException("--photo and --no-photo contradict each other");
            await using var device = await deviceAsync(p, false, ct);
            Protocol.Profile shown;
            if (changes)
            {
                var photoId = noPhoto ? "" : photo is null ? null : await UploadPictureAsync(device, photo, MediaKind.ProfilePhoto, ct);
                shown = await device.Client.SetProfileAsync(name, about, photoId, ct);
            }
            else
            {
                shown = await device.Client.GetProfileAsync(p.GetValue(userArgument) is { } user ? await UserOfAsync(device.Client, user, ct) : null, ct);
            }
            output.WriteLine($"{shown.UserId}{(shown.Name.Length > 0 ? $" \"{shown.Name}\"" : "")}");
            if (shown.About.Length > 0)
                output.WriteLine($"about: {shown.About}");
            output.WriteLine(shown.PhotoMediaId.Length > 0 ? $"photo: {shown.PhotoMediaId}" : "no photo (or not shown to you)");
            if (shown.LastSeen > 0)
                output.WriteLine($"last seen {Time(shown.LastSeen)}");
            if (p.GetValue(savePhotoOption) && shown.PhotoMediaId.Length > 0)
                output.WriteLine($"saved {await SavePictureAsync(device, shown.PhotoMediaId, null, $"photo-{shown.UserId}.jpg", ct)}");
        });
        return profile;
    }

    /// <summary>A picture made at most 640 px (JPEG) and uploaded unencrypted as a profile photo or group icon: its media id.</summary>
    private static async Task<string> UploadPictureAsync(DeviceSession device, string path, MediaKind kind, CancellationToken ct)
    {
        if (!File.Exists(path))
            throw new CliException($"{path}: no such file");
        var picture = MediaPreview.Image(path, maxEdge: 640);
        return await new MediaTransfer(device.Client, MediaHttp).UploadPublicAsync(picture.Jpeg, kind, ct);
    }

    /// <summary>Downloads a profile photo or (with <paramref name="groupId"/>) a group icon into the profile's media folder.</summary>
    private static async Task<string> SavePictureAsync(DeviceSession device, string mediaId, string? groupId, string name, CancellationToken ct)
    {
        var bytes = await new MediaTransfer(device.Client, MediaHttp).DownloadPublicAsync(mediaId, groupId, ct);
        var folder = Path.Combine(device.Folder, "media");
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, name);
        await File.WriteAllBytesAsync(path, bytes, ct);
        return path;
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
    /// video is transcoded (H.264/AAC MP4, at most 1280 px) and gets a first-frame thumbnail when ffmpeg is installed; everything is encrypted and uploaded (progress on
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
        string? transcoded = null;
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
            else if (sniffed.Kind == MediaKind.Video)
            {
                output.WriteLine(MediaPreview.FfmpegMissingNote ?? "transcoding the video (H.264, at most 1280 px)...");
                transcoded = Path.Combine(Path.GetTempPath(), $"wa-video-{Guid.NewGuid():N}.mp4");
                try
                {
                    if (await MediaPreview.TranscodeVideoAsync(path, transcoded, ct: ct) is { } video)
                    {
                        (reference.Width, reference.Height, reference.DurationMs, reference.MimeType) = ((uint)video.Width, (uint)video.Height, (uint)Math.Min(video.DurationMs, uint.MaxValue), "video/mp4");
                        reference.FileName = Path.ChangeExtension(reference.FileName, ".mp4");
                        await content.DisposeAsync();
                        content = File.OpenRead(transcoded);
                    }
                }
                catch (InvalidDataException e)
                {
                    output.WriteLine($"sent as it is: {e.Message}");
                }
                if (await MediaPreview.VideoThumbnailAsync(transcoded is not null && File.Exists(transcoded) ? transcoded : path, ct: ct) is { } frame)
                    reference.Thumbnail = ByteString.CopyFrom(frame.Jpeg);
            }
            var uploaded = await new MediaTransfer(device.Client, MediaHttp).UploadAsync(content, sniffed.Kind, reference,
                new ProgressLine(output, "uploading"), ct);
            return (uploaded, ContentKindOf(sniffed.Kind));
        }
        catch (InvalidDataException e) when (sniffed.Kind == MediaKind.Video)
        {
            throw new CliException($"{path}: {e.Message}");
        }
        finally
        {
            await content.DisposeAsync();
            if (transcoded is not null)
                File.Delete(transcoded);
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

    /// <summary>The --network option of `wa listen` and `wa chat`: which auto-download rule applies.</summary>
    private static Option<string> NetworkOption() => new("--network")
    {
        Description = "the network this device is on, for the auto-download settings: wifi, cellular or roaming", DefaultValueFactory = _ => "wifi",
    };

    /// <summary>Makes <paramref name="device"/> follow the user's auto-download settings on <paramref name="network"/>.</summary>
    private static async Task FollowAutoDownloadAsync(DeviceSession device, string network, CancellationToken ct) =>
        device.AutoDownload = (await AutoDownload.GetAsync(device.Client, ct), NetworkOf(network));

    private static NetworkClass NetworkOf(string name) => name.ToLowerInvariant() switch
    {
        "wifi" or "wi-fi" => NetworkClass.Wifi,
        "cellular" or "mobile" => NetworkClass.Cellular,
        "roaming" => NetworkClass.Roaming,
        _ => throw new CliException($"--network is wifi, cellular or roaming, not '{name}'"),
    };

    private static MediaKind MediaKindOf(string name) => name.Trim().ToLowerInvariant() switch
    {
        "image" or "images" or "photo" or "photos" => MediaKind.Image,
        "video" or "videos" => MediaKind.Video,
        "audio" => MediaKind.Audio,
        "document" or "documents" => MediaKind.Document,
        "sticker" or "stickers" => MediaKind.Sticker,
        var other => throw new CliException($"a media kind is image, video, audio, document or sticker, not '{other}'"),
    };

    /// <summary>`wa settings auto-download`: shows, or changes per network, which media every device of the user downloads as it arrives.</summary>
    private static Command SettingsCommand(Func<ParseResult, bool, CancellationToken, Task<DeviceSession>> deviceAsync, TextWriter output)
    {
        var options = new[] { ("--wifi", NetworkClass.Wifi), ("--cellular", NetworkClass.Cellular), ("--roaming", NetworkClass.Roaming) }
            .Select(o => (Option: new Option<string?>(o.Item1) { Description = $"kinds to download on {o.Item1[2..]}: e.g. image,audio (none: nothing)" }, Network: o.Item2))
            .ToList();
        var maxOption = new Option<int?>("--max-mb") { Description = "with a network above: only media up to this many MB (0: any size)" };
        var autoDownload = new Command("auto-download", "show or change what your devices download by themselves, per network (shared by all your devices)");
        foreach (var (option, _) in options)
            autoDownload.Options.Add(option);
        autoDownload.Options.Add(maxOption);
        autoDownload.SetAction(async (p, ct) =>
        {
            await using var device = await deviceAsync(p, false, ct);
            var settings = await AutoDownload.GetAsync(device.Client, ct);
            var changed = false;
            foreach (var (option, network) in options)
            {
                if (p.GetValue(option) is not { } kinds)
                    continue;
                var rule = new AutoDownloadRule { Network = network, MaxBytes = (ulong)Math.Max(0, p.GetValue(maxOption) ?? 0) << 20 };
                if (!kinds.Equals("none", StringComparison.OrdinalIgnoreCase))
                    rule.Kinds.AddRange(kinds.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(MediaKindOf).Distinct());
                var rules = settings.AutoDownload.Where(r => r.Network != network).Append(rule).OrderBy(r => r.Network).ToList();
                settings = new MediaSettings { AutoDownload = { rules } };
                changed = true;
            }
            if (changed)
                settings = await AutoDownload.SetAsync(device.Client, settings, ct);
            foreach (var network in new[] { NetworkClass.Wifi, NetworkClass.Cellular, NetworkClass.Roaming })
            {
                var rule = settings.AutoDownload.FirstOrDefault(r => r.Network == network);
                var kinds = rule is { Kinds.Count: > 0 } ? string.Join(",", rule.Kinds.Select(k => k.ToString().ToLowerInvariant())) : "nothing";
                output.WriteLine($"{network.ToString().ToLowerInvariant()}: {kinds}{(rule is { MaxBytes: > 0 } ? $" up to {rule.MaxBytes >> 20} MB" : "")}");
            }
            if (settings.IsDefault)
                output.WriteLine("(the defaults: you never changed them)");
        });
        return new Command("settings", "settings kept with your account") { autoDownload };
    }

    private static async Task AutoDownloadAsync(DeviceSession device, MediaReference media, string messageId, TextWriter output, CancellationToken ct)
    {
        if (device.AutoDownload is not { } auto || !AutoDownload.Allows(auto.Settings, auto.Network, media.Kind, media.FileLength))
        {
            lock (output)
                output.WriteLine($"(not downloaded on {(device.AutoDownload?.Network ?? NetworkClass.Wifi).ToString().ToLowerInvariant()} by your settings: `wa download {messageId}` fetches it)");
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
