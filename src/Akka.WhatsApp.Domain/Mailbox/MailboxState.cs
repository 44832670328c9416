using System.Collections.Immutable;
using System.Security.Cryptography;
using Akka.WhatsApp.Domain.Groups;
using Akka.WhatsApp.Domain.Messaging;
using static Akka.WhatsApp.Domain.Mailbox.MailboxCommands;
using static Akka.WhatsApp.Domain.Mailbox.MailboxEvents;
using static Akka.WhatsApp.Domain.Mailbox.MailboxReplies;

namespace Akka.WhatsApp.Domain.Mailbox;

/// <summary>
/// What the dedup window remembers of a recent message. <paramref name="Peer"/> is the other user of a 1:1 message (its
/// sender, or the recipient of the owner's sync copy); null for group and SYSTEM messages.
/// </summary>
public sealed record RecentMessage(UserId From, long Seq, DateTimeOffset At, UserId? Peer = null);

/// <summary>
/// The state of one user's mailbox: the entries not yet acknowledged by every device they are for, the
/// per-device ack cursors, a bounded window of recent ids (idempotent retries, edit checks), and the
/// delivered receipts owed to senders. Pure: <see cref="Decide"/> and <see cref="Apply"/>.
/// Sessions and delivery windows are not state: the actor keeps them.
/// </summary>
public sealed record MailboxState : IAggregate<MailboxState, IMailboxCommand, IMailboxEvent, IMailboxReply>
{
    /// <summary>How many recent ids are remembered for idempotent retries and edit checks.</summary>
    public const int DedupWindow = 10_000;

    public static readonly MailboxState Empty = new();

    /// <summary>The seq of the last stored entry; the next one gets LastSeq + 1.</summary>
    public long LastSeq { get; init; }

    /// <summary>Stored entries in seq order.</summary>
    public ImmutableList<MailboxEntry> Pending { get; init; } = ImmutableList<MailboxEntry>.Empty;

    /// <summary>Highest acked seq per device that ever received something.</summary>
    public ImmutableDictionary<DeviceId, long> Cursors { get; init; } = ImmutableDictionary<DeviceId, long>.Empty;

    public ImmutableDictionary<MessageId, RecentMessage> Recent { get; init; } = ImmutableDictionary<MessageId, RecentMessage>.Empty;

    public ImmutableQueue<MessageId> RecentOrder { get; init; } = ImmutableQueue<MessageId>.Empty;

    /// <summary>
    /// Ids of recent receipts, for idempotent hand-overs: a window of their own, so that the ~1,000 delivered
    /// receipts a message to a big group brings back do not push received message ids out of <see cref="Recent"/>
    /// (retries and read receipts need those). Snapshots from before kept receipt ids in <see cref="Recent"/>.
    /// </summary>
    public ImmutableHashSet<MessageId> RecentReceipts { get; init; } = ImmutableHashSet<MessageId>.Empty;

    public ImmutableQueue<MessageId> RecentReceiptOrder { get; init; } = ImmutableQueue<MessageId>.Empty;

    /// <summary>Message ids acked by a first device, per sender (and group), whose delivered receipt is not yet in the sender's mailbox.</summary>
    public ImmutableDictionary<ReceiptKey, ImmutableList<MessageId>> OwedReceipts { get; init; } =
        ImmutableDictionary<ReceiptKey, ImmutableList<MessageId>>.Empty;

    /// <summary>The groups the owner is a member of, as the group events it received tell.</summary>
    public ImmutableHashSet<GroupId> Groups { get; init; } = ImmutableHashSet<GroupId>.Empty;

    /// <summary>
    /// How many per-member receipt states the owner's recent group messages keep, all messages together: the
    /// oldest messages' go first. Counted in members, not messages, so that big groups do not blow up the state
    /// (and every snapshot): 20,000 is ~20 messages to 1,024 members, or 2,000 to 10.
    /// </summary>
    public const int GroupReceiptWindow = 20_000;

    /// <summary>The member receipt states in <see cref="GroupReceipts"/>.</summary>
    public int GroupReceiptCount { get; init; }

    /// <summary>Per recent group message of the owner: when each member's devices got, read and played it.</summary>
    public ImmutableDictionary<MessageId, ImmutableDictionary<UserId, MemberReceipt>> GroupReceipts { get; init; } =
        ImmutableDictionary<MessageId, ImmutableDictionary<UserId, MemberReceipt>>.Empty;

