using System.Collections.Immutable;
using Akka.Actor;

namespace Akka.WhatsApp.Domain.Mailbox;

/// <summary>Marker for every message addressed to a user's Mailbox entity (the shard key is the owner).</summary>
public interface IMailboxCommand
{
    UserId Owner { get; }
}

/// <summary>Marker for the events a Mailbox persists.</summary>
public interface IMailboxEvent;

/// <summary>Marker for the replies a Mailbox sends back (they may cross nodes).</summary>
public interface IMailboxReply;

/// <summary>Marker for what a Mailbox pushes to an attached device session (it may cross nodes).</summary>
public interface IMailboxPush;

/// <summary>The ciphertext of one message for one device: opaque bytes and the Signal message type.</summary>
public sealed record DeviceCiphertext(byte[] Bytes, int Type);

/// <summary>
/// What the server knows about a message in the clear (never its content): the fields a client needs
/// next to the ciphertext, and those the server checks (kind, target of an edit or deletion).
/// </summary>
public sealed record MessageMeta(
    int Kind,
    MessageId? ReplyTo = null,
    uint ForwardCount = 0,
    ImmutableArray<string> Mentions = default,
    MessageId? Target = null,
    long ClientTimestamp = 0,
    bool Silent = false,
    UserId? SyncTo = null,
    GroupId? Group = null,
    long GroupSeq = 0,
    Akka.WhatsApp.Domain.Groups.GroupChange? GroupEvent = null,
    DeviceListChange? DeviceList = null,
    IdentityKeyChange? IdentityKey = null,
    Calls.MissedCall? MissedCall = null,
    Scheduling.ScheduledUpdate? Scheduled = null,
    DateTimeOffset? ScheduledFor = null,
    Sync.HistorySyncRequest? HistorySync = null)
{
    public ImmutableArray<string> Mentions { get; init; } = Mentions.IsDefault ? [] : Mentions;
}

/// <summary>The SYSTEM event identity_key_changed (PROTOCOL.md §13): a device of the sender has a new identity key.</summary>
public sealed record IdentityKeyChange(uint Device, byte[] Key);

/// <summary>The SYSTEM event device_list_changed (PROTOCOL.md §6): the owner's devices now, and what changed.</summary>
public sealed record DeviceListChange(ImmutableArray<uint> Current, ImmutableArray<uint> Added, ImmutableArray<uint> Removed);

/// <summary>The kinds the server treats specially (values of the wire ContentKind).</summary>
public static class ContentKinds
{
    public const int PollVote = 13;
    public const int System = 14;
    public const int Reaction = 15;
    public const int Edit = 16;
    public const int DeleteForEveryone = 17;
    public const int RetryRequest = 19;

    /// <summary>The kinds that are about an earlier message and must name it (target_message_id).</summary>
    public static bool NeedsTarget(int kind) => kind is PollVote or Reaction or Edit or DeleteForEveryone or RetryRequest;
}

/// <summary>Receipt types (values of the wire ReceiptType).</summary>
public enum ReceiptType
{
    Delivered = 1,
    Read = 2,
    Played = 3,
}

/// <summary>One entry of a mailbox, in seq order; kept until every device it is for has acked it.</summary>
public abstract record MailboxEntry(long Seq, DateTimeOffset ServerTimestamp)
{
    /// <summary>Whether <paramref name="device"/> should receive this entry.</summary>
    public abstract bool IsFor(DeviceId device);
}

