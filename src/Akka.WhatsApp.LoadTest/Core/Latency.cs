using System.Diagnostics;
using HdrHistogram;

namespace Akka.WhatsApp.LoadTest.Core;

/// <summary>
/// A thread-safe latency histogram in microseconds (1 µs to 10 min, 3 significant digits). Readers on many
/// threads record into one; histograms of several recorders (or steps) merge losslessly with <see cref="Merge"/>.
/// </summary>
public sealed class LatencyRecorder(string name)
{
    private static readonly long Highest = TimeSpan.FromMinutes(10).Ticks / 10;
    private readonly LongHistogram _histogram = new(1, Highest, 3);

    public string Name { get; } = name;

    public long Count
    {
        get
        {
            lock (_histogram)
                return _histogram.TotalCount;
        }
    }

    public void RecordMicroseconds(long microseconds)
    {
        lock (_histogram)
            _histogram.RecordValue(Math.Clamp(microseconds, 1, Highest));
    }

    public void RecordMilliseconds(double milliseconds) => RecordMicroseconds((long)Math.Round(milliseconds * 1000));

    /// <summary>Records the time from <paramref name="from"/> to <paramref name="to"/>, two Stopwatch timestamps.</summary>
    public void RecordElapsed(long from, long to) => RecordMicroseconds(Math.Max(0, to - from) * 1_000_000 / Stopwatch.Frequency);

    public void Merge(LatencyRecorder other)
    {
        if (ReferenceEquals(this, other))
            throw new ArgumentException("a recorder cannot be merged into itself", nameof(other));
        HistogramBase copy;
        lock (other._histogram)
            copy = other._histogram.Copy();
        lock (_histogram)
            _histogram.Add(copy);
    }

    public LatencySummary Summarize()
    {
        lock (_histogram)
        {
            if (_histogram.TotalCount == 0)
                return new LatencySummary(Name, 0, null, null, null, null, null);
            double Ms(double percentile) => _histogram.GetValueAtPercentile(percentile) / 1000.0;
            return new LatencySummary(Name, _histogram.TotalCount, Ms(50), Ms(90), Ms(99), Ms(99.9), _histogram.GetMaxValue() / 1000.0);
        }
    }
}
