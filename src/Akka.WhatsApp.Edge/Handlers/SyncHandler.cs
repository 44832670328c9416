using Akka.Cluster.Tools.PublishSubscribe;
using Akka.WhatsApp.Domain.Mailbox;
using Akka.WhatsApp.Domain.Presence;
using Akka.WhatsApp.Domain.Sync;
using Google.Protobuf;
using DeviceCiphertext = Akka.WhatsApp.Domain.Mailbox.DeviceCiphertext;

namespace Akka.WhatsApp.Edge.Handlers;

/// <summary>
/// History sync for a newly linked companion (PROTOCOL.md §17). The server relays and keeps ciphertext only: the wire is
/// checked here (ids, media ids), the account's current device list is read so that a removed device has no sync left,
/// and the account's history sync entity decides who may do what. A request is announced to the primary as a SYSTEM
/// message of its mailbox (device 1 only), stored before the companion is answered; uploads are pushed to the companion
/// as HistorySyncProgress over the user's inbox topic.
/// </summary>
public sealed class SyncHandler : IPacketHandler
{
    public void Register(PacketTable table) => table
        .Request(Frame.PacketOneofCase.RequestHistorySync, RequestAsync)
        .Request(Frame.PacketOneofCase.UploadHistorySyncChunk, UploadAsync)
        .Request(Frame.PacketOneofCase.GetHistorySyncChunk, FetchAsync);

    private static async Task<Frame?> RequestAsync(Frame frame, IEdgeSession session)
    {
        var syncs = Syncs(session);
        var r = frame.RequestHistorySync;
        var current = await OwnDevicesAsync(session);
        var started = Expect<HistorySyncReplies.Started>(await session.AskAsync<IHistorySyncReply>(syncs,
            new HistorySyncCommands.Request(session.User, session.Device, r.MaxDays, r.MaxMessages, current)));
        // Told again when the companion asks again for a sync still under way (the node may have died before it was stored):
        // the message id follows from the sync, so the primary's mailbox keeps it once.
        var request = new HistorySyncRequest(started.Sync, session.Device, started.MaxDays, started.MaxMessages);
        var meta = new MessageMeta(ContentKinds.System, Silent: true, HistorySync: request);
        var primaryOnly = ImmutableSortedDictionary<uint, DeviceCiphertext>.Empty.Add(DeviceId.Primary.Value, new DeviceCiphertext([], 0));
        if (await session.AskAsync<IMailboxReply>(session.Backend.Mailboxes,
                new MailboxCommands.Enqueue(session.User, request.MessageId, session.User, new DeviceId(0), meta, primaryOnly)) is not MailboxReplies.Enqueued)
            throw new RequestException(ErrorCode.Internal, "the primary could not be told");
        return new Frame { HistorySyncStarted = new HistorySyncStarted { SyncId = ByteString.CopyFrom(started.Sync.ToBytes()) } };
    }

    private static async Task<Frame?> UploadAsync(Frame frame, IEdgeSession session)
    {
        var syncs = Syncs(session);
        var u = frame.UploadHistorySyncChunk;
        var sync = SyncOf(u.SyncId);
        if (u.MediaIds.Any(id => !Domain.Media.MediaIds.IsValid(id)))
            throw new RequestException(ErrorCode.InvalidArgument, "media_ids are media ids (32 lowercase hex digits)");
        // An archive named here must be the uploader's own completed HISTORY_SYNC upload: the companion, downloading it as a
        // device of the same account, is then sure to be allowed (§12), and no one else's media can be pointed at.
        if (session.Backend.Media is { } media)
            foreach (var id in u.MediaIds.Distinct())
                if (!await media.IsOwnAsync(session.User.Value, id, Domain.Media.MediaClass.HistorySync, CancellationToken.None))
                    throw new RequestException(ErrorCode.InvalidArgument, $"media {id} is not your completed HISTORY_SYNC upload");
        var current = await OwnDevicesAsync(session);
        var chunk = new SyncChunk(u.Index, u.Last, u.Ciphertext.ToByteArray(), [.. u.MediaIds]);
        var stored = Expect<HistorySyncReplies.Stored>(await session.AskAsync<IHistorySyncReply>(syncs,
            new HistorySyncCommands.Upload(session.User, session.Device, sync, chunk, current)));
        // Best effort, like every push: a companion that was not connected fetches from the first index it lacks.
        session.Backend.PresenceBus.Tell(new Publish(PresenceTopics.Inbox(session.User),
            new HistorySyncNotices.Progress(session.User, stored.Companion, stored.Sync, stored.Available, stored.Complete)));
        return new Frame { Ok = new Ok() };
    }

    private static async Task<Frame?> FetchAsync(Frame frame, IEdgeSession session)
    {
        var syncs = Syncs(session);
        var g = frame.GetHistorySyncChunk;
        var sync = SyncOf(g.SyncId);
        var current = await OwnDevicesAsync(session);
        var chunk = Expect<HistorySyncReplies.Chunk>(await session.AskAsync<IHistorySyncReply>(syncs,
            new HistorySyncCommands.Fetch(session.User, session.Device, sync, g.Index, current))).Value;
        var reply = new HistorySyncChunk { SyncId = g.SyncId, Index = chunk.Index, Last = chunk.Last, Ciphertext = ByteString.CopyFrom(chunk.Ciphertext) };
        reply.MediaIds.AddRange(chunk.MediaIds);
        return new Frame { HistorySyncChunk = reply };
    }

    /// <summary>The push of an upload as the companion's session sends it.</summary>
    public static Frame Progress(HistorySyncNotices.Progress p) => new()
    {
        HistorySyncProgress = new HistorySyncProgress { SyncId = ByteString.CopyFrom(p.Sync.ToBytes()), AvailableChunks = p.Available, Complete = p.Complete },
    };

    private static IActorRef Syncs(IEdgeSession session) =>
        session.Backend.HistorySync ?? throw new RequestException(ErrorCode.NotImplemented, "history sync is not configured on this node");

    private static SyncId SyncOf(ByteString bytes) =>
        SyncId.TryFrom(bytes.Span, out var id) ? id : throw new RequestException(ErrorCode.InvalidArgument, $"sync_id has {SyncId.Size} bytes");

    /// <summary>The account's devices now: the entity drops the syncs of devices no longer among them.</summary>
    private static async Task<ImmutableArray<uint>> OwnDevicesAsync(IEdgeSession session) =>
        await session.AskAsync<IAccountReply>(session.Backend.Accounts, new AccountCommands.GetDeliveryInfo(session.User, session.User)) is AccountReplies.DeliveryInfo info
            ? [.. info.Devices]
            : throw new RequestException(ErrorCode.Internal, "the account did not answer with its devices");

    private static T Expect<T>(IHistorySyncReply reply) where T : class, IHistorySyncReply => reply switch
    {
        T wanted => wanted,
        HistorySyncReplies.Refused { Error: HistorySyncError.InvalidArgument } r => throw new RequestException(ErrorCode.InvalidArgument, r.Reason),
        HistorySyncReplies.Refused { Error: HistorySyncError.NotFound } r => throw new RequestException(ErrorCode.NotFound, r.Reason),
        HistorySyncReplies.Refused { Error: HistorySyncError.Forbidden } r => throw new RequestException(ErrorCode.Forbidden, r.Reason),
        HistorySyncReplies.Refused { Error: HistorySyncError.NotPrimary } r => throw new RequestException(ErrorCode.NotPrimary, r.Reason),
        _ => throw new RequestException(ErrorCode.Internal, "unexpected answer from the backend"),
    };
}