/// <summary>A message waiting for the owner's devices: ciphertext per device, never plaintext.</summary>
public sealed record StoredMessage(
    long Seq,
    MessageId MessageId,
    UserId From,
    DeviceId FromDevice,
    DateTimeOffset ServerTimestamp,
    MessageMeta Meta,
    ImmutableSortedDictionary<uint, DeviceCiphertext> Ciphertexts,
    uint ExceptDevice = 0) : MailboxEntry(Seq, ServerTimestamp)
{
    /// <summary>
    /// The key of a ciphertext for every device of the owner (group sender-key messages and group events):
    /// the group does not know its members' devices; each mailbox does. <see cref="ExceptDevice"/> is then the
    /// device that sent it, on the copy in the sender's own mailbox.
    /// </summary>
    public const uint AllDevices = 0;

    public override bool IsFor(DeviceId device) =>
        Ciphertexts.ContainsKey(device.Value) || (device.Value != ExceptDevice && Ciphertexts.ContainsKey(AllDevices));

    public DeviceCiphertext CiphertextFor(DeviceId device) =>
        Ciphertexts.TryGetValue(device.Value, out var own) ? own : Ciphertexts[AllDevices];

    /// <summary>The copy of a group message in its sender's own mailbox (for the sender's other devices).</summary>
    public bool IsOwnCopy => ExceptDevice != 0 || Meta.SyncTo is not null;
}

/// <summary>A receipt for messages the owner sent (or, with <see cref="SyncTo"/>, one the owner's other device sent).</summary>
public sealed record StoredReceipt(
    long Seq,
    MessageId ReceiptId,
    UserId From,
    DeviceId FromDevice,
    DateTimeOffset ServerTimestamp,
    ReceiptType Type,
    ImmutableArray<MessageId> MessageIds,
    UserId? SyncTo,
    GroupId? Group) : MailboxEntry(Seq, ServerTimestamp)
{
    /// <summary>For every device but the one that sent a synced receipt.</summary>
    public override bool IsFor(DeviceId device) => SyncTo is null || device != FromDevice;
}

/// <summary>When a group member's devices got, read and played one group message (null: not yet).</summary>
public sealed record MemberReceipt(UserId User, DateTimeOffset? Delivered, DateTimeOffset? Read, DateTimeOffset? Played);

/// <summary>The sender and group a delivered receipt is owed to.</summary>
public readonly record struct ReceiptKey(UserId Sender, GroupId? Group);

/// <summary>Commands a Mailbox accepts.</summary>
public static class MailboxCommands
{
    /// <summary>
    /// Store a message for the owner's devices; idempotent by <paramref name="MessageId"/>. With <paramref name="Resend"/>
    /// it is a new copy of a message this mailbox accepted from the same sender, for the devices it names only (PROTOCOL.md
    /// §8.4): stored again under its original time, refused NOT_FOUND when the message is not known.
    /// <paramref name="At"/> is the message's time when another entity accepted it first (a group's post): members see
    /// the time the sender was answered, not when their mailbox got it.
    /// </summary>
    public sealed record Enqueue(
        UserId Owner,
        MessageId MessageId,
        UserId From,
        DeviceId FromDevice,
        MessageMeta Meta,
        ImmutableSortedDictionary<uint, DeviceCiphertext> Ciphertexts,
        uint ExceptDevice = 0,
        bool Resend = false,
        DateTimeOffset? At = null) : IMailboxCommand;

    /// <summary>The original result of a message this mailbox accepted from <paramref name="From"/> (Enqueued, duplicate), or NOT_FOUND.</summary>
    public sealed record GetAccepted(UserId Owner, UserId From, MessageId MessageId) : IMailboxCommand;

    /// <summary>Store several messages in order with one write (a group's fan-out); each is idempotent by its id.</summary>
    public sealed record EnqueueBatch(UserId Owner, ImmutableArray<Enqueue> Items) : IMailboxCommand;

    /// <summary>The groups the owner is a member of, as the group events in this mailbox tell.</summary>
    public sealed record ListGroups(UserId Owner) : IMailboxCommand;

    /// <summary>The users the owner exchanged 1:1 messages with lately, newest first, at most <paramref name="Max"/> (a read).</summary>
    public sealed record GetPeers(UserId Owner, int Max) : IMailboxCommand;

    /// <summary>The receipts the owner got from group members for one of its group messages.</summary>
    public sealed record GetGroupReceipts(UserId Owner, MessageId MessageId) : IMailboxCommand;

