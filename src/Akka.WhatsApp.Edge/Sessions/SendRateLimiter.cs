namespace Akka.WhatsApp.Edge.Sessions;

/// <summary>A token bucket per connection: <paramref name="perSecond"/> sends on average, bursts up to <paramref name="burst"/>.</summary>
public sealed class SendRateLimiter(int perSecond, int burst, TimeProvider time)
{
    private readonly object _gate = new();
    private double _tokens = burst;
    private long _last = time.GetTimestamp();

    public bool TryTake()
    {
        lock (_gate)
        {
            var now = time.GetTimestamp();
            _tokens = Math.Min(burst, _tokens + time.GetElapsedTime(_last, now).TotalSeconds * perSecond);
            _last = now;
            if (_tokens < 1)
                return false;
            _tokens -= 1;
            return true;
        }
    }
}
