using Akka.Cluster.Tools.PublishSubscribe;
using Akka.WhatsApp.Domain.Presence;
using Akka.Persistence;
using Akka.WhatsApp.Domain.Accounts;
using Akka.WhatsApp.Domain.Mailbox;
using Akka.WhatsApp.Domain.Notifications;
using static Akka.WhatsApp.Domain.Mailbox.MailboxCommands;

namespace Akka.WhatsApp.Cluster.Mailbox;

/// <summary>
/// What a mailbox talks to, given when the region starts its entities: the mailbox region (delivered receipts go to
/// the senders' mailboxes), the account region (last seen), the presence bus (online / offline) and the node's push
/// pipeline (devices with no connection).
/// </summary>
public sealed record MailboxPeers(IActorRef Mailboxes, IActorRef Accounts, IActorRef PresenceBus, Notifications.PushQueue? Push = null)
{
    public Notifications.PushQueue Push { get; init; } = Push ?? Notifications.PushQueue.Off;
}

/// <summary>
/// The sharded persistent entity of one user's mailbox. The aggregate decides what is stored; this actor
/// also pushes entries to attached device sessions, at most a window of unacked entries per device, and
/// hands the delivered receipts it owes to the senders' mailboxes.
/// Acks are applied at once for flow control and persisted in batches: while one ack write is in flight,
/// further acks accumulate and go in the next write. A crash may forget the last acks; the device then gets
/// those entries again and deduplicates them by id (PROTOCOL.md, "Delivery and acknowledgement").
/// Completed receipt hand-overs are recorded lazily, inside the next ack write (one row for both) or after
/// <see cref="HandOverRecordDelay"/>: forgetting them in a crash only offers those receipts again, which the
/// sender's mailbox takes as duplicates (and clients apply receipts idempotently). A group message makes each
/// member mailbox hand one receipt over, so writing each record at once cost a row and a round trip per member.
/// </summary>
public sealed class MailboxActor : AggregateActor<MailboxState, IMailboxCommand, IMailboxEvent, IMailboxReply>
{
    /// <summary>An attached device: its session, what it may be sent next, and whether it is in the foreground.</summary>
    private sealed class Attachment(IActorRef session, DeliveryWindow window, long loggedInAt)
    {
        public IActorRef Session { get; } = session;
        public long LoggedInAt { get; } = loggedInAt;
        public DeliveryWindow Window { get; } = window;
        public bool Available { get; set; } = true;

        /// <summary>
        /// The entry a <see cref="SilentCheck"/> is watching (0: none is scheduled): when it is still unacked after
        /// <see cref="SilentGrace"/>, the connection is taken as dead and the device is pushed. One check per device at a
        /// time, restarted only when it fires, so that a device acking as it should costs a timer every grace period,
        /// not one per message.
        /// </summary>
        public long Watched { get; set; }
    }

    /// <summary>A device still has not acknowledged <paramref name="Seq"/> on this session after the grace period.</summary>
    private sealed record SilentCheck(DeviceId Device, IActorRef Session, long Seq) : INoSerializationVerificationNeeded;

    /// <summary>
    /// How long an attached device may leave a pushed entry unacknowledged before it is pushed as if offline: a phone whose
    /// app was suspended keeps its TCP connection open for a while without reading (PROTOCOL.md §16).
    /// </summary>
    public static readonly TimeSpan SilentGrace = TimeSpan.FromSeconds(15);

    /// <summary>Messages each device did not see since it last attached: the badge of its pushes (a hint, not persisted).</summary>
    private readonly Dictionary<DeviceId, int> _unseen = new();

    private sealed record HandOverDone(ReceiptKey Key, ImmutableArray<MessageId> MessageIds, bool Ok) : INoSerializationVerificationNeeded;

    private readonly UserId _owner;
    private readonly Dictionary<DeviceId, Attachment> _sessions = new();
    private readonly Dictionary<DeviceId, long> _unpersistedAcks = new();
    private readonly HashSet<ReceiptKey> _handingOver = new();
    private readonly Dictionary<ReceiptKey, List<MessageId>> _handedOver = new();
    private bool _ackWriteInFlight;

    /// <summary>The last entry known durable: devices get nothing beyond it (later entries are still being written).</summary>
    private long _durableSeq;
    private readonly int _snapshotEvery;

