using System.Collections.Immutable;
using static Akka.WhatsApp.Domain.Mailbox.MailboxCommands;
using static Akka.WhatsApp.Domain.Mailbox.MailboxEvents;
using static Akka.WhatsApp.Domain.Mailbox.MailboxReplies;

namespace Akka.WhatsApp.Domain.Mailbox;

/// <summary>
/// The state of one user's mailbox: the messages not yet acknowledged by every device, the
/// per-device ack cursors and a bounded window of recent message ids for deduplication.
/// Pure: <see cref="Decide"/> turns a command into events and a reply, <see cref="Apply"/> folds an event.
/// </summary>
public sealed record MailboxState : IAggregate<MailboxState, IMailboxCommand, IMailboxEvent, IMailboxReply>
{
    /// <summary>How many recent message ids are remembered for idempotent retries.</summary>
    public const int DedupWindow = 10_000;

    public static readonly MailboxState Empty = new();

    /// <summary>The seq of the last stored message; the next one gets LastSeq + 1.</summary>
    public long LastSeq { get; init; }

    /// <summary>Stored messages in seq order, kept until every known device has acked them.</summary>
    public ImmutableList<StoredMessage> Pending { get; init; } = ImmutableList<StoredMessage>.Empty;

    /// <summary>Highest acked seq per device.</summary>
    public ImmutableDictionary<DeviceId, long> Cursors { get; init; } = ImmutableDictionary<DeviceId, long>.Empty;

    /// <summary>Recent message ids and the reply they got, oldest first in <see cref="DedupOrder"/>.</summary>
    public ImmutableDictionary<MessageId, Enqueued> Recent { get; init; } = ImmutableDictionary<MessageId, Enqueued>.Empty;

    public ImmutableQueue<MessageId> DedupOrder { get; init; } = ImmutableQueue<MessageId>.Empty;

    public (IMailboxReply Reply, IReadOnlyList<IMailboxEvent> Events) Decide(IMailboxCommand command, DateTimeOffset now) =>
        command switch
        {
            Enqueue e => DecideEnqueue(e, now),
            Ack a => DecideAck(a),
            _ => (new Rejected(MailboxError.InvalidArgument, $"unknown command {command.GetType().Name}"), []),
        };

    private (IMailboxReply, IReadOnlyList<IMailboxEvent>) DecideEnqueue(Enqueue e, DateTimeOffset now)
    {
        if (Recent.TryGetValue(e.MessageId, out var original))
            return (original with { Duplicate = true }, []);
        if (e.Ciphertexts.Count == 0)
            return (new Rejected(MailboxError.InvalidArgument, "a message needs at least one device ciphertext"), []);

        var stored = new StoredMessage(LastSeq + 1, e.MessageId, e.From, e.FromDevice, now, e.Ciphertexts);
        return (new Enqueued(e.MessageId, stored.Seq, now, Duplicate: false), [new MessageEnqueued(stored)]);
    }

    private (IMailboxReply, IReadOnlyList<IMailboxEvent>) DecideAck(Ack a)
    {
        if (a.UpToSeq < 0 || a.UpToSeq > LastSeq)
            return (new Rejected(MailboxError.InvalidArgument, $"ack {a.UpToSeq} is outside 0..{LastSeq}"), []);
        var current = Cursors.GetValueOrDefault(a.Device);
        return a.UpToSeq <= current
            ? (new Acked(a.Device, current), [])
            : (new Acked(a.Device, a.UpToSeq), [new DeviceAcked(a.Device, a.UpToSeq)]);
    }

    public MailboxState Apply(IMailboxEvent @event) =>
        @event switch
        {
            MessageEnqueued e => ApplyEnqueued(e.Message),
            DeviceAcked a => (this with { Cursors = Cursors.SetItem(a.Device, Math.Max(a.UpToSeq, Cursors.GetValueOrDefault(a.Device))) }).Trim(),
            _ => this,
        };

    private MailboxState ApplyEnqueued(StoredMessage m)
    {
        var recent = Recent.SetItem(m.MessageId, new Enqueued(m.MessageId, m.Seq, m.ServerTimestamp, Duplicate: false));
        var order = DedupOrder.Enqueue(m.MessageId);
        while (recent.Count > DedupWindow)
        {
            order = order.Dequeue(out var oldest);
            recent = recent.Remove(oldest);
        }
        var cursors = Cursors;
        foreach (var device in m.Ciphertexts.Keys)
            if (!cursors.ContainsKey(device))
                cursors = cursors.Add(device, m.Seq - 1);
        return this with { LastSeq = m.Seq, Pending = Pending.Add(m), Recent = recent, DedupOrder = order, Cursors = cursors };
    }

    /// <summary>Drops the messages that every known device has acknowledged.</summary>
    private MailboxState Trim()
    {
        if (Pending.IsEmpty || Cursors.IsEmpty)
            return this;
        var floor = Cursors.Values.Min();
        var keep = Pending.FindIndex(m => m.Seq > floor);
        return keep switch
        {
            0 => this,
            -1 => this with { Pending = ImmutableList<StoredMessage>.Empty },
            _ => this with { Pending = Pending.RemoveRange(0, keep) },
        };
    }

    /// <summary>The stored messages a device has not acknowledged yet, in order.</summary>
    public IEnumerable<StoredMessage> UnackedFor(DeviceId device)
    {
        var cursor = Cursors.GetValueOrDefault(device);
        return Pending.Where(m => m.Seq > cursor && m.Ciphertexts.ContainsKey(device));
    }
}
