using Akka.WhatsApp.Domain.Mailbox;
using Google.Protobuf;
using Proto = Akka.WhatsApp.Cluster.Storage.Mailbox;
using SerializationException = System.Runtime.Serialization.SerializationException;
using static Akka.WhatsApp.Cluster.Serialization.StorageMapping;

namespace Akka.WhatsApp.Cluster.Mailbox;

/// <summary>Protobuf serializer for everything the Mailbox persists or sends across nodes.</summary>
public sealed class MailboxSerializer : ProtobufSerializer
{
    public const int Id = 110;

    private readonly ExtendedActorSystem _system;

    public override int Identifier => Id;

    public MailboxSerializer(ExtendedActorSystem system) : base(system)
    {
        _system = system;

        // events — manifests are stored with every event: never change them
        Map<MailboxEvents.MessageEnqueued, Proto.MessageEnqueued>("ME",
            e => new Proto.MessageEnqueued { Message = ToProto(e.Message) }, p => new MailboxEvents.MessageEnqueued(FromProto(p.Message)));
        Map<MailboxEvents.ReceiptEnqueued, Proto.ReceiptEnqueued>("RE",
            e => new Proto.ReceiptEnqueued { Receipt = ToProto(e.Receipt) }, p => new MailboxEvents.ReceiptEnqueued(FromProto(p.Receipt)));
        Map<MailboxEvents.DeviceAcked, Proto.DeviceAcked>("DA",
            e => new Proto.DeviceAcked { DeviceId = e.Device.Value, UpToSeq = e.UpToSeq },
            p => new MailboxEvents.DeviceAcked(new DeviceId(p.DeviceId), p.UpToSeq));
        Map<MailboxEvents.DeviceDropped, Proto.DeviceDropped>("DD",
            e => new Proto.DeviceDropped { DeviceId = e.Device.Value }, p => new MailboxEvents.DeviceDropped(new DeviceId(p.DeviceId)));
        Map<MailboxEvents.ReceiptsHandedOver, Proto.ReceiptsHandedOver>("RH",
            e => new Proto.ReceiptsHandedOver { Sender = e.Sender.Value, MessageIds = { e.MessageIds.Select(Bytes) }, GroupId = e.Group?.Value ?? "" },
            p => new MailboxEvents.ReceiptsHandedOver(new UserId(p.Sender), Ids(p.MessageIds), GroupOrNull(p.GroupId)));
        Map<MailboxEvents.AcksRecorded, Proto.AcksRecorded>("AR",
            e => new Proto.AcksRecorded
            {
                Acks = { e.Acks.Select(a => new Proto.DeviceAcked { DeviceId = a.Device.Value, UpToSeq = a.UpToSeq }) },
                HandedOver = { e.HandedOver.Select(h => new Proto.ReceiptsHandedOver { Sender = h.Sender.Value, MessageIds = { h.MessageIds.Select(Bytes) }, GroupId = h.Group?.Value ?? "" }) },
            },
            p => new MailboxEvents.AcksRecorded(
                [.. p.Acks.Select(a => new MailboxEvents.DeviceAcked(new DeviceId(a.DeviceId), a.UpToSeq))],
                [.. p.HandedOver.Select(h => new MailboxEvents.ReceiptsHandedOver(new UserId(h.Sender), Ids(h.MessageIds), GroupOrNull(h.GroupId)))]));
        Map<MailboxEvents.DeviceAdded, Proto.DeviceAdded>("DV",
            e => new Proto.DeviceAdded { DeviceId = e.Device.Value, AfterSeq = e.AfterSeq },
            p => new MailboxEvents.DeviceAdded(new DeviceId(p.DeviceId), p.AfterSeq));
        Map<MailboxEvents.GroupMembershipChanged, Proto.GroupMembershipChanged>("GM",
            e => new Proto.GroupMembershipChanged { GroupId = e.Group.Value, Member = e.Member },
            p => new MailboxEvents.GroupMembershipChanged(new GroupId(p.GroupId), p.Member));

        // snapshot: the whole state, so that recovery reads one snapshot and few events
        Map<MailboxState, Proto.MailboxSnapshot>("SN", ToProto, FromProto);

        // commands
        Map<MailboxCommands.Enqueue, Proto.Enqueue>("E", ToProto, FromProto);
        Map<MailboxCommands.EnqueueBatch, Proto.EnqueueBatch>("EB",
            c => new Proto.EnqueueBatch { Owner = c.Owner.Value, Items = { c.Items.Select(ToProto) } },
            p => new MailboxCommands.EnqueueBatch(new UserId(p.Owner), [.. p.Items.Select(FromProto)]));
        Map<MailboxCommands.ListGroups, Proto.ListGroups>("LG",
            c => new Proto.ListGroups { Owner = c.Owner.Value }, p => new MailboxCommands.ListGroups(new UserId(p.Owner)));
        Map<MailboxCommands.GetPeers, Proto.GetPeers>("PG",
            c => new Proto.GetPeers { Owner = c.Owner.Value, Max = c.Max }, p => new MailboxCommands.GetPeers(new UserId(p.Owner), p.Max));
        Map<MailboxCommands.GetGroupReceipts, Proto.GetGroupReceipts>("GR",
            c => new Proto.GetGroupReceipts { Owner = c.Owner.Value, MessageId = Bytes(c.MessageId) },
            p => new MailboxCommands.GetGroupReceipts(new UserId(p.Owner), IdOf(p.MessageId)));
        Map<MailboxCommands.EnqueueReceipt, Proto.EnqueueReceipt>("ER",
            c => new Proto.EnqueueReceipt
            {
                Owner = c.Owner.Value, ReceiptId = Bytes(c.ReceiptId), FromUser = c.From.Value, FromDevice = c.FromDevice.Value,
                Type = (int)c.Type, MessageIds = { c.MessageIds.Select(Bytes) }, SyncTo = c.SyncTo?.Value ?? "", GroupId = c.Group?.Value ?? "",
            },
            p => new MailboxCommands.EnqueueReceipt(new UserId(p.Owner), IdOf(p.ReceiptId), new UserId(p.FromUser), new DeviceId(p.FromDevice),
                (ReceiptType)p.Type, Ids(p.MessageIds), UserOrNull(p.SyncTo), GroupOrNull(p.GroupId)));
        Map<MailboxCommands.Ack, Proto.Ack>("A",
            c => new Proto.Ack { Owner = c.Owner.Value, DeviceId = c.Device.Value, UpToSeq = c.UpToSeq },
            p => new MailboxCommands.Ack(new UserId(p.Owner), new DeviceId(p.DeviceId), p.UpToSeq));
        Map<MailboxCommands.Attach, Proto.Attach>("AT",
            c => new Proto.Attach { Owner = c.Owner.Value, DeviceId = c.Device.Value, AckedUpTo = c.AckedUpTo, Session = PathOf(c.Session), Window = c.Window, Repeat = c.Repeat, LoggedInAtTicks = c.LoggedInAt },
            p => new MailboxCommands.Attach(new UserId(p.Owner), new DeviceId(p.DeviceId), p.AckedUpTo, RefOf(p.Session), p.Window, p.Repeat, p.LoggedInAtTicks));
        Map<MailboxCommands.Detach, Proto.Detach>("DT",
            c => new Proto.Detach { Owner = c.Owner.Value, DeviceId = c.Device.Value, Session = PathOf(c.Session) },
            p => new MailboxCommands.Detach(new UserId(p.Owner), new DeviceId(p.DeviceId), RefOf(p.Session)));
        Map<MailboxCommands.DropDevice, Proto.DropDevice>("DR",
            c => new Proto.DropDevice { Owner = c.Owner.Value, DeviceId = c.Device.Value },
            p => new MailboxCommands.DropDevice(new UserId(p.Owner), new DeviceId(p.DeviceId)));

        // replies
        Map<MailboxReplies.Enqueued, Proto.Enqueued>("ED",
            r => new Proto.Enqueued { MessageId = Bytes(r.MessageId), Seq = r.Seq, ServerTimestampMs = Ms(r.ServerTimestamp), Duplicate = r.Duplicate },
            p => new MailboxReplies.Enqueued(IdOf(p.MessageId), p.Seq, At(p.ServerTimestampMs), p.Duplicate));
        Map<MailboxReplies.Acked, Proto.Acked>("AD",
            r => new Proto.Acked { DeviceId = r.Device.Value, AckedSeq = r.AckedSeq },
            p => new MailboxReplies.Acked(new DeviceId(p.DeviceId), p.AckedSeq));
        Map<MailboxReplies.Rejected, Proto.Rejected>("R",
            r => new Proto.Rejected { Error = (int)r.Error, Reason = r.Reason },
            p => new MailboxReplies.Rejected((MailboxError)p.Error, p.Reason));
        Map<MailboxReplies.BatchEnqueued, Proto.BatchEnqueued>("BE",
            r => new Proto.BatchEnqueued { Stored = r.Stored, Duplicates = r.Duplicates, Rejected = r.Rejected },
            p => new MailboxReplies.BatchEnqueued(p.Stored, p.Duplicates, p.Rejected));
        Map<MailboxReplies.GroupsAre, Proto.GroupsAre>("GA",
            r => new Proto.GroupsAre { Groups = { r.Groups.Select(g => g.Value) } },
            p => new MailboxReplies.GroupsAre([.. p.Groups.Select(g => new GroupId(g))]));
        Map<MailboxReplies.PeersAre, Proto.PeersAre>("PS",
            r => new Proto.PeersAre { Users = { r.Users.Select(u => u.Value) } },
            p => new MailboxReplies.PeersAre([.. p.Users.Select(u => new UserId(u))]));
        Map<MailboxReplies.GroupReceiptsAre, Proto.GroupReceiptsAre>("GX",
            r => new Proto.GroupReceiptsAre { Members = { r.Members.Select(ToProto) } },
            p => new MailboxReplies.GroupReceiptsAre([.. p.Members.Select(FromProto)]));

        // pushes
        Map<MailboxPushes.Deliver, Proto.DeliverPush>("PD",
            d => d.Entry switch
            {
                StoredMessage m => new Proto.DeliverPush { Owner = d.Owner.Value, DeviceId = d.Device.Value, Message = ToProto(m) },
                StoredReceipt r => new Proto.DeliverPush { Owner = d.Owner.Value, DeviceId = d.Device.Value, Receipt = ToProto(r) },
                _ => throw new SerializationException($"unknown mailbox entry {d.Entry.GetType().Name}"),
            },
            p => new MailboxPushes.Deliver(new UserId(p.Owner), new DeviceId(p.DeviceId),
                p.EntryCase == Proto.DeliverPush.EntryOneofCase.Message ? FromProto(p.Message) : FromProto(p.Receipt)));
        Map<MailboxPushes.QueueEmpty, Proto.QueueEmptyPush>("PQ",
            q => new Proto.QueueEmptyPush { Owner = q.Owner.Value, DeviceId = q.Device.Value, LastSeq = q.LastSeq },
            p => new MailboxPushes.QueueEmpty(new UserId(p.Owner), new DeviceId(p.DeviceId), p.LastSeq));
        Map<MailboxPushes.Attached, Proto.AttachedPush>("PA",
            a => new Proto.AttachedPush { Owner = a.Owner.Value, DeviceId = a.Device.Value, AckedSeq = a.AckedSeq },
            p => new MailboxPushes.Attached(new UserId(p.Owner), new DeviceId(p.DeviceId), p.AckedSeq));
        Map<MailboxCommands.Throttle, Proto.Throttle>("TH",
            c => new Proto.Throttle { Owner = c.Owner.Value, DeviceId = c.Device.Value, Session = PathOf(c.Session), Paused = c.Paused },
            p => new MailboxCommands.Throttle(new UserId(p.Owner), new DeviceId(p.DeviceId), RefOf(p.Session), p.Paused));
        Map<MailboxCommands.SetAvailable, Proto.SetAvailable>("AV",
            c => new Proto.SetAvailable { Owner = c.Owner.Value, DeviceId = c.Device.Value, Session = PathOf(c.Session), Available = c.Available },
            p => new MailboxCommands.SetAvailable(new UserId(p.Owner), new DeviceId(p.DeviceId), RefOf(p.Session), p.Available));
        Map<MailboxCommands.CheckReceived, Proto.CheckReceived>("CR",
            c => new Proto.CheckReceived { Owner = c.Owner.Value, FromUser = c.From.Value, MessageIds = { c.MessageIds.Select(Bytes) } },
            p => new MailboxCommands.CheckReceived(new UserId(p.Owner), new UserId(p.FromUser), Ids(p.MessageIds)));
        Map<MailboxReplies.Received, Proto.Received>("RC",
            r => new Proto.Received { MessageIds = { r.MessageIds.Select(Bytes) } }, p => new MailboxReplies.Received(Ids(p.MessageIds)));
        Map<MailboxCommands.GetAccepted, Proto.GetAccepted>("AC",
            c => new Proto.GetAccepted { Owner = c.Owner.Value, FromUser = c.From.Value, MessageId = Bytes(c.MessageId) },
            p => new MailboxCommands.GetAccepted(new UserId(p.Owner), new UserId(p.FromUser), IdOf(p.MessageId)));
        Map<MailboxCommands.GetPresence, Proto.GetPresence>("GP",
            c => new Proto.GetPresence { Owner = c.Owner.Value }, p => new MailboxCommands.GetPresence(new UserId(p.Owner)));
        Map<MailboxReplies.PresenceIs, Proto.PresenceIs>("PI",
            r => new Proto.PresenceIs { Online = r.Online, Devices = { r.Devices } }, p => new MailboxReplies.PresenceIs(p.Online, [.. p.Devices]));
        Map<MailboxPushes.Removed, Proto.RemovedPush>("PX",
            r => new Proto.RemovedPush { Owner = r.Owner.Value, DeviceId = r.Device.Value },
            p => new MailboxPushes.Removed(new UserId(p.Owner), new DeviceId(p.DeviceId)));
        Map<MailboxPushes.Replaced, Proto.ReplacedPush>("PR",
            r => new Proto.ReplacedPush { Owner = r.Owner.Value, DeviceId = r.Device.Value },
            p => new MailboxPushes.Replaced(new UserId(p.Owner), new DeviceId(p.DeviceId)));
    }