    /// <summary>Events between snapshots: recovery replays at most this many events after the snapshot.</summary>
    public const int DefaultSnapshotEvery = 1000;

    protected override int SnapshotEvery => _snapshotEvery;

    private readonly MailboxPeers _peers;

    public MailboxActor(string ownerId, MailboxPeers peers, int snapshotEvery = DefaultSnapshotEvery) : base(PersistenceIdFor(ownerId), MailboxState.Empty)
    {
        _owner = new UserId(ownerId);
        _peers = peers;
        _snapshotEvery = snapshotEvery;
    }

    /// <summary>The pending entries this mailbox added to the node's wa_mailbox_pending_entries gauge.</summary>
    private int _countedPending;

    protected override void OnStateChanged(MailboxState state)
    {
        var pending = state.Pending.Count;
        if (pending == _countedPending)
            return;
        Metrics.MailboxPendingChanged(pending - _countedPending);
        _countedPending = pending;
    }

    protected override void PostStop()
    {
        // Passivated, handed off or crashed: its entries are no longer held on this node (a restart recovers them again).
        Metrics.MailboxPendingChanged(-_countedPending);
        _countedPending = 0;
        base.PostStop();
    }

    protected override void OnRecovered()
    {
        _durableSeq = State.LastSeq;
        Self.Tell(HandOverTick.Instance);
    }

    protected override bool HandleOther(object message)
    {
        switch (message)
        {
            case Terminated t:
                foreach (var device in _sessions.Where(s => s.Value.Session.Equals(t.ActorRef)).Select(s => s.Key).ToList())
                    Remove(device);
                return true;
            case HandOverTick:
                HandOverReceipts();
                return true;
            case SilentCheck check:
                OnSilentCheck(check);
                return true;
            case HandOverDone done:
                OnHandOverDone(done);
                return true;
            case RecordHandOvers:
                if (_ackWriteInFlight)
                    Timers.StartSingleTimer(RecordHandOvers.Instance, RecordHandOvers.Instance, HandOverRecordDelay);
                else
                    WriteAcks(handOvers: true);
                return true;
            default:
                return false;
        }
    }

    public static string PersistenceIdFor(string ownerId) => "mailbox-" + ownerId;

    public static Props PropsFor(string ownerId, MailboxPeers peers, int snapshotEvery = DefaultSnapshotEvery) =>
        Props.Create(() => new MailboxActor(ownerId, peers, snapshotEvery));

    /// <summary>Sessions, acks and receipts are handled here; everything else is decided by the aggregate.</summary>
    protected override bool Intercept(IMailboxCommand command)
    {
        switch (command)
        {
            case Attach attach:
                OnAttach(attach);
                return true;
            case Detach d:
                if (_sessions.TryGetValue(d.Device, out var a) && a.Session.Equals(d.Session))
                    Remove(d.Device);
                return true;
            case Ack ack:
                OnAck(ack.Device, ack.UpToSeq, Sender);
                return true;
            case Throttle t:
                if (_sessions.TryGetValue(t.Device, out var throttled) && throttled.Session.Equals(t.Session))
                {
                    throttled.Window.Paused = t.Paused;
                    if (!t.Paused)
                        Pump(t.Device);
                }
                return true;
            case CheckReceived check:
                // A receipt may only name messages this user really received from that sender.
                Sender.Tell(new MailboxReplies.Received([.. check.MessageIds.Where(id => State.Recent.TryGetValue(id, out var r) && r.From == check.From)]));
                return true;
            case SetAvailable available:
                if (_sessions.TryGetValue(available.Device, out var device) && device.Session.Equals(available.Session))
                {
                    var wasOnline = Online;
                    device.Available = available.Available;
                    PresenceMayHaveChanged(wasOnline);
                }
                return true;
            case GetPresence:
                Sender.Tell(new MailboxReplies.PresenceIs(Online, [.. _sessions.Keys.Select(d => d.Value).Order()]));
                return true;
            case ListGroups:
                Sender.Tell(new MailboxReplies.GroupsAre([.. State.Groups.OrderBy(g => g.Value, StringComparer.Ordinal)]));
                return true;
            case GetPeers peers:
                Sender.Tell(new MailboxReplies.PeersAre(State.RecentPeers(peers.Max)));
                return true;
            case GetGroupReceipts receipts:
                Sender.Tell(new MailboxReplies.GroupReceiptsAre(State.GroupReceiptsFor(receipts.MessageId)));
                return true;
            case DropDevice drop when _sessions.TryGetValue(drop.Device, out var dropped):
                dropped.Session.Tell(new MailboxPushes.Removed(_owner, drop.Device));
                Remove(drop.Device);
                return false;
            default:
                return false;
        }
    }

