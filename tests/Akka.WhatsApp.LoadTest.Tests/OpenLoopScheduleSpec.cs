using Akka.WhatsApp.LoadTest.Core;
using Xunit;

namespace Akka.WhatsApp.LoadTest.Tests;

/// <summary>A clock that only moves when told to, or when the schedule sleeps on it.</summary>
internal sealed class FakeClock(long frequency = 1_000_000) : ILoadClock
{
    public long Now { get; set; }

    public long Frequency { get; } = frequency;

    public List<TimeSpan> Delays { get; } = [];

    public Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        Delays.Add(delay);
        Now += (long)(delay.TotalSeconds * Frequency);
        return Task.CompletedTask;
    }
}

public sealed class OpenLoopScheduleSpec
{
    [Fact]
    public void Item_i_is_due_i_over_rate_after_the_start()
    {
        var clock = new FakeClock { Now = 5_000 };
        var schedule = new OpenLoopSchedule(1000, clock);
        Assert.Equal(5_000, schedule.Start);
        Assert.Equal(5_000, schedule.DueOf(0));
        Assert.Equal(5_000 + 1_000, schedule.DueOf(1));
        Assert.Equal(5_000 + 2_500_000, schedule.DueOf(2_500));
        Assert.Equal(2_505, new OpenLoopSchedule(250.5, clock).ItemsIn(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task A_future_item_is_waited_for_and_returns_its_due_time()
    {
        var clock = new FakeClock();
        var schedule = new OpenLoopSchedule(100, clock);
        Assert.Equal(0, await schedule.WaitForAsync(0));
        Assert.Empty(clock.Delays);
        var due = await schedule.WaitForAsync(3);
        Assert.Equal(30_000, due);
        Assert.Equal(TimeSpan.FromMilliseconds(30), Assert.Single(clock.Delays));
        Assert.Equal(30_000, clock.Now);
    }

    [Fact]
    public async Task After_a_stall_overdue_items_go_at_once_and_keep_their_due_times()
    {
        // The generator stalled for a second: the 1,000 items due meanwhile are sent at once, none is skipped,
        // and each keeps its own due time, so their latency includes the stall (no coordinated omission).
        var clock = new FakeClock();
        var schedule = new OpenLoopSchedule(1000, clock);
        clock.Now = 1_000_000;
        var dues = new List<long>();
        for (var i = 0; i < 1000; i++)
            dues.Add(await schedule.WaitForAsync(i));
        Assert.Empty(clock.Delays);
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => i * 1000L), dues);
        Assert.Equal(1000.0, schedule.MillisecondsSince(dues[0], clock.Now));
        Assert.Equal(0.0, schedule.MillisecondsSince(clock.Now + 5, clock.Now));
    }

    [Fact]
    public async Task Waits_under_a_millisecond_are_not_slept()
    {
        var clock = new FakeClock();
        var schedule = new OpenLoopSchedule(10_000, clock);
        Assert.Equal(100, await schedule.WaitForAsync(1));
        Assert.Empty(clock.Delays);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Rejects_a_rate_that_is_not_a_positive_number(double rate) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new OpenLoopSchedule(rate, new FakeClock()));
}
