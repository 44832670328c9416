using Akka.WhatsApp.LoadTest.Core;
using Xunit;

namespace Akka.WhatsApp.LoadTest.Tests;

public sealed class LatencyRecorderSpec
{
    [Fact]
    public void Percentiles_of_a_known_distribution_are_within_the_histogram_precision()
    {
        var recorder = new LatencyRecorder("x");
        for (var ms = 1; ms <= 1000; ms++)
            recorder.RecordMilliseconds(ms);
        var s = recorder.Summarize();
        Assert.Equal(1000, s.Count);
        AssertNear(500, s.P50!.Value);
        AssertNear(900, s.P90!.Value);
        AssertNear(990, s.P99!.Value);
        AssertNear(999, s.P999!.Value);
        AssertNear(1000, s.Max!.Value);
    }

    [Fact]
    public void Merged_recorders_summarize_like_one_that_saw_everything()
    {
        var all = new LatencyRecorder("all");
        var odd = new LatencyRecorder("odd");
        var even = new LatencyRecorder("even");
        for (var us = 1; us <= 20_000; us++)
        {
            all.RecordMicroseconds(us * 7);
            (us % 2 == 0 ? even : odd).RecordMicroseconds(us * 7);
        }
        odd.Merge(even);
        Assert.Equal(all.Summarize() with { Name = "odd" }, odd.Summarize());
        Assert.Equal(10_000, even.Count);
        Assert.Throws<ArgumentException>(() => odd.Merge(odd));
    }

    [Fact]
    public async Task Recording_from_many_threads_loses_nothing()
    {
        var recorder = new LatencyRecorder("x");
        await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 10_000; i++)
                recorder.RecordMicroseconds(100 + i);
        })));
        Assert.Equal(80_000, recorder.Count);
    }

    [Fact]
    public void Nothing_recorded_gives_no_percentiles_and_out_of_range_values_are_clamped()
    {
        Assert.Equal(new LatencySummary("x", 0, null, null, null, null, null), new LatencyRecorder("x").Summarize());
        var recorder = new LatencyRecorder("x");
        recorder.RecordMilliseconds(TimeSpan.FromHours(2).TotalMilliseconds);
        recorder.RecordMicroseconds(-5);
        var s = recorder.Summarize();
        Assert.Equal(2, s.Count);
        AssertNear(TimeSpan.FromMinutes(10).TotalMilliseconds, s.Max!.Value);
    }

    private static void AssertNear(double expected, double actual) =>
        Assert.True(Math.Abs(expected - actual) <= expected * 0.002, $"expected {expected} within 0.2%, got {actual}");
}