    public ImmutableQueue<MessageId> GroupReceiptOrder { get; init; } = ImmutableQueue<MessageId>.Empty;

    /// <summary>Ids of pending messages whose delivered receipt was already generated.</summary>
    public ImmutableHashSet<long> DeliveredSeqs { get; init; } = ImmutableHashSet<long>.Empty;

    public (IMailboxReply Reply, IReadOnlyList<IMailboxEvent> Events) Decide(IMailboxCommand command, DateTimeOffset now) =>
        command switch
        {
            Enqueue e => DecideEnqueue(e, now),
            EnqueueBatch b => DecideBatch(b, now),
            EnqueueReceipt r => DecideReceipt(r, now),
            Ack a => DecideAck(a.Device, a.UpToSeq),
            DropDevice d => (new Acked(d.Device, LastSeq), Cursors.ContainsKey(d.Device) ? [new DeviceDropped(d.Device)] : []),
            GetAccepted g => (Recent.TryGetValue(g.MessageId, out var accepted) && accepted.From == g.From
                ? new Enqueued(g.MessageId, accepted.Seq, accepted.At, Duplicate: true)
                : new Rejected(MailboxError.NotFound, "no message with this id was accepted from this sender"), []),
            _ => (new Rejected(MailboxError.InvalidArgument, $"{command.GetType().Name} is not a state change"), []),
        };

    private (IMailboxReply, IReadOnlyList<IMailboxEvent>) DecideBatch(EnqueueBatch b, DateTimeOffset now)
    {
        var state = this;
        var events = new List<IMailboxEvent>();
        int stored = 0, duplicates = 0, rejected = 0;
        foreach (var item in b.Items)
        {
            var (reply, itemEvents) = state.DecideEnqueue(item, now);
            switch (reply)
            {
                case Enqueued { Duplicate: true }: duplicates++; break;
                case Enqueued: stored++; break;
                default: rejected++; break;
            }
            foreach (var e in itemEvents)
                state = state.Apply(e);
            events.AddRange(itemEvents);
        }
        return (new BatchEnqueued(stored, duplicates, rejected), events);
    }

    private (IMailboxReply, IReadOnlyList<IMailboxEvent>) DecideEnqueue(Enqueue e, DateTimeOffset now)
    {
        if (e.Resend)
            return DecideResend(e);
        if (Recent.TryGetValue(e.MessageId, out var original))
            return original.From == e.From
                ? (new Enqueued(e.MessageId, original.Seq, original.At, Duplicate: true), [])
                : (new Rejected(MailboxError.InvalidArgument, "this message id is taken: generate a new one"), []);
        if (e.Ciphertexts.Count == 0)
            return (new Rejected(MailboxError.InvalidArgument, "a message needs at least one device ciphertext"), []);
        if (ContentKinds.NeedsTarget(e.Meta.Kind) && e.Meta.Target is null)
            return (new Rejected(MailboxError.InvalidArgument, "this kind of message needs target_message_id"), []);
        // The sync copy of an edit follows the recipient's mailbox, which checked the window: the sender's own window of
        // recent ids is shared by all its conversations and may have forgotten the target already.
        if (MessageChanges.Changes(e.Meta.Kind) && e.Meta.SyncTo is null)
        {
            var target = Recent.GetValueOrDefault(e.Meta.Target!.Value);
            if (MessageChanges.Refusal(e.Meta.Kind, e.From, target?.From, target?.At, now) is { } refusal)
                return (new Rejected(MailboxError.EditWindowExpired, refusal), []);
        }

        var at = e.At ?? now;
        var stored = new StoredMessage(LastSeq + 1, e.MessageId, e.From, e.FromDevice, at, e.Meta, e.Ciphertexts, e.ExceptDevice);
        var reply = new Enqueued(e.MessageId, stored.Seq, at, Duplicate: false);
        return MembershipAfter(e) is { } membership
            ? (reply, [new MessageEnqueued(stored), membership])
            : (reply, [new MessageEnqueued(stored)]);
    }

