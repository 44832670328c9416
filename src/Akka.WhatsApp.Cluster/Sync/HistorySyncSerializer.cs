using Akka.WhatsApp.Domain.Sync;
using Google.Protobuf;
using static Akka.WhatsApp.Cluster.Serialization.StorageMapping;
using Proto = Akka.WhatsApp.Cluster.Storage.Sync;

namespace Akka.WhatsApp.Cluster.Sync;

/// <summary>Protobuf serializer for history sync: persisted events and snapshot (manifests forever), commands, replies, progress notices.</summary>
public sealed class HistorySyncSerializer : ProtobufSerializer
{
    public const int Id = 118;

    public override int Identifier => Id;

    public HistorySyncSerializer(ExtendedActorSystem system) : base(system)
    {
        // persisted
        Map<HistorySyncEvents.Started, Proto.Started>("HS",
            e => new Proto.Started
            {
                SyncId = SyncBytes(e.Sync), Companion = e.Companion.Value, MaxDays = e.MaxDays, MaxMessages = e.MaxMessages, AtMs = Ms(e.At),
                ExpiresAtMs = Ms(e.ExpiresAt),
            },
            p => new HistorySyncEvents.Started(SyncOf(p.SyncId), new DeviceId(p.Companion), p.MaxDays, p.MaxMessages, At(p.AtMs), At(p.ExpiresAtMs)));
        Map<HistorySyncEvents.ChunkStored, Proto.ChunkStored>("HC",
            e => new Proto.ChunkStored { SyncId = SyncBytes(e.Sync), Chunk = ToProto(e.Chunk) },
            p => new HistorySyncEvents.ChunkStored(SyncOf(p.SyncId), FromProto(p.Chunk)));
        Map<HistorySyncEvents.Removed, Proto.Removed>("HR",
            e => new Proto.Removed { SyncIds = { e.Syncs.Select(SyncBytes) } },
            p => new HistorySyncEvents.Removed([.. p.SyncIds.Select(SyncOf)]));
        Map<HistorySyncState, Proto.SyncSnapshot>("HZ",
            s => new Proto.SyncSnapshot { Syncs = { s.Syncs.Values.Select(ToProto) } },
            p => HistorySyncState.Empty with { Syncs = p.Syncs.Select(FromProto).ToImmutableSortedDictionary(s => s.Id.Value, s => s) });

        // commands
        Map<HistorySyncCommands.Request, Proto.Request>("R",
            c => new Proto.Request
            {
                User = c.User.Value, DeviceId = c.Device.Value, MaxDays = c.MaxDays, MaxMessages = c.MaxMessages, Current = { Current(c.Current) },
                NewId = c.NewId == default ? ByteString.Empty : SyncBytes(c.NewId),
            },
            p => new HistorySyncCommands.Request(new UserId(p.User), new DeviceId(p.DeviceId), p.MaxDays, p.MaxMessages, [.. p.Current],
                p.NewId.IsEmpty ? default : SyncOf(p.NewId)));
        Map<HistorySyncCommands.Upload, Proto.Upload>("U",
            c => new Proto.Upload { User = c.User.Value, DeviceId = c.Device.Value, SyncId = SyncBytes(c.Sync), Chunk = ToProto(c.Chunk), Current = { Current(c.Current) } },
            p => new HistorySyncCommands.Upload(new UserId(p.User), new DeviceId(p.DeviceId), SyncOf(p.SyncId), FromProto(p.Chunk), [.. p.Current]));
        Map<HistorySyncCommands.Fetch, Proto.Fetch>("F",
            c => new Proto.Fetch { User = c.User.Value, DeviceId = c.Device.Value, SyncId = SyncBytes(c.Sync), Index = c.Index, Current = { Current(c.Current) } },
            p => new HistorySyncCommands.Fetch(new UserId(p.User), new DeviceId(p.DeviceId), SyncOf(p.SyncId), p.Index, [.. p.Current]));
        Map<HistorySyncCommands.Expire, Proto.Expire>("E", c => new Proto.Expire { User = c.User.Value }, p => new HistorySyncCommands.Expire(new UserId(p.User)));

        // replies and notices
        Map<HistorySyncReplies.Started, Proto.StartedReply>("RS",
            r => new Proto.StartedReply { SyncId = SyncBytes(r.Sync), New = r.New, MaxDays = r.MaxDays, MaxMessages = r.MaxMessages },
            p => new HistorySyncReplies.Started(SyncOf(p.SyncId), p.New, p.MaxDays, p.MaxMessages));
        Map<HistorySyncReplies.Stored, Proto.StoredReply>("RT",
            r => new Proto.StoredReply { SyncId = SyncBytes(r.Sync), Companion = r.Companion.Value, Available = r.Available, Complete = r.Complete },
            p => new HistorySyncReplies.Stored(SyncOf(p.SyncId), new DeviceId(p.Companion), p.Available, p.Complete));
        Map<HistorySyncReplies.Chunk, Proto.ChunkReply>("RC",
            r => new Proto.ChunkReply { SyncId = SyncBytes(r.Sync), Chunk = ToProto(r.Value) },
            p => new HistorySyncReplies.Chunk(SyncOf(p.SyncId), FromProto(p.Chunk)));
        Map<HistorySyncReplies.Expired, Proto.ExpiredReply>("RE", r => new Proto.ExpiredReply { Count = r.Count }, p => new HistorySyncReplies.Expired(p.Count));
        Map<HistorySyncReplies.Refused, Proto.Refused>("RR",
            r => new Proto.Refused { Error = (int)r.Error, Reason = r.Reason }, p => new HistorySyncReplies.Refused((HistorySyncError)p.Error, p.Reason));
        Map<HistorySyncNotices.Progress, Proto.Progress>("NP",
            n => new Proto.Progress { User = n.User.Value, DeviceId = n.Device.Value, SyncId = SyncBytes(n.Sync), Available = n.Available, Complete = n.Complete },
            p => new HistorySyncNotices.Progress(new UserId(p.User), new DeviceId(p.DeviceId), SyncOf(p.SyncId), p.Available, p.Complete));
    }

