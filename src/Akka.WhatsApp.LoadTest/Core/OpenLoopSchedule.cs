using System.Diagnostics;

namespace Akka.WhatsApp.LoadTest.Core;

/// <summary>Where the scheduler reads time and how it waits: the real clock, or a fake one in tests.</summary>
public interface ILoadClock
{
    /// <summary>Now, in <see cref="Frequency"/> ticks per second.</summary>
    long Now { get; }

    long Frequency { get; }

    Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken);
}

public sealed class SystemLoadClock : ILoadClock
{
    public static readonly SystemLoadClock Instance = new();

    public long Now => Stopwatch.GetTimestamp();

    public long Frequency => Stopwatch.Frequency;

    public Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken) => Task.Delay(delay, cancellationToken);
}

/// <summary>
/// Open-loop pacing, as in wrk2 and NBomber's inject rates: item i is due at start + i / rate, whatever earlier
/// items cost. A generator that falls behind (a stall on its side or the server's) sends the overdue items at once
/// instead of skipping them, and latency counts from the due time, so a stall shows in the percentiles instead of
/// being hidden by sending less (coordinated omission).
/// </summary>
public sealed class OpenLoopSchedule
{
    private readonly ILoadClock _clock;
    private readonly double _ticksPerItem;

    public OpenLoopSchedule(double ratePerSecond, ILoadClock? clock = null, long? start = null)
    {
        if (!(ratePerSecond > 0) || double.IsInfinity(ratePerSecond))
            throw new ArgumentOutOfRangeException(nameof(ratePerSecond), ratePerSecond, "the rate must be a positive number of items per second");
        _clock = clock ?? SystemLoadClock.Instance;
        Rate = ratePerSecond;
        _ticksPerItem = _clock.Frequency / ratePerSecond;
        Start = start ?? _clock.Now;
    }

    public double Rate { get; }

    /// <summary>The timestamp item 0 is due at.</summary>
    public long Start { get; }

    /// <summary>How many items are due in <paramref name="duration"/>.</summary>
    public long ItemsIn(TimeSpan duration) => (long)Math.Round(duration.TotalSeconds * Rate);

    /// <summary>When item <paramref name="index"/> is due.</summary>
    public long DueOf(long index) => Start + (long)(index * _ticksPerItem);

    /// <summary>
    /// Waits until item <paramref name="index"/> is due and returns its due time; an overdue item returns at once.
    /// Waits under a millisecond are not slept: timers cannot sleep that short, the item goes a little early instead.
    /// </summary>
    public async ValueTask<long> WaitForAsync(long index, CancellationToken cancellationToken = default)
    {
        var due = DueOf(index);
        var wait = due - _clock.Now;
        if (wait > _clock.Frequency / 1000)
            await _clock.DelayAsync(TimeSpan.FromSeconds(wait / (double)_clock.Frequency), cancellationToken);
        return due;
    }

    /// <summary>Milliseconds from <paramref name="due"/> to <paramref name="now"/> (never negative).</summary>
    public double MillisecondsSince(long due, long now) => Math.Max(0, now - due) * 1000.0 / _clock.Frequency;
}