    /// <summary>
    /// A resend stores a new entry (its own seq) under the original message's id and time, for the devices it names: a
    /// client replaces the placeholder of the message it could not decrypt. Retried, it is stored again; clients drop the
    /// copy they already have by message id. The dedup window keeps the original.
    /// </summary>
    private (IMailboxReply, IReadOnlyList<IMailboxEvent>) DecideResend(Enqueue e)
    {
        if (!Recent.TryGetValue(e.MessageId, out var original) || original.From != e.From)
            return (new Rejected(MailboxError.NotFound, "no message with this id was accepted from this sender"), []);
        if (e.Ciphertexts.IsEmpty || e.Ciphertexts.ContainsKey(StoredMessage.AllDevices))
            return (new Rejected(MailboxError.InvalidArgument, "a resend names the devices it is for"), []);
        var stored = new StoredMessage(LastSeq + 1, e.MessageId, e.From, e.FromDevice, original.At, e.Meta, e.Ciphertexts, e.ExceptDevice);
        return (new Enqueued(e.MessageId, stored.Seq, original.At, Duplicate: false), [new MessageEnqueued(stored)]);
    }

    /// <summary>A group event that adds the owner to its group or takes them out changes the owner's group list.</summary>
    private GroupMembershipChanged? MembershipAfter(Enqueue e)
    {
        if (e.Meta is not { GroupEvent: { } change, Group: { } group })
            return null;
        bool? member = change.Type switch
        {
            GroupChangeType.Created => change.Actor == e.Owner || change.Users.Contains(e.Owner) ? true : null,
            GroupChangeType.MembersAdded or GroupChangeType.MemberJoinedByInvite => change.Users.Contains(e.Owner) ? true : null,
            GroupChangeType.MembersRemoved or GroupChangeType.MemberLeft => change.Users.Contains(e.Owner) ? false : null,
            _ => null,
        };
        return member is { } m && m != Groups.Contains(group) ? new GroupMembershipChanged(group, m) : null;
    }

    /// <summary>The event that registers a device the mailbox has not seen yet.</summary>
    public DeviceAdded DeviceAddedFor(DeviceId device) =>
        new(device, Cursors.IsEmpty && Pending.FirstOrDefault() is { } first ? first.Seq - 1 : LastSeq);

    /// <summary>The per-member receipts of one of the owner's group messages.</summary>
    public ImmutableArray<MemberReceipt> GroupReceiptsFor(MessageId id) =>
        GroupReceipts.TryGetValue(id, out var members) ? [.. members.Values.OrderBy(m => m.User.Value, StringComparer.Ordinal)] : [];

    private (IMailboxReply, IReadOnlyList<IMailboxEvent>) DecideReceipt(EnqueueReceipt r, DateTimeOffset now)
    {
        if (Recent.TryGetValue(r.ReceiptId, out var original))
            return (new Enqueued(r.ReceiptId, original.Seq, original.At, Duplicate: true), []);
        if (RecentReceipts.Contains(r.ReceiptId))
            return (new Enqueued(r.ReceiptId, 0, now, Duplicate: true), []);
        if (r.MessageIds.IsDefaultOrEmpty)
            return (new Rejected(MailboxError.InvalidArgument, "a receipt names at least one message"), []);
        var stored = new StoredReceipt(LastSeq + 1, r.ReceiptId, r.From, r.FromDevice, now, r.Type, r.MessageIds, r.SyncTo, r.Group);
        return (new Enqueued(r.ReceiptId, stored.Seq, now, Duplicate: false), [new ReceiptEnqueued(stored)]);
    }

    /// <summary>An ack never fails: acks beyond the last seq are clamped, older ones change nothing.</summary>
    public (IMailboxReply, IReadOnlyList<IMailboxEvent>) DecideAck(DeviceId device, long upToSeq)
    {
        var target = Math.Clamp(upToSeq, 0, LastSeq);
        var current = Cursors.GetValueOrDefault(device);
        return target <= current
            ? (new Acked(device, current), [])
            : (new Acked(device, target), [new DeviceAcked(device, target)]);
    }

    public MailboxState Apply(IMailboxEvent @event) =>
        @event switch
        {
            MessageEnqueued e => ApplyEnqueued(e.Message, e.Message.MessageId, e.Message.From, PeerOf(e.Message),
                e.Message.Ciphertexts.Keys.Where(d => d != StoredMessage.AllDevices).Select(d => new DeviceId(d))),
            ReceiptEnqueued r => ApplyReceipt(r.Receipt),
            DeviceAcked a => ApplyAck(a.Device, a.UpToSeq).Trim(),
            DeviceDropped d => (this with { Cursors = Cursors.Remove(d.Device) }).Trim(),
            ReceiptsHandedOver h => ApplyHandedOver(new ReceiptKey(h.Sender, h.Group), h.MessageIds),
            DeviceAdded d => Cursors.ContainsKey(d.Device) ? this : this with { Cursors = Cursors.Add(d.Device, d.AfterSeq) },
            AcksRecorded r => r.HandedOver.Aggregate(r.Acks.Aggregate(this, (s, a) => s.Apply(a)), (s, h) => s.Apply(h)),
            GroupMembershipChanged g => this with { Groups = g.Member ? Groups.Add(g.Group) : Groups.Remove(g.Group) },
            _ => this,
        };

