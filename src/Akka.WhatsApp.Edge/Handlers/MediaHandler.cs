using System.Diagnostics;
using Akka.WhatsApp.Domain.Media;
using Google.Protobuf;

namespace Akka.WhatsApp.Edge.Handlers;

/// <summary>
/// Media (PROTOCOL.md §12): the bytes never travel in frames. A device reserves an id and gets a presigned PUT URL,
/// uploads its ciphertext to the media store directly, completes (the server checks size and SHA-256), and sends the
/// id with the key inside the end-to-end encrypted message; recipients get a presigned GET URL.
/// </summary>
public sealed class MediaHandler : IPacketHandler
{
    public const int MaxMimeTypeLength = 255;

    public void Register(PacketTable table) => table
        .Request(Frame.PacketOneofCase.RequestUploadUrl, UploadUrlAsync)
        .Request(Frame.PacketOneofCase.UploadComplete, CompleteAsync)
        .Request(Frame.PacketOneofCase.RequestDownloadUrl, DownloadUrlAsync)
        .Request(Frame.PacketOneofCase.GetMediaSettings, GetSettingsAsync)
        .Request(Frame.PacketOneofCase.SetMediaSettings, SetSettingsAsync);

    /// <summary>
    /// What a user who never set them gets (WhatsApp's defaults): everything on Wi-Fi, images on cellular, nothing
    /// while roaming.
    /// </summary>
    public static MediaSettings DefaultSettings => new()
    {
        IsDefault = true,
        AutoDownload =
        {
            new AutoDownloadRule { Network = NetworkClass.Wifi, Kinds = { MediaKind.Image, MediaKind.Audio, MediaKind.Video, MediaKind.Document, MediaKind.Sticker } },
            new AutoDownloadRule { Network = NetworkClass.Cellular, Kinds = { MediaKind.Image, MediaKind.Sticker } },
            new AutoDownloadRule { Network = NetworkClass.Roaming },
        },
    };

    private static async Task<Frame?> GetSettingsAsync(Frame frame, IEdgeSession session)
    {
        var reply = await session.AskAsync<Domain.Accounts.IAccountReply>(session.Backend.Accounts, new Domain.Accounts.AccountCommands.GetMediaSettings(session.User));
        var stored = (reply as Domain.Accounts.AccountReplies.MediaSettingsAre)?.Settings ?? throw new RequestException(ErrorCode.NotFound, "no such account");
        return new Frame { MediaSettings = stored.Length == 0 ? DefaultSettings : MediaSettings.Parser.ParseFrom(stored) };
    }

    private static async Task<Frame?> SetSettingsAsync(Frame frame, IEdgeSession session)
    {
        var settings = frame.SetMediaSettings.Settings ?? new MediaSettings();
        var networks = new HashSet<NetworkClass>();
        foreach (var rule in settings.AutoDownload)
        {
            if (rule.Network is NetworkClass.Unspecified || !Enum.IsDefined(rule.Network) || !networks.Add(rule.Network))
                throw new RequestException(ErrorCode.InvalidArgument, "each auto_download rule names a network (WIFI, CELLULAR, ROAMING), once");
            if (rule.Kinds.Any(k => k is MediaKind.Unspecified || !Enum.IsDefined(k)) || rule.Kinds.Count > 16)
                throw new RequestException(ErrorCode.InvalidArgument, "auto_download kinds are known media kinds, at most 16");
        }
        var stored = new MediaSettings { AutoDownload = { settings.AutoDownload } };
        await session.AskAsync<Domain.Accounts.IAccountReply>(session.Backend.Accounts, new Domain.Accounts.AccountCommands.SetMediaSettings(session.User, stored.ToByteArray()));
        return new Frame { MediaSettings = stored };
    }

    private static Task<Frame?> UploadUrlAsync(Frame frame, IEdgeSession session) => Timed(session, "upload_url", async media =>
    {
        var r = frame.RequestUploadUrl;
        if (r.Kind is MediaKind.Unspecified || !Enum.IsDefined(r.Kind))
            throw new RequestException(ErrorCode.InvalidArgument, "kind is required (IMAGE, VIDEO, AUDIO, DOCUMENT, ...)");
        if (r.Sha256.Length != 32)
            throw new RequestException(ErrorCode.InvalidArgument, "sha256 is the 32-byte SHA-256 of the bytes to upload");
        if (r.MimeType.Length > MaxMimeTypeLength)
            throw new RequestException(ErrorCode.InvalidArgument, $"mime_type has at most {MaxMimeTypeLength} characters");
        var outcome = Checked(await media.ReserveAsync(session.User.Value, (MediaClass)r.Kind, (long)Math.Min(r.Size, long.MaxValue), r.Sha256.ToByteArray(),
            r.MimeType, CancellationToken.None));
        var url = new UploadUrl
        {
            MediaId = outcome.Record!.MediaId, Url = outcome.Request!.Url.AbsoluteUri, Method = outcome.Request.Method,
            ExpiresAt = (ulong)outcome.Request.ExpiresAt.ToUnixTimeMilliseconds(),
        };
        url.Headers.AddRange(outcome.Request.Headers.Select(h => new HttpHeader { Name = h.Key, Value = h.Value }));
        return new Frame { UploadUrl = url };
    });

