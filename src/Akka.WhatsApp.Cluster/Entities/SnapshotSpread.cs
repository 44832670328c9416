namespace Akka.WhatsApp.Cluster.Entities;

/// <summary>
/// When an entity saves its next snapshot. Under an even load every mailbox grows at the same pace, so with one
/// fixed interval they all crossed it together: a burst of snapshot writes and of journal deletes (621,961 rows in
/// one run at 1,000 msg/s, #19) that tripled p99 while it lasted. Each entity instead waits between half and one and
/// a half intervals, drawn from its persistence id and its last snapshot: the same on every replay, spread evenly
/// across entities, and still one interval on average.
/// </summary>
public static class SnapshotSpread
{
    /// <summary>Events after <paramref name="lastSnapshotSeq"/> at which the entity <paramref name="persistenceId"/> snapshots next.</summary>
    public static long EventsUntilNext(string persistenceId, long lastSnapshotSeq, int every)
    {
        if (every <= 1)
            return every;
        var fraction = Fnv1a(persistenceId, lastSnapshotSeq) / (double)uint.MaxValue; // [0, 1]
        return Math.Max(1, (long)Math.Round(every * (0.5 + fraction)));
    }

    private static uint Fnv1a(string text, long salt)
    {
        var hash = 2166136261u;
        foreach (var c in text)
            hash = (hash ^ c) * 16777619u;
        for (var i = 0; i < 8; i++)
            hash = (hash ^ (byte)(salt >> (8 * i))) * 16777619u;
        // A final avalanche (murmur3's), so that ids differing in their last character spread over the whole range.
        hash ^= hash >> 16;
        hash *= 0x85ebca6bu;
        hash ^= hash >> 13;
        hash *= 0xc2b2ae35u;
        return hash ^ (hash >> 16);
    }
}
