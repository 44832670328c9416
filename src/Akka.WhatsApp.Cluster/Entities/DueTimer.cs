namespace Akka.WhatsApp.Cluster.Entities;

/// <summary>
/// One timer on the node's clock (<see cref="EntityClock"/>) for the next time an entity has work of its own: a scheduled
/// message falling due, a status or a history sync expiring. It is re-armed only when that time changes, an overdue time
/// fires at once, and tests move the clock instead of waiting. <see cref="Fired"/> after handling the tick lets the same
/// time be armed again when its work is still pending (a hand-over to retry).
/// </summary>
public sealed class DueTimer(TimeProvider time) : IDisposable
{
    private ITimer? _timer;

    /// <summary>The time the timer is set for; null when none.</summary>
    public DateTimeOffset? ArmedFor { get; private set; }

    /// <summary>Sets the timer for <paramref name="next"/> (none: off); <paramref name="fire"/> runs on a timer thread, so it only Tells.</summary>
    public void Arm(DateTimeOffset? next, Action fire)
    {
        if (next == ArmedFor)
            return;
        _timer?.Dispose();
        _timer = null;
        ArmedFor = next;
        if (next is not { } at)
            return;
        var due = at - time.GetUtcNow();
        _timer = time.CreateTimer(_ => fire(), null, due < TimeSpan.Zero ? TimeSpan.Zero : due, Timeout.InfiniteTimeSpan);
    }

    /// <summary>The tick was handled: the next <see cref="Arm"/> sets the timer even for the same time.</summary>
    public void Fired() => ArmedFor = null;

    public void Dispose() => _timer?.Dispose();
}