    private static IEnumerable<uint> Current(ImmutableArray<uint> current) => current.IsDefault ? [] : current;

    private static ByteString SyncBytes(SyncId id) => ByteString.CopyFrom(id.ToBytes());

    private static SyncId SyncOf(ByteString bytes) =>
        SyncId.TryFrom(bytes.Span, out var id)
            ? id
            : throw new System.Runtime.Serialization.SerializationException($"a stored sync id has {bytes.Length} bytes, expected {SyncId.Size}");

    private static Proto.Chunk ToProto(SyncChunk c) =>
        new() { Index = c.Index, Last = c.Last, Ciphertext = Bytes(c.Ciphertext), MediaIds = { c.MediaIds } };

    private static SyncChunk FromProto(Proto.Chunk p) => new(p.Index, p.Last, p.Ciphertext.ToByteArray(), [.. p.MediaIds]);

    private static Proto.Sync ToProto(SyncRecord s) => new()
    {
        SyncId = SyncBytes(s.Id), Companion = s.Companion.Value, MaxDays = s.MaxDays, MaxMessages = s.MaxMessages, StartedAtMs = Ms(s.StartedAt),
        ExpiresAtMs = Ms(s.ExpiresAt), Chunks = { s.Chunks.Values.Select(ToProto) },
    };

    private static SyncRecord FromProto(Proto.Sync p) =>
        new(SyncOf(p.SyncId), new DeviceId(p.Companion), p.MaxDays, p.MaxMessages, At(p.StartedAtMs), At(p.ExpiresAtMs),
            p.Chunks.Select(FromProto).ToImmutableSortedDictionary(c => c.Index, c => c));
}