    private static Proto.MailboxSnapshot ToProto(MailboxState s)
    {
        var p = new Proto.MailboxSnapshot { LastSeq = s.LastSeq };
        p.Pending.AddRange(s.Pending.Select(e => e switch
        {
            StoredMessage m => new Proto.PendingEntry { Message = ToProto(m) },
            StoredReceipt r => new Proto.PendingEntry { Receipt = ToProto(r) },
            _ => throw new SerializationException($"unknown mailbox entry {e.GetType().Name}"),
        }));
        p.Cursors.AddRange(s.Cursors.OrderBy(c => c.Key.Value).Select(c => new Proto.CursorEntry { DeviceId = c.Key.Value, AckedSeq = c.Value }));
        p.Recent.AddRange(s.RecentOrder.Select(id => (id, r: s.Recent[id])).Select(x => new Proto.RecentEntry
        {
            MessageId = Bytes(x.id), FromUser = x.r.From.Value, Seq = x.r.Seq, AtMs = Ms(x.r.At), Peer = x.r.Peer?.Value ?? "",
        }));
        p.OwedReceipts.AddRange(s.OwedReceipts.OrderBy(o => o.Key.Sender.Value, StringComparer.Ordinal).ThenBy(o => o.Key.Group?.Value, StringComparer.Ordinal)
            .Select(o => new Proto.OwedEntry { Sender = o.Key.Sender.Value, MessageIds = { o.Value.Select(Bytes) }, GroupId = o.Key.Group?.Value ?? "" }));
        p.DeliveredSeqs.AddRange(s.DeliveredSeqs.Order());
        p.Groups.AddRange(s.Groups.Select(g => g.Value).Order(StringComparer.Ordinal));
        p.RecentReceipts.AddRange(s.RecentReceiptOrder.Select(Bytes));
        p.GroupReceipts.AddRange(s.GroupReceiptOrder.Select(id => new Proto.GroupReceiptEntry
        {
            MessageId = Bytes(id), Members = { s.GroupReceiptsFor(id).Select(ToProto) },
        }));
        return p;
    }

