namespace Akka.WhatsApp.Cluster.Entities;

/// <summary>
/// The fan-out of an entity to many others, shared by the groups (a post to every member's mailbox) and the statuses (a
/// post to every viewer's feed index): recipients are lined up once each, at most <c>parallelism</c> have a send in
/// flight, never two for the same recipient (so one recipient's items arrive in order), and a recipient whose send
/// failed waits for <see cref="RetryFailed"/> (the entity's retry timer) instead of being hammered. The entity owns the
/// sends and their completions (they come back to it as messages); this keeps only the bookkeeping, on the actor's thread.
/// </summary>
public sealed class FanOutPump<TKey>(int parallelism) where TKey : notnull
{
    private readonly Queue<TKey> _ready = new();
    private readonly HashSet<TKey> _queued = new();
    private readonly HashSet<TKey> _inFlight = new();
    private readonly HashSet<TKey> _failed = new();

    /// <summary>Recipients with a send in flight.</summary>
    public int InFlight => _inFlight.Count;

    /// <summary>Lines <paramref name="key"/> up (once, and not while its send is in flight).</summary>
    public void Ready(TKey key)
    {
        if (!_inFlight.Contains(key) && _queued.Add(key))
            _ready.Enqueue(key);
    }

    /// <summary>
    /// Starts sends for lined-up recipients while fewer than the bound are in flight; <paramref name="start"/> returns
    /// false when the recipient had nothing to send after all (it is then not in flight).
    /// </summary>
    public void Pump(Func<TKey, bool> start)
    {
        while (_inFlight.Count < parallelism && _ready.TryDequeue(out var key))
        {
            _queued.Remove(key);
            if (start(key))
                _inFlight.Add(key);
        }
    }

    /// <summary>A send finished; a failed recipient waits for <see cref="RetryFailed"/>. True when it is the first failure waiting (start the retry timer).</summary>
    public bool Completed(TKey key, bool ok)
    {
        _inFlight.Remove(key);
        if (ok)
            return false;
        _failed.Add(key);
        return _failed.Count == 1;
    }

    /// <summary>Lines up again every recipient whose send failed.</summary>
    public void RetryFailed()
    {
        foreach (var key in _failed)
            Ready(key);
        _failed.Clear();
    }
}
