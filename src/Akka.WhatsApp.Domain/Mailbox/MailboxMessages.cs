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

/// <summary>
/// One message waiting in a mailbox: opaque ciphertext per recipient device, never plaintext.
/// </summary>
public sealed record StoredMessage(
    long Seq,
    MessageId MessageId,
    UserId From,
    DeviceId FromDevice,
    DateTimeOffset ServerTimestamp,
    IReadOnlyDictionary<DeviceId, byte[]> Ciphertexts);

/// <summary>Commands a Mailbox accepts.</summary>
public static class MailboxCommands
{
    /// <summary>Store a message for <paramref name="Owner"/>'s devices; idempotent by <paramref name="MessageId"/>.</summary>
    public sealed record Enqueue(
        UserId Owner,
        MessageId MessageId,
        UserId From,
        DeviceId FromDevice,
        IReadOnlyDictionary<DeviceId, byte[]> Ciphertexts) : IMailboxCommand;

    /// <summary>A device acknowledges everything up to and including <paramref name="UpToSeq"/>.</summary>
    public sealed record Ack(UserId Owner, DeviceId Device, long UpToSeq) : IMailboxCommand;
}

/// <summary>Events a Mailbox persists.</summary>
public static class MailboxEvents
{
    public sealed record MessageEnqueued(StoredMessage Message) : IMailboxEvent;

    public sealed record DeviceAcked(DeviceId Device, long UpToSeq) : IMailboxEvent;
}

/// <summary>Replies of a Mailbox.</summary>
public static class MailboxReplies
{
    /// <summary>The message is durably stored. <paramref name="Duplicate"/> is true for a retry of an accepted message.</summary>
    public sealed record Enqueued(MessageId MessageId, long Seq, DateTimeOffset ServerTimestamp, bool Duplicate) : IMailboxReply;

    /// <summary>The device's cursor now stands at <paramref name="AckedSeq"/>.</summary>
    public sealed record Acked(DeviceId Device, long AckedSeq) : IMailboxReply;

    /// <summary>The command was refused; <paramref name="Reason"/> says why in words for logs and clients.</summary>
    public sealed record Rejected(MailboxError Error, string Reason) : IMailboxReply;
}

/// <summary>Why a Mailbox refused a command.</summary>
public enum MailboxError
{
    InvalidArgument = 1,
}