    private static MailboxState FromProto(Proto.MailboxSnapshot p)
    {
        var recent = p.Recent.Select(r => (Id: IdOf(r.MessageId), Entry: new RecentMessage(new UserId(r.FromUser), r.Seq, At(r.AtMs),
            r.Peer.Length > 0 ? new UserId(r.Peer) : null))).ToList();
        return MailboxState.Empty with
        {
            LastSeq = p.LastSeq,
            Pending = p.Pending.Select(e => e.EntryCase == Proto.PendingEntry.EntryOneofCase.Message
                ? (MailboxEntry)FromProto(e.Message)
                : FromProto(e.Receipt)).ToImmutableList(),
            Cursors = p.Cursors.ToImmutableDictionary(c => new DeviceId(c.DeviceId), c => c.AckedSeq),
            Recent = recent.ToImmutableDictionary(r => r.Id, r => r.Entry),
            RecentOrder = ImmutableQueue.CreateRange(recent.Select(r => r.Id)),
            OwedReceipts = p.OwedReceipts.ToImmutableDictionary(o => new ReceiptKey(new UserId(o.Sender), GroupOrNull(o.GroupId)),
                o => o.MessageIds.Select(IdOf).ToImmutableList()),
            DeliveredSeqs = p.DeliveredSeqs.ToImmutableHashSet(),
            Groups = p.Groups.Select(g => new GroupId(g)).ToImmutableHashSet(),
            GroupReceipts = p.GroupReceipts.ToImmutableDictionary(g => IdOf(g.MessageId),
                g => g.Members.Select(FromProto).ToImmutableDictionary(m => m.User)),
            GroupReceiptOrder = ImmutableQueue.CreateRange(p.GroupReceipts.Select(g => IdOf(g.MessageId))),
            GroupReceiptCount = p.GroupReceipts.Sum(g => g.Members.Count),
            RecentReceipts = p.RecentReceipts.Select(IdOf).ToImmutableHashSet(),
            RecentReceiptOrder = ImmutableQueue.CreateRange(p.RecentReceipts.Select(IdOf)),
        };
    }