    /// <summary>Passivates only while no device is attached.</summary>
    protected override bool MayPassivate => _sessions.Count == 0;

    protected override Task? OnPersisted(IMailboxEvent @event)
    {
        var seq = @event switch
        {
            MailboxEvents.MessageEnqueued m => m.Message.Seq,
            MailboxEvents.ReceiptEnqueued r => r.Receipt.Seq,
            _ => 0,
        };
        if (seq > _durableSeq)
        {
            _durableSeq = seq;
            foreach (var device in _sessions.Keys)
                Pump(device);
        }
        if (@event is MailboxEvents.MessageEnqueued enqueued)
            OfferPushes(enqueued.Message);
        return null;
    }

    /// <summary>A stored message wakes each device it is for that has no connection (PROTOCOL.md §16).</summary>
    private void OfferPushes(StoredMessage message)
    {
        if (!_peers.Push.Enabled || !PushRequest.Wakes(message))
            return;
        foreach (var device in State.Cursors.Keys)
            if (!_sessions.ContainsKey(device) && message.IsFor(device))
                OfferPush(device, message);
    }

    /// <summary>Counts <paramref name="message"/> into the device's badge and offers it to the node's push pipeline.</summary>
    private void OfferPush(DeviceId device, StoredMessage message)
    {
        var unseen = _unseen[device] = _unseen.GetValueOrDefault(device) + 1;
        var chat = message.Meta.Group is { } group ? ChatId.Group(group) : ChatId.User(message.From);
        _peers.Push.Offer(new PushRequest(_owner, device, chat, PushKind.Message, unseen, Now));
    }

    private void OnSilentCheck(SilentCheck check)
    {
        if (!_sessions.TryGetValue(check.Device, out var a) || !a.Session.Equals(check.Session) || a.Watched != check.Seq)
            return;
        a.Watched = 0;
        if (a.Window.AckedUpTo < check.Seq)
            OfferPushForUnacked(check.Device, a.Window.AckedUpTo);
        else if (a.Window.SentUpTo > a.Window.AckedUpTo)
            WatchSilence(check.Device, a, a.Window.AckedUpTo + 1); // alive; watch what is in flight now
    }

    private void WatchSilence(DeviceId device, Attachment a, long seq)
    {
        a.Watched = seq;
        Timers.StartSingleTimer(("silent", device), new SilentCheck(device, a.Session, seq), SilentGrace);
    }

    /// <summary>Offers a push for the first waking message after <paramref name="acked"/> the device has not acknowledged, if any.</summary>
    private void OfferPushForUnacked(DeviceId device, long acked)
    {
        if (!_peers.Push.Enabled)
            return;
        if (State.PendingFor(device, acked).OfType<StoredMessage>().FirstOrDefault(PushRequest.Wakes) is { } message)
            OfferPush(device, message);
    }

    private void OnAttach(Attach attach)
    {
        if (!State.Cursors.ContainsKey(attach.Device) && !_unpersistedAcks.ContainsKey(attach.Device))
        {
            // A device the mailbox has not seen: from now on entries for all devices (group messages) count it.
            // The attach goes on once that is durable (commands wait meanwhile).
            Persist(State.DeviceAddedFor(attach.Device), e =>
            {
                ApplyPersisted(e);
                OnAttach(attach);
            });
            return;
        }
        if (_sessions.TryGetValue(attach.Device, out var old) && !old.Session.Equals(attach.Session))
        {
            switch (Newer(attach, old))
            {
                case false:
                    // A later connection of the device holds it: this attach waited somewhere on its way (Attach, remarks).
                    attach.Session.Tell(new MailboxPushes.Replaced(_owner, attach.Device));
                    return;
                case null:
                    return; // Maybe a newer connection, maybe not: a repeat never takes the device over.
            }
            old.Session.Tell(new MailboxPushes.Replaced(_owner, attach.Device));
            Context.Unwatch(old.Session);
        }
        var known = KnownCursor(attach.Device);
        // What the device says it processed counts as an ack (Login.last_acked_seq).
        var acked = Math.Max(known, Math.Clamp(attach.AckedUpTo, 0, _durableSeq));
        if (acked > known)
        {
            _unpersistedAcks[attach.Device] = acked;
            WriteAcks();
        }
        var attachment = new Attachment(attach.Session, new DeliveryWindow(attach.Window, _durableSeq, acked), attach.LoggedInAt);
        var wasOnline = Online;
        _sessions[attach.Device] = attachment;
        _unseen.Remove(attach.Device);
        Context.Watch(attach.Session);
        attach.Session.Tell(new MailboxPushes.Attached(_owner, attach.Device, acked));
        PresenceMayHaveChanged(wasOnline);
        Pump(attach.Device);
    }