    private static Task<Frame?> CompleteAsync(Frame frame, IEdgeSession session) => Timed(session, "complete", async media =>
    {
        var record = Checked(await media.CompleteAsync(session.User.Value, frame.UploadComplete.MediaId, CancellationToken.None)).Record!;
        session.Settings.Metrics.Media.Completed(record.Size);
        return new Frame
        {
            MediaInfo = new MediaInfo
            {
                MediaId = record.MediaId, Size = (ulong)record.Size, Sha256 = ByteString.CopyFrom(record.Sha256), Kind = (MediaKind)record.Kind,
                RetainedUntil = (ulong)(record.RetainedUntil?.ToUnixTimeMilliseconds() ?? 0),
            },
        };
    });

    private static Task<Frame?> DownloadUrlAsync(Frame frame, IEdgeSession session) => Timed(session, "download_url", async media =>
    {
        var outcome = Checked(await media.DownloadAsync(frame.RequestDownloadUrl.MediaId, record => VisibleAsync(session, frame.RequestDownloadUrl, record), CancellationToken.None));
        var url = new DownloadUrl
        {
            MediaId = outcome.Record!.MediaId, Url = outcome.Request!.Url.AbsoluteUri, ExpiresAt = (ulong)outcome.Request.ExpiresAt.ToUnixTimeMilliseconds(),
            Size = (ulong)outcome.Record.Size, Sha256 = ByteString.CopyFrom(outcome.Record.Sha256),
        };
        url.Headers.AddRange(outcome.Request.Headers.Select(h => new HttpHeader { Name = h.Key, Value = h.Value }));
        return new Frame { DownloadUrl = url };
    });

    /// <summary>
    /// A profile photo is served to whoever may see its owner's current photo (§10: the owner's privacy settings, blocks);
    /// a group icon to the members of the group the request names, while that group shows it. Neither is end-to-end encrypted, so the media id is not enough.
    /// </summary>
    private static async Task<bool> VisibleAsync(IEdgeSession session, RequestDownloadUrl request, MediaRecord record)
    {
        if (record.Owner == session.User.Value)
            return true;
        // A history archive is for the uploader's own new device (§17): the devices of that account, no one else.
        if (record.Kind == MediaClass.HistorySync)
            return false;
        if (record.Kind == MediaClass.GroupIcon)
        {
            // The asker names the group that shows the icon; the group answers only its members (NOT_A_MEMBER otherwise).
            if (!Domain.Groups.GroupIds.IsWellFormed(request.GroupId))
                return false;
            var info = await session.AskAsync<Domain.Groups.IGroupReply>(session.Backend.Groups,
                new Domain.Groups.GroupCommands.GetInfo(new Domain.GroupId(request.GroupId), session.User));
            return info is Domain.Groups.GroupReplies.Info { Group.IconMediaId: var icon } && icon == record.MediaId;
        }
        var view = await session.AskAsync<Domain.Accounts.IAccountReply>(session.Backend.Accounts,
            new Domain.Accounts.AccountCommands.View(new Domain.UserId(record.Owner), session.User));
        return view is Domain.Accounts.AccountReplies.Viewed { Profile.PhotoMediaId: var shown } && shown == record.MediaId;
    }

    private static MediaOutcome Checked(MediaOutcome outcome) => outcome.Error switch
    {
        MediaError.None => outcome,
        MediaError.TooLarge => throw new RequestException(ErrorCode.MediaTooLarge, outcome.Detail),
        MediaError.RateLimited => throw new RequestException(ErrorCode.RateLimited, outcome.Detail, retryAfterMs: 60_000),
        MediaError.NotUploaded => throw new RequestException(ErrorCode.MediaNotUploaded, outcome.Detail),
        _ => throw new RequestException(ErrorCode.NotFound, outcome.Detail),
    };

    /// <summary>Runs one media request, counting its outcome and timing it (the store's presigning or check included).</summary>
    private static async Task<Frame?> Timed(IEdgeSession session, string operation, Func<MediaService, Task<Frame?>> handle)
    {
        var started = Stopwatch.GetTimestamp();
        var outcome = "ok";
        try
        {
            return await handle(session.Backend.Media ?? throw new RequestException(ErrorCode.NotImplemented, "media is not configured on this node"));
        }
        catch (RequestException e)
        {
            outcome = e.Code.ToString();
            throw;
        }
        finally
        {
            session.Settings.Metrics.Media.Answered(operation, outcome, Stopwatch.GetElapsedTime(started));
        }
    }
}