    private string PathOf(IActorRef actor) => Akka.Serialization.Serialization.SerializedActorPath(actor);

    private IActorRef RefOf(string path) => _system.Provider.ResolveActorRef(path);

    private static Proto.StoredMessage ToProto(StoredMessage m) => new()
    {
        Seq = m.Seq,
        MessageId = Bytes(m.MessageId),
        FromUser = m.From.Value,
        FromDevice = m.FromDevice.Value,
        ServerTimestampMs = Ms(m.ServerTimestamp),
        Ciphertexts = { CiphertextsToProto(m.Ciphertexts) },
        Meta = MetaToProto(m.Meta),
        ExceptDevice = m.ExceptDevice,
    };

    private static StoredMessage FromProto(Proto.StoredMessage p) => new(
        p.Seq, IdOf(p.MessageId), new UserId(p.FromUser), new DeviceId(p.FromDevice), At(p.ServerTimestampMs), MetaFromProto(p.Meta), CiphertextsFromProto(p.Ciphertexts),
        p.ExceptDevice);

    private static Proto.Enqueue ToProto(MailboxCommands.Enqueue c) => new()
    {
        Owner = c.Owner.Value, MessageId = Bytes(c.MessageId), FromUser = c.From.Value, FromDevice = c.FromDevice.Value,
        Ciphertexts = { CiphertextsToProto(c.Ciphertexts) }, Meta = MetaToProto(c.Meta), ExceptDevice = c.ExceptDevice, Resend = c.Resend,
        AtMs = c.At is { } at ? Ms(at) : 0,
    };