    /// <summary>
    /// Whether <paramref name="attach"/> comes from a later connection of the device than <paramref name="holder"/>'s: by
    /// login time when both have one, else a first attach is taken as newer (it was sent at login) and a repeat is not
    /// known to be (null).
    /// </summary>
    private static bool? Newer(Attach attach, Attachment holder)
    {
        if (attach.LoggedInAt > 0 && holder.LoggedInAt > 0 && attach.LoggedInAt != holder.LoggedInAt)
            return attach.LoggedInAt > holder.LoggedInAt;
        return attach.Repeat ? null : true;
    }

    private void OnAck(DeviceId device, long upToSeq, IActorRef replyTo)
    {
        var known = KnownCursor(device);
        // PROTOCOL.md §8.4: an ack above what was pushed to the device counts as the highest seq pushed, never as an
        // ack of entries the device has not seen (a client acking ahead would otherwise drop them unseen).
        if (_sessions.TryGetValue(device, out var pushedTo))
            upToSeq = Math.Min(upToSeq, Math.Max(pushedTo.Window.SentUpTo, known));
        var (reply, events) = State.DecideAck(device, Math.Max(upToSeq, 0));
        var target = ((MailboxReplies.Acked)reply).AckedSeq;
        if (events.Count > 0 && target > known)
        {
            _unpersistedAcks[device] = target;
            WriteAcks();
        }
        if (_sessions.TryGetValue(device, out var a))
        {
            a.Window.Acked(target);
            Pump(device);
        }
        if (!replyTo.IsNobody())
            replyTo.Tell(new MailboxReplies.Acked(device, Math.Max(target, known)));
    }

    /// <summary>The device's cursor including acks not yet written.</summary>
    private long KnownCursor(DeviceId device) =>
        Math.Max(State.Cursors.GetValueOrDefault(device), _unpersistedAcks.GetValueOrDefault(device));

    /// <summary>How long a completed receipt hand-over may wait for an ack write to be recorded with.</summary>
    public static readonly TimeSpan HandOverRecordDelay = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Writes the acks gathered so far, with the hand-overs completed meanwhile, as one event; unless a write is
    /// in flight (its completion writes the rest). Hand-overs alone are written only when <paramref name="handOvers"/>.
    /// </summary>
    private void WriteAcks(bool handOvers = false)
    {
        if (_ackWriteInFlight || (_unpersistedAcks.Count == 0 && !(handOvers && _handedOver.Count > 0)))
            return;
        var recorded = new MailboxEvents.AcksRecorded(
            [.. _unpersistedAcks.Select(kv => new MailboxEvents.DeviceAcked(kv.Key, kv.Value))],
            [.. _handedOver.Select(h => new MailboxEvents.ReceiptsHandedOver(h.Key.Sender, [.. h.Value], h.Key.Group))]);
        _unpersistedAcks.Clear();
        _handedOver.Clear();
        Timers.Cancel(RecordHandOvers.Instance);
        _ackWriteInFlight = true;
        PersistAsync(recorded, e =>
        {
            ApplyPersisted(e);
            _ackWriteInFlight = false;
            HandOverReceipts();
            WriteAcks(handOvers);
        });
    }

