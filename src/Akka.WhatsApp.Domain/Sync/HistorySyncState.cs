using System.Collections.Immutable;
using static Akka.WhatsApp.Domain.Sync.HistorySyncCommands;
using static Akka.WhatsApp.Domain.Sync.HistorySyncEvents;
using static Akka.WhatsApp.Domain.Sync.HistorySyncReplies;

namespace Akka.WhatsApp.Domain.Sync;

/// <summary>
/// The history syncs of one account (PROTOCOL.md §17), pure: at most one per companion, each kept 7 days after it began.
/// The server only keeps and hands out what the primary uploaded (end-to-end encrypted for the companion, so it can read
/// none of it); these rules decide who may do what with it: only a companion asks, only the primary (device 1, the one that
/// registered) uploads, only the asking companion fetches, and nothing survives its companion leaving the account.
/// Bounded: 64 chunks of 128 KiB and 2 MiB in all per sync; more goes as media (the chunk then names its media ids).
/// </summary>
public sealed record HistorySyncState(ImmutableSortedDictionary<string, SyncRecord> Syncs)
    : IAggregate<HistorySyncState, IHistorySyncCommand, IHistorySyncEvent, IHistorySyncReply>
{
    public static readonly HistorySyncState Empty = new(ImmutableSortedDictionary<string, SyncRecord>.Empty);

    /// <summary>How long a sync and its chunks are kept after the request (the companion has that long to fetch them).</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromDays(7);

    public const int MaxChunks = 64;

    /// <summary>An inline chunk's ciphertext: a frame holds it with room to spare (frames are at most 256 KiB).</summary>
    public const int MaxChunkBytes = 128 * 1024;

    public const long MaxBytesPerSync = 2L * 1024 * 1024;

    public const int MaxMediaIdsPerChunk = 16;

    /// <summary>The days and messages a companion may ask for (0 = the primary decides); larger values are clamped, not refused.</summary>
    public const uint MaxDaysAsked = 3650;

    public const uint MaxMessagesAsked = 1_000_000;

    /// <summary>When the next sync's time is up (the entity's retention timer), null when there is none.</summary>
    public DateTimeOffset? NextExpiry => Syncs.IsEmpty ? null : Syncs.Values.Min(s => s.ExpiresAt);

    public (IHistorySyncReply Reply, IReadOnlyList<IHistorySyncEvent> Events) Decide(IHistorySyncCommand command, DateTimeOffset now) => command switch
    {
        Request r => DecideRequest(r, now),
        Upload u => DecideUpload(u, now),
        Fetch f => DecideFetch(f, now),
        Expire => Due(now) is { IsEmpty: false } due ? (new Expired(due.Length), [new Removed(due)]) : (new Expired(0), []),
        _ => (new Refused(HistorySyncError.InvalidArgument, $"unknown command {command.GetType().Name}"), []),
    };

    private (IHistorySyncReply, IReadOnlyList<IHistorySyncEvent>) DecideRequest(Request r, DateTimeOffset now)
    {
        if (r.Device == DeviceId.Primary)
            return (new Refused(HistorySyncError.Forbidden, "the primary device is where history comes from: only a companion asks for it"), []);
        var gone = Gone(r.Current, now);
        if (!r.Current.IsDefault && !r.Current.Contains(r.Device.Value))
            return (new Refused(HistorySyncError.Forbidden, "this device is not on the account"), Removing(gone));
        // One sync per companion: while its sync is under way, asking again answers the same sync (a companion that lost the
        // answer, or restarted, retries); once complete, a new request starts over and replaces it.
        var current = Live(now).FirstOrDefault(s => s.Companion == r.Device && !gone.Contains(s.Id));
        if (current is { Complete: false })
            return (new HistorySyncReplies.Started(current.Id, false, current.MaxDays, current.MaxMessages), Removing(gone));
        if (r.NewId == default || Syncs.ContainsKey(r.NewId.Value))
            return (new Refused(HistorySyncError.InvalidArgument, "a new sync needs a fresh id"), Removing(gone));
        var (days, messages) = (Math.Min(r.MaxDays, MaxDaysAsked), Math.Min(r.MaxMessages, MaxMessagesAsked));
        return (new HistorySyncReplies.Started(r.NewId, true, days, messages),
            [.. Removing(gone), new HistorySyncEvents.Started(r.NewId, r.Device, days, messages, now, now + Retention)]);
    }

    private (IHistorySyncReply, IReadOnlyList<IHistorySyncEvent>) DecideUpload(Upload u, DateTimeOffset now)
    {
        var gone = Gone(u.Current, now);
        // Another account's sync is not found here at all (this is the uploader's own account): it learns nothing of it.
        if (Find(u.Sync, now) is not { } sync || gone.Contains(u.Sync))
            return (new Refused(HistorySyncError.NotFound, "no history sync with this id on your account (or it expired)"), Removing(gone));
        if (u.Device != DeviceId.Primary)
            return (new Refused(HistorySyncError.NotPrimary, "only the primary device uploads history"), Removing(gone));
        var chunk = u.Chunk;
        if (chunk.Index >= MaxChunks)
            return (new Refused(HistorySyncError.InvalidArgument, $"a sync has at most {MaxChunks} chunks (index 0 to {MaxChunks - 1})"), Removing(gone));
        if (chunk.Ciphertext.Length == 0 && chunk.MediaIds.IsEmpty)
            return (new Refused(HistorySyncError.InvalidArgument, "a chunk carries a ciphertext or media ids"), Removing(gone));
        if (chunk.Ciphertext.Length > MaxChunkBytes)
            return (new Refused(HistorySyncError.InvalidArgument, $"a chunk's ciphertext has at most {MaxChunkBytes} bytes: upload larger archives as media"), Removing(gone));
        if (chunk.MediaIds.Length > MaxMediaIdsPerChunk)
            return (new Refused(HistorySyncError.InvalidArgument, $"a chunk names at most {MaxMediaIdsPerChunk} media ids"), Removing(gone));
        var others = sync.Chunks.Remove(chunk.Index);
        if (!chunk.Last && others.Values.FirstOrDefault(c => c.Last) is { } last && chunk.Index > last.Index)
            return (new Refused(HistorySyncError.InvalidArgument, $"chunk {last.Index} was the last one"), Removing(gone));
        if (chunk.Last && others.Values.Any(c => c.Last || c.Index > chunk.Index))
            return (new Refused(HistorySyncError.InvalidArgument, "another chunk is marked last, or follows this one"), Removing(gone));
        if (others.Values.Sum(c => c.Bytes) + chunk.Bytes > MaxBytesPerSync)
            return (new Refused(HistorySyncError.InvalidArgument, $"a sync holds at most {MaxBytesPerSync} bytes inline: upload larger archives as media"), Removing(gone));
        if (sync.Chunks.TryGetValue(chunk.Index, out var had) && had.SameAs(chunk))
            return (Progress(sync), Removing(gone)); // a retry of what is stored: nothing new
        return (Progress(sync with { Chunks = sync.Chunks.SetItem(chunk.Index, chunk) }), [.. Removing(gone), new ChunkStored(u.Sync, chunk)]);
    }

    private (IHistorySyncReply, IReadOnlyList<IHistorySyncEvent>) DecideFetch(Fetch f, DateTimeOffset now)
    {
        var gone = Gone(f.Current, now);
        if (Find(f.Sync, now) is not { } sync || gone.Contains(f.Sync))
            return (new Refused(HistorySyncError.NotFound, "no history sync with this id on your account (or it expired)"), Removing(gone));
        if (sync.Companion != f.Device)
            return (new Refused(HistorySyncError.Forbidden, "this history sync is for another device of the account"), Removing(gone));
        return sync.Chunks.TryGetValue(f.Index, out var chunk)
            ? (new Chunk(sync.Id, chunk), Removing(gone))
            : (new Refused(HistorySyncError.NotFound, $"chunk {f.Index} is not uploaded (yet)"), Removing(gone));
    }

    private static Stored Progress(SyncRecord sync) => new(sync.Id, sync.Companion, sync.Available, sync.Complete);

    private SyncRecord? Find(SyncId id, DateTimeOffset now) => Syncs.TryGetValue(id.Value, out var s) && s.ExpiresAt > now ? s : null;

    private IEnumerable<SyncRecord> Live(DateTimeOffset now) => Syncs.Values.Where(s => s.ExpiresAt > now);

    /// <summary>Syncs whose time is up.</summary>
    private ImmutableArray<SyncId> Due(DateTimeOffset now) => [.. Syncs.Values.Where(s => s.ExpiresAt <= now).Select(s => s.Id)];

    /// <summary>Syncs to drop now: expired, or of a companion the account no longer has (ids are never reused, so it is for good).</summary>
    private ImmutableArray<SyncId> Gone(ImmutableArray<uint> current, DateTimeOffset now) =>
        [.. Syncs.Values.Where(s => s.ExpiresAt <= now || !current.IsDefault && !current.Contains(s.Companion.Value)).Select(s => s.Id)];

    private static IReadOnlyList<IHistorySyncEvent> Removing(ImmutableArray<SyncId> gone) => gone.IsEmpty ? [] : [new Removed(gone)];

    public HistorySyncState Apply(IHistorySyncEvent @event) => @event switch
    {
        HistorySyncEvents.Started s => this with
        {
            Syncs = Syncs.RemoveRange(Syncs.Values.Where(x => x.Companion == s.Companion).Select(x => x.Id.Value))
                .SetItem(s.Sync.Value, new SyncRecord(s.Sync, s.Companion, s.MaxDays, s.MaxMessages, s.At, s.ExpiresAt, ImmutableSortedDictionary<uint, SyncChunk>.Empty)),
        },
        ChunkStored c when Syncs.TryGetValue(c.Sync.Value, out var sync) => this with
        {
            Syncs = Syncs.SetItem(c.Sync.Value, sync with { Chunks = sync.Chunks.SetItem(c.Chunk.Index, c.Chunk) }),
        },
        Removed r => this with { Syncs = Syncs.RemoveRange(r.Syncs.Select(s => s.Value)) },
        _ => this,
    };
}