    private static MailboxCommands.Enqueue FromProto(Proto.Enqueue p) => new(
        new UserId(p.Owner), IdOf(p.MessageId), new UserId(p.FromUser), new DeviceId(p.FromDevice), MetaFromProto(p.Meta), CiphertextsFromProto(p.Ciphertexts),
        p.ExceptDevice, p.Resend, p.AtMs == 0 ? null : At(p.AtMs));

    private static Proto.MemberReceipt ToProto(MemberReceipt m) => new()
    {
        UserId = m.User.Value, DeliveredMs = m.Delivered is { } d ? Ms(d) : 0, ReadMs = m.Read is { } r ? Ms(r) : 0, PlayedMs = m.Played is { } p ? Ms(p) : 0,
    };

    private static MemberReceipt FromProto(Proto.MemberReceipt p) => new(
        new UserId(p.UserId), p.DeliveredMs == 0 ? null : At(p.DeliveredMs), p.ReadMs == 0 ? null : At(p.ReadMs), p.PlayedMs == 0 ? null : At(p.PlayedMs));

    private static Proto.StoredReceipt ToProto(StoredReceipt r) => new()
    {
        Seq = r.Seq,
        ReceiptId = Bytes(r.ReceiptId),
        FromUser = r.From.Value,
        FromDevice = r.FromDevice.Value,
        ServerTimestampMs = Ms(r.ServerTimestamp),
        Type = (int)r.Type,
        MessageIds = { r.MessageIds.Select(Bytes) },
        SyncTo = r.SyncTo?.Value ?? "",
        GroupId = r.Group?.Value ?? "",
    };

    private static StoredReceipt FromProto(Proto.StoredReceipt p) => new(
        p.Seq, IdOf(p.ReceiptId), new UserId(p.FromUser), new DeviceId(p.FromDevice), At(p.ServerTimestampMs), (ReceiptType)p.Type,
        Ids(p.MessageIds), UserOrNull(p.SyncTo), GroupOrNull(p.GroupId));
}
