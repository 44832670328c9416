using Akka.WhatsApp.Cluster.Entities;
using Xunit;

namespace Akka.WhatsApp.Cluster.Tests;

public sealed class SnapshotSpreadSpec
{
    [Fact]
    public void Entities_snapshot_between_half_and_one_and_a_half_intervals_spread_evenly_and_one_interval_on_average()
    {
        var waits = Enumerable.Range(0, 10_000).Select(i => SnapshotSpread.EventsUntilNext($"mailbox-user{i}", 0, 1000)).ToList();
        Assert.All(waits, w => Assert.InRange(w, 500, 1500));
        Assert.InRange(waits.Average(), 980, 1020);
        // No tenth of the range holds much more than its share: the entities no longer snapshot together.
        var tenths = waits.GroupBy(w => Math.Min(9, (w - 500) / 100)).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(10, tenths.Count);
        Assert.All(tenths.Values, count => Assert.InRange(count, 800, 1200));
    }

    [Fact]
    public void The_wait_is_the_same_on_every_replay_and_changes_from_one_snapshot_to_the_next()
    {
        Assert.Equal(SnapshotSpread.EventsUntilNext("mailbox-ann", 1234, 1000), SnapshotSpread.EventsUntilNext("mailbox-ann", 1234, 1000));
        var successive = Enumerable.Range(0, 20).Select(n => SnapshotSpread.EventsUntilNext("mailbox-ann", n * 1000L, 1000)).Distinct().Count();
        Assert.True(successive > 10, $"only {successive} different waits over 20 snapshots");
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 1)]
    public void Tiny_intervals_are_kept_as_they_are(int every, long expected) =>
        Assert.Equal(expected, SnapshotSpread.EventsUntilNext("x", 5, every));
}