    /// <summary>Pushes what the device's window allows (<see cref="DeliveryWindow"/>), then QueueEmpty once the backlog is out.</summary>
    private void Pump(DeviceId device)
    {
        var a = _sessions[device];
        var (push, queueEmpty) = a.Window.Next(State, device, _durableSeq);
        foreach (var entry in push)
            a.Session.Tell(new MailboxPushes.Deliver(_owner, device, entry));
        if (push.Count > 0 && a.Watched == 0 && _peers.Push.Enabled)
            WatchSilence(device, a, push[0].Seq);
        if (queueEmpty is { } lastPushed)
            a.Session.Tell(new MailboxPushes.QueueEmpty(_owner, device, lastPushed)); // §8.4: 0 when the backlog was empty
    }

    private void Remove(DeviceId device)
    {
        var wasOnline = Online;
        if (_sessions.Remove(device, out var a))
        {
            Context.Unwatch(a.Session);
            // Entries stored while the device was attached were not offered as pushes: if the connection went before
            // the device acknowledged them, it is woken for them now.
            OfferPushForUnacked(device, KnownCursor(device));
        }
        PresenceMayHaveChanged(wasOnline);
        WriteAcks();
    }

    /// <summary>Online while any attached device is available (not in the background).</summary>
    private bool Online => _sessions.Values.Any(s => s.Available);

    private void PresenceMayHaveChanged(bool wasOnline)
    {
        var online = Online;
        if (online == wasOnline)
            return;
        if (online)
        {
            PublishPresence(online: true, lastSeen: null);
            return;
        }
        // Last seen is persisted once, when the user goes offline (never per heartbeat).
        var now = Now;
        _peers.Accounts.Tell(new Domain.Accounts.AccountCommands.RecordLastSeen(_owner, now));
        PublishPresence(online: false, lastSeen: now);
    }

    private void PublishPresence(bool online, DateTimeOffset? lastSeen)
    {
        _peers.PresenceBus.Tell(new Publish(PresenceTopics.Presence(_owner), new PresenceChanged(_owner, online, lastSeen)));
    }

    /// <summary>Stores each owed delivered receipt in its sender's mailbox; one batch per sender at a time.</summary>
    private void HandOverReceipts()
    {
        if (State.OwedReceipts.IsEmpty)
            return;
        var region = _peers.Mailboxes;
        foreach (var (key, owed) in State.OwedReceipts)
        {
            var recorded = _handedOver.GetValueOrDefault(key);
            var ids = owed.Where(id => recorded is null || !recorded.Contains(id)).Take(256).ToImmutableArray();
            if (ids.IsEmpty || !_handingOver.Add(key))
                continue;
            var receipt = new EnqueueReceipt(key.Sender, MailboxState.ReceiptIdFor(_owner, ReceiptType.Delivered, ids), _owner, new DeviceId(0),
                ReceiptType.Delivered, ids, SyncTo: null, Group: key.Group);
            region.Ask<IMailboxReply>(receipt, TimeSpan.FromSeconds(10))
                .ContinueWith(t => new HandOverDone(key, ids, t.IsCompletedSuccessfully && t.Result is MailboxReplies.Enqueued),
                    TaskScheduler.Default)
                .PipeTo(Self);
        }
    }

    private void OnHandOverDone(HandOverDone done)
    {
        _handingOver.Remove(done.Key);
        if (!done.Ok)
        {
            // The sender's mailbox did not answer: try again shortly; the receipt id makes a resend idempotent.
            Timers.StartSingleTimer("handover-retry", HandOverTick.Instance, TimeSpan.FromSeconds(2));
            return;
        }
        // Recorded with the next ack write, or on their own after a while. Until then the ids stay owed: after a
        // crash they are offered again, and the sender's mailbox stores them once (or clients apply them twice).
        (_handedOver.TryGetValue(done.Key, out var ids) ? ids : _handedOver[done.Key] = []).AddRange(done.MessageIds);
        if (!Timers.IsTimerActive(RecordHandOvers.Instance))
            Timers.StartSingleTimer(RecordHandOvers.Instance, RecordHandOvers.Instance, HandOverRecordDelay);
    }

    private sealed class RecordHandOvers : INoSerializationVerificationNeeded
    {
        public static readonly RecordHandOvers Instance = new();
    }

    private sealed class HandOverTick : INoSerializationVerificationNeeded
    {
        public static readonly HandOverTick Instance = new();
    }
}