    /// <summary>The other user of a 1:1 message; null for group and SYSTEM messages.</summary>
    private static UserId? PeerOf(StoredMessage m) =>
        m.Meta.Group is not null || m.Meta.Kind == ContentKinds.System ? null : m.Meta.SyncTo ?? m.From;

    /// <summary>
    /// The users of the 1:1 messages in the window, newest first, each once: whom to tell that a device of the owner has a
    /// new identity key (PROTOCOL.md §13). Read only when that happens, so the window needs nothing more than the peer of
    /// each message it remembers.
    /// </summary>
    public ImmutableArray<UserId> RecentPeers(int max)
    {
        var seen = new HashSet<UserId>();
        var newestFirst = new List<UserId>();
        foreach (var id in RecentOrder.Reverse())
        {
            if (newestFirst.Count >= max)
                break;
            if (Recent.TryGetValue(id, out var message) && message.Peer is { } peer && seen.Add(peer))
                newestFirst.Add(peer);
        }
        return [.. newestFirst];
    }

    private MailboxState ApplyEnqueued(MailboxEntry entry, MessageId id, UserId from, UserId? peer, IEnumerable<DeviceId> devices)
    {
        // A resend carries the id of a message in the window: the window keeps the original (its seq answers retries).
        var resent = Recent.ContainsKey(id);
        var recent = resent ? Recent : Recent.SetItem(id, new RecentMessage(from, entry.Seq, entry.ServerTimestamp, peer));
        var order = resent ? RecentOrder : RecentOrder.Enqueue(id);
        while (recent.Count > DedupWindow)
        {
            order = order.Dequeue(out var oldest);
            recent = recent.Remove(oldest);
        }
        var cursors = Cursors;
        foreach (var device in devices)
            if (!cursors.ContainsKey(device))
                cursors = cursors.Add(device, entry.Seq - 1);
        return this with { LastSeq = entry.Seq, Pending = Pending.Add(entry), Recent = recent, RecentOrder = order, Cursors = cursors };
    }

    private MailboxState ApplyReceipt(StoredReceipt receipt)
    {
        var ids = RecentReceipts.Add(receipt.ReceiptId);
        var order = RecentReceiptOrder.Enqueue(receipt.ReceiptId);
        while (ids.Count > DedupWindow)
        {
            order = order.Dequeue(out var oldest);
            ids = ids.Remove(oldest);
        }
        return (this with { LastSeq = receipt.Seq, Pending = Pending.Add(receipt), RecentReceipts = ids, RecentReceiptOrder = order })
            .RecordGroupReceipt(receipt);
    }

    private MailboxState ApplyAck(DeviceId device, long upTo)
    {
        var before = Cursors.GetValueOrDefault(device);
        if (upTo <= before)
            return this;
        var owed = OwedReceipts;
        var delivered = DeliveredSeqs;
        // The first device of the owner to ack a message makes it "delivered" for its sender (✓✓).
        for (var i = IndexAfter(before); i < Pending.Count; i++)
        {
            var entry = Pending[i];
            if (entry.Seq > upTo)
                break;
            if (entry is not StoredMessage m || !m.IsFor(device) || m.IsOwnCopy || m.Meta.Kind == ContentKinds.System
                || delivered.Contains(m.Seq))
                continue;
            delivered = delivered.Add(m.Seq);
            var key = new ReceiptKey(m.From, m.Meta.Group);
            owed = owed.SetItem(key, owed.GetValueOrDefault(key, ImmutableList<MessageId>.Empty).Add(m.MessageId));
        }
        return this with { Cursors = Cursors.SetItem(device, upTo), OwedReceipts = owed, DeliveredSeqs = delivered };
    }