    /// <summary>Store a receipt for the owner; idempotent by <paramref name="ReceiptId"/>.</summary>
    public sealed record EnqueueReceipt(
        UserId Owner,
        MessageId ReceiptId,
        UserId From,
        DeviceId FromDevice,
        ReceiptType Type,
        ImmutableArray<MessageId> MessageIds,
        UserId? SyncTo,
        GroupId? Group) : IMailboxCommand;

    /// <summary>A device acknowledges everything up to and including <paramref name="UpToSeq"/>.</summary>
    public sealed record Ack(UserId Owner, DeviceId Device, long UpToSeq) : IMailboxCommand;

    /// <summary>
    /// A device session attaches: the mailbox pushes what that device has not acked (after
    /// <paramref name="AckedUpTo"/>, itself an ack), then <see cref="MailboxPushes.QueueEmpty"/>, then live entries.
    /// A newer session of the same device replaces the older one.
    /// </summary>
    /// <remarks>
    /// <para>
    /// <paramref name="LoggedInAt"/> (UTC ticks on the edge's clock; 0 from a node that does not send it) decides which
    /// session is newer. Arrival order does not: an Attach can wait in a shard region for many seconds while the
    /// mailbox's node is being downed, and arrive after the Attach of a later connection of the same device (the
    /// device gave up on the first node and logged in on another). Taken as the newer one, it replaced the live
    /// session (DEVICE_REPLACED, which ends the client) and then detached, leaving the device with no session at all
    /// (the kill -9 test lost the last message of a conversation so). Nodes' clocks must agree to better than the
    /// time between two logins of one device (seconds), as for ejabberd's session ids.
    /// </para>
    /// <para>
    /// <paramref name="Repeat"/>: the session sends it again because the first got no answer (it may have been lost
    /// on the way to a dead node). Without login times to compare, a repeat never takes the device from another
    /// session, which may be a newer connection of the same device; it only attaches a device that has no session,
    /// or its own session again.
    /// </para>
    /// </remarks>
    public sealed record Attach(UserId Owner, DeviceId Device, long AckedUpTo, IActorRef Session, int Window, bool Repeat = false, long LoggedInAt = 0)
        : IMailboxCommand;

    /// <summary>The session closed.</summary>
    public sealed record Detach(UserId Owner, DeviceId Device, IActorRef Session) : IMailboxCommand;

    /// <summary>
    /// The session's connection stopped (or resumed) accepting writes: its outbound buffer passed the high
    /// water mark. While paused the mailbox pushes nothing more to that device.
    /// </summary>
    public sealed record Throttle(UserId Owner, DeviceId Device, IActorRef Session, bool Paused) : IMailboxCommand;

    /// <summary>The device's app went to the background (false) or came back (true): a user is online while any device is available.</summary>
    public sealed record SetAvailable(UserId Owner, DeviceId Device, IActorRef Session, bool Available) : IMailboxCommand;

    /// <summary>Which of <paramref name="MessageIds"/> this mailbox received from <paramref name="From"/> (recent window).</summary>
    public sealed record CheckReceived(UserId Owner, UserId From, ImmutableArray<MessageId> MessageIds) : IMailboxCommand;

    /// <summary>Whether any device of the owner is attached right now.</summary>
    public sealed record GetPresence(UserId Owner) : IMailboxCommand;

    /// <summary>The device was unlinked: nothing more is kept for it.</summary>
    public sealed record DropDevice(UserId Owner, DeviceId Device) : IMailboxCommand;
}

/// <summary>Events a Mailbox persists.</summary>
public static class MailboxEvents
{
    public sealed record MessageEnqueued(StoredMessage Message) : IMailboxEvent;

    public sealed record ReceiptEnqueued(StoredReceipt Receipt) : IMailboxEvent;

    /// <summary>Acks are persisted in batches; one event may cover many acked entries.</summary>
    public sealed record DeviceAcked(DeviceId Device, long UpToSeq) : IMailboxEvent;

    public sealed record DeviceDropped(DeviceId Device) : IMailboxEvent;

    /// <summary>The delivered receipts for <paramref name="MessageIds"/> are stored in <paramref name="Sender"/>'s mailbox.</summary>
    public sealed record ReceiptsHandedOver(UserId Sender, ImmutableArray<MessageId> MessageIds, GroupId? Group = null) : IMailboxEvent;

