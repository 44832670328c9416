namespace Akka.WhatsApp.Testing;

/// <summary>
/// The system clock moved forward on demand: a node under test reads its "now" here, so a test steps over a rate
/// limit or an expiry (<see cref="Advance"/>) instead of sleeping through it. Timers and timestamps stay the
/// system's, so everything else on the node (heartbeats, ask timeouts) runs as usual.
/// </summary>
public sealed class ShiftedTime : TimeProvider
{
    private long _offsetTicks;

    public TimeSpan Offset => TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));

    public void Advance(TimeSpan by)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        Interlocked.Add(ref _offsetTicks, by.Ticks);
    }

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + Offset;
}