    private MailboxState ApplyHandedOver(ReceiptKey key, ImmutableArray<MessageId> ids)
    {
        if (!OwedReceipts.TryGetValue(key, out var owed))
            return this;
        var rest = owed.RemoveRange(ids);
        return this with { OwedReceipts = rest.IsEmpty ? OwedReceipts.Remove(key) : OwedReceipts.SetItem(key, rest) };
    }

    /// <summary>A member's receipt for the owner's group messages feeds their "delivered to all / read by N of M" summary.</summary>
    private MailboxState RecordGroupReceipt(StoredReceipt r)
    {
        if (r.Group is null || r.SyncTo is not null)
            return this;
        var receipts = GroupReceipts;
        var order = GroupReceiptOrder;
        var count = GroupReceiptCount;
        foreach (var id in r.MessageIds)
        {
            if (!receipts.TryGetValue(id, out var members))
            {
                members = ImmutableDictionary<UserId, MemberReceipt>.Empty;
                order = order.Enqueue(id);
            }
            var before = members.GetValueOrDefault(r.From) ?? new MemberReceipt(r.From, null, null, null);
            var at = r.ServerTimestamp;
            var after = r.Type switch
            {
                ReceiptType.Delivered => before with { Delivered = before.Delivered ?? at },
                ReceiptType.Read => before with { Delivered = before.Delivered ?? at, Read = before.Read ?? at },
                _ => before with { Delivered = before.Delivered ?? at, Read = before.Read ?? at, Played = before.Played ?? at },
            };
            if (!members.ContainsKey(r.From))
                count++;
            receipts = receipts.SetItem(id, members.SetItem(r.From, after));
        }
        while (count > GroupReceiptWindow && receipts.Count > 1)
        {
            order = order.Dequeue(out var oldest);
            count -= receipts[oldest].Count;
            receipts = receipts.Remove(oldest);
        }
        return this with { GroupReceipts = receipts, GroupReceiptOrder = order, GroupReceiptCount = count };
    }

    /// <summary>Drops the leading entries that every device they are for has acknowledged.</summary>
    private MailboxState Trim()
    {
        var keepFrom = 0;
        foreach (var entry in Pending)
        {
            if (Cursors.Any(c => c.Value < entry.Seq && entry.IsFor(c.Key)))
                break;
            keepFrom++;
        }
        if (keepFrom == 0)
            return this;
        var dropped = Pending.GetRange(0, keepFrom);
        return this with
        {
            Pending = Pending.RemoveRange(0, keepFrom),
            DeliveredSeqs = DeliveredSeqs.Except(dropped.Select(e => e.Seq)),
        };
    }

    /// <summary>The stored entries for a device after <paramref name="after"/>, in order.</summary>
    /// <remarks>
    /// Starts at a binary search instead of scanning from the oldest entry: under load a mailbox holds thousands of
    /// entries sent but not yet acknowledged, and every persisted event and every ack asks for the next few (a scan
    /// made each of those O(backlog), and the mailbox fell further behind the more it held).
    /// </remarks>
    public IEnumerable<MailboxEntry> PendingFor(DeviceId device, long after)
    {
        for (var i = IndexAfter(after); i < Pending.Count; i++)
        {
            var entry = Pending[i];
            if (entry.IsFor(device))
                yield return entry;
        }
    }

    /// <summary>The index of the first pending entry whose seq is above <paramref name="seq"/> (Count if none): entries are in seq order.</summary>
    private int IndexAfter(long seq)
    {
        var (low, high) = (0, Pending.Count);
        while (low < high)
        {
            var mid = (low + high) >>> 1;
            if (Pending[mid].Seq <= seq)
                low = mid + 1;
            else
                high = mid;
        }
        return low;
    }

    /// <summary>
    /// A receipt id that is the same for the same receipt, so that a resent batch is stored once.
    /// The copy for the reader's own devices (<paramref name="syncTo"/> set) gets an id of its own.
    /// </summary>
    public static MessageId ReceiptIdFor(UserId from, ReceiptType type, IEnumerable<MessageId> messageIds, UserId? syncTo = null)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(System.Text.Encoding.UTF8.GetBytes(from.Value));
        hash.AppendData([(byte)type]);
        if (syncTo is { } to)
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes("\0sync\0" + to.Value));
        foreach (var id in messageIds)
            hash.AppendData(id.ToByteArray());
        return new MessageId(new Guid(hash.GetHashAndReset().AsSpan(0, 16)));
    }
}