    /// <summary>
    /// A device attached that the mailbox did not know: entries for all devices count it from
    /// <paramref name="AfterSeq"/> on (the first device of a mailbox gets what was kept for "all devices").
    /// </summary>
    public sealed record DeviceAdded(DeviceId Device, long AfterSeq) : IMailboxEvent;

    /// <summary>
    /// Acks of several devices and the receipt hand-overs completed meanwhile, as one event (one journal row):
    /// what a mailbox writes since there were <see cref="DeviceAcked"/> and <see cref="ReceiptsHandedOver"/>
    /// rows of their own (which recovery still reads).
    /// </summary>
    public sealed record AcksRecorded(ImmutableArray<DeviceAcked> Acks, ImmutableArray<ReceiptsHandedOver> HandedOver) : IMailboxEvent;

    /// <summary>A group event made the owner a member of <paramref name="Group"/>, or no longer one.</summary>
    public sealed record GroupMembershipChanged(GroupId Group, bool Member) : IMailboxEvent;
}

/// <summary>Replies of a Mailbox.</summary>
public static class MailboxReplies
{
    /// <summary>Durably stored. <paramref name="Duplicate"/> is true for a retry; the fields are then the original ones.</summary>
    public sealed record Enqueued(MessageId MessageId, long Seq, DateTimeOffset ServerTimestamp, bool Duplicate) : IMailboxReply;

    /// <summary>The device's cursor now stands at <paramref name="AckedSeq"/>.</summary>
    public sealed record Acked(DeviceId Device, long AckedSeq) : IMailboxReply;

    /// <param name="Online">Some attached device is available (the user is online).</param>
    /// <param name="Devices">The devices attached right now (available or in the background).</param>
    public sealed record PresenceIs(bool Online, ImmutableArray<uint> Devices = default) : IMailboxReply
    {
        public ImmutableArray<uint> Devices { get; init; } = Devices.IsDefault ? [] : Devices;
    }

    public sealed record Received(ImmutableArray<MessageId> MessageIds) : IMailboxReply;

    /// <summary>The answer to <see cref="MailboxCommands.EnqueueBatch"/>: every item is stored (or was before), or refused.</summary>
    public sealed record BatchEnqueued(int Stored, int Duplicates, int Rejected) : IMailboxReply;

    public sealed record GroupsAre(ImmutableArray<GroupId> Groups) : IMailboxReply;

    public sealed record PeersAre(ImmutableArray<UserId> Users) : IMailboxReply;

    public sealed record GroupReceiptsAre(ImmutableArray<MemberReceipt> Members) : IMailboxReply;

    /// <summary>The command was refused; <paramref name="Reason"/> says why in words for logs and clients.</summary>
    public sealed record Rejected(MailboxError Error, string Reason) : IMailboxReply;
}

/// <summary>What a Mailbox pushes to an attached session.</summary>
public static class MailboxPushes
{
    public sealed record Deliver(UserId Owner, DeviceId Device, MailboxEntry Entry) : IMailboxPush;

    /// <summary>The backlog has been pushed; <paramref name="LastSeq"/> is its last entry (0 if none).</summary>
    public sealed record QueueEmpty(UserId Owner, DeviceId Device, long LastSeq) : IMailboxPush;

    /// <summary>The first push after an Attach: the device's cursor; the backlog follows.</summary>
    public sealed record Attached(UserId Owner, DeviceId Device, long AckedSeq) : IMailboxPush;

    /// <summary>A newer session of the same device attached: this one must close.</summary>
    public sealed record Replaced(UserId Owner, DeviceId Device) : IMailboxPush;

    /// <summary>The device was unlinked: its session must close.</summary>
    public sealed record Removed(UserId Owner, DeviceId Device) : IMailboxPush;
}

/// <summary>Why a Mailbox refused a command.</summary>
public enum MailboxError
{
    InvalidArgument = 1,
    EditWindowExpired = 2,
    NotFound = 3,
}
