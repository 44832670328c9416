namespace Akka.WhatsApp.Domain.Mailbox;

/// <summary>
/// What one attached device may be sent next (PROTOCOL.md §8.4): at most <see cref="Size"/> entries pushed and not
/// acknowledged, only entries that are durable, the backlog of the attach followed by QueueEmpty once, nothing while
/// the connection is throttled. Pure bookkeeping beside the mailbox's state; the mailbox actor sends what it says.
/// </summary>
public sealed class DeliveryWindow
{
    /// <param name="size">Entries in flight at most (at least 1).</param>
    /// <param name="backlogEnd">The last durable seq when the device attached: what it had waiting.</param>
    /// <param name="acked">What the device acknowledged already (nothing up to it is pushed again).</param>
    public DeliveryWindow(int size, long backlogEnd, long acked)
    {
        Size = Math.Max(1, size);
        BacklogEnd = backlogEnd;
        AckedUpTo = SentUpTo = acked;
    }

    public int Size { get; }
    public long BacklogEnd { get; }

    /// <summary>The highest seq pushed to the device on this attachment (or acknowledged before it).</summary>
    public long SentUpTo { get; private set; }

    public long AckedUpTo { get; private set; }

    /// <summary>While throttled (the connection's send buffer is full), nothing is pushed.</summary>
    public bool Paused { get; set; }

    public bool QueueEmptySent { get; private set; }

    /// <summary>The last backlog entry pushed on this attachment; 0 when none was (what QueueEmpty carries).</summary>
    public long LastBacklogPushed { get; private set; }

    /// <summary>An ack of the device, already clamped to what it was sent: entries up to it leave the window.</summary>
    public void Acked(long upTo)
    {
        AckedUpTo = Math.Max(AckedUpTo, upTo);
        SentUpTo = Math.Max(SentUpTo, AckedUpTo);
    }

    /// <summary>
    /// The entries of <paramref name="state"/> to push to <paramref name="device"/> now, in order, recorded as sent;
    /// and the seq for QueueEmpty when the backlog is out (null when it is not, or was said already).
    /// </summary>
    public (IReadOnlyList<MailboxEntry> Push, long? QueueEmpty) Next(MailboxState state, DeviceId device, long durableSeq)
    {
        if (Paused)
            return ([], null);
        var push = new List<MailboxEntry>();
        var inFlight = state.PendingFor(device, AckedUpTo).TakeWhile(e => e.Seq <= SentUpTo).Count();
        foreach (var entry in state.PendingFor(device, SentUpTo))
        {
            if (inFlight >= Size || entry.Seq > durableSeq)
                break;
            push.Add(entry);
            SentUpTo = entry.Seq;
            if (entry.Seq <= BacklogEnd)
                LastBacklogPushed = entry.Seq;
            inFlight++;
        }
        if (QueueEmptySent || (SentUpTo < BacklogEnd && state.PendingFor(device, SentUpTo).Any(e => e.Seq <= BacklogEnd)))
            return (push, null);
        QueueEmptySent = true;
        return (push, LastBacklogPushed);
    }
}
