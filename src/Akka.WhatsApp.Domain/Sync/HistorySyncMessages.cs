using System.Collections.Immutable;

namespace Akka.WhatsApp.Domain.Sync;

/// <summary>
/// A history sync's id (PROTOCOL.md §17): 16 random bytes the server makes, as 32 lowercase hex digits. Made by the server,
/// not the client, so that a companion cannot aim its request at a sync of someone else's.
/// </summary>
public readonly record struct SyncId(string Value)
{
    public const int Size = 16;

    public static SyncId New() => Of(System.Security.Cryptography.RandomNumberGenerator.GetBytes(Size));

    public static SyncId Of(ReadOnlySpan<byte> bytes) => new(Convert.ToHexString(bytes).ToLowerInvariant());

    /// <summary>The wire bytes as an id; false unless they are exactly <see cref="Size"/> bytes.</summary>
    public static bool TryFrom(ReadOnlySpan<byte> bytes, out SyncId id)
    {
        id = bytes.Length == Size ? Of(bytes) : default;
        return bytes.Length == Size;
    }

    public byte[] ToBytes() => Convert.FromHexString(Value);

    public override string ToString() => Value;
}

/// <summary>One uploaded chunk: opaque to the server (end-to-end encrypted for the companion), plus the archives it names.</summary>
public sealed record SyncChunk(uint Index, bool Last, byte[] Ciphertext, ImmutableArray<string> MediaIds)
{
    /// <summary>What the chunk counts against <see cref="HistorySyncState.MaxBytesPerSync"/>.</summary>
    public long Bytes => Ciphertext.Length + MediaIds.Sum(m => (long)m.Length);

    public bool SameAs(SyncChunk other) =>
        Index == other.Index && Last == other.Last && Ciphertext.AsSpan().SequenceEqual(other.Ciphertext) && MediaIds.SequenceEqual(other.MediaIds);
}

/// <summary>One companion's sync: who asked, what for, until when it is kept, and the chunks the primary uploaded so far.</summary>
public sealed record SyncRecord(
    SyncId Id,
    DeviceId Companion,
    uint MaxDays,
    uint MaxMessages,
    DateTimeOffset StartedAt,
    DateTimeOffset ExpiresAt,
    ImmutableSortedDictionary<uint, SyncChunk> Chunks)
{
    /// <summary>The index of the chunk marked last, if it was uploaded.</summary>
    public uint? LastIndex => Chunks.Values.FirstOrDefault(c => c.Last)?.Index;

    /// <summary>How many chunks can be fetched in a row from index 0 (HistorySyncProgress.available_chunks).</summary>
    public uint Available
    {
        get
        {
            uint n = 0;
            while (Chunks.ContainsKey(n))
                n++;
            return n;
        }
    }

    /// <summary>Every chunk up to and including the last is there.</summary>
    public bool Complete => LastIndex is { } last && Available > last;

    public long Bytes => Chunks.Values.Sum(c => c.Bytes);
}

public interface IHistorySyncCommand
{
    /// <summary>The account whose syncs are addressed: the entity id. Always the asking device's own user (the edge sets it).</summary>
    UserId User { get; }
}

public interface IHistorySyncEvent;

public interface IHistorySyncReply;

/// <summary>Told to the sessions of a user (its inbox topic); not persisted.</summary>
public interface IHistorySyncNotice;

public enum HistorySyncError
{
    InvalidArgument = 1,
    NotFound = 2,
    /// <summary>A device of the account that may not do this (the primary asking for history, another companion fetching).</summary>
    Forbidden = 3,
    /// <summary>A companion uploading: only the primary holds the history.</summary>
    NotPrimary = 4,
}

public static class HistorySyncCommands
{
    /// <summary>
    /// A companion asks for history. <paramref name="Current"/> is the account's device list now (the edge reads it): syncs
    /// of devices no longer in it are dropped, so a removed device can fetch nothing. <paramref name="NewId"/> is the id a new
    /// sync gets (random, filled in by the entity: the pure state makes no random values).
    /// </summary>
    public sealed record Request(UserId User, DeviceId Device, uint MaxDays, uint MaxMessages, ImmutableArray<uint> Current, SyncId NewId = default)
        : IHistorySyncCommand;

    /// <summary>The primary uploads (or uploads again) one chunk of a sync of its account.</summary>
    public sealed record Upload(UserId User, DeviceId Device, SyncId Sync, SyncChunk Chunk, ImmutableArray<uint> Current) : IHistorySyncCommand;

    /// <summary>The requesting companion fetches one chunk.</summary>
    public sealed record Fetch(UserId User, DeviceId Device, SyncId Sync, uint Index, ImmutableArray<uint> Current) : IHistorySyncCommand;

    /// <summary>The entity's retention timer: forget the syncs whose time is up.</summary>
    public sealed record Expire(UserId User) : IHistorySyncCommand;
}

public static class HistorySyncEvents
{
    /// <summary>A sync began; it replaces an earlier (complete) sync of the same companion.</summary>
    public sealed record Started(SyncId Sync, DeviceId Companion, uint MaxDays, uint MaxMessages, DateTimeOffset At, DateTimeOffset ExpiresAt)
        : IHistorySyncEvent;

    /// <summary>A chunk was stored (a re-upload of its index replaces it).</summary>
    public sealed record ChunkStored(SyncId Sync, SyncChunk Chunk) : IHistorySyncEvent;

    /// <summary>Syncs forgotten: their 7 days passed, or their companion left the account.</summary>
    public sealed record Removed(ImmutableArray<SyncId> Syncs) : IHistorySyncEvent;
}

public static class HistorySyncReplies
{
    /// <param name="New">A new sync (the primary must be told); false: the companion's sync still under way, answered again.</param>
    public sealed record Started(SyncId Sync, bool New, uint MaxDays, uint MaxMessages) : IHistorySyncReply;

    /// <summary>An upload was kept: what the companion is told (HistorySyncProgress).</summary>
    public sealed record Stored(SyncId Sync, DeviceId Companion, uint Available, bool Complete) : IHistorySyncReply;

    public sealed record Chunk(SyncId Sync, SyncChunk Value) : IHistorySyncReply;

    public sealed record Expired(int Count) : IHistorySyncReply;

    public sealed record Refused(HistorySyncError Error, string Reason) : IHistorySyncReply;
}

public static class HistorySyncNotices
{
    /// <summary>Chunks of <paramref name="Sync"/> arrived: pushed to the companion's session as HistorySyncProgress.</summary>
    public sealed record Progress(UserId User, DeviceId Device, SyncId Sync, uint Available, bool Complete) : IHistorySyncNotice;
}

/// <summary>
/// The SYSTEM event history_sync_requested (PROTOCOL.md §17) as the primary's mailbox keeps it: a companion asked for
/// history. Stored for device 1 only (the mailbox's per-device entry), since only the primary can answer it.
/// </summary>
public sealed record HistorySyncRequest(SyncId Sync, DeviceId Companion, uint MaxDays, uint MaxMessages)
{
    /// <summary>The mailbox message id: one per sync, so telling the primary again (a retried request) stores it once.</summary>
    public MessageId MessageId => MessageId.Derived("history-sync\0" + Sync.Value);
}
