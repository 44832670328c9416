using System.Collections.Immutable;
using Akka.WhatsApp.Domain.Groups;
using Akka.WhatsApp.Domain.Mailbox;
using Akka.WhatsApp.Domain.Messaging;

namespace Akka.WhatsApp.Domain.Scheduling;

/// <summary>
/// A message handed over now to be sent later (PROTOCOL.md §8.8): the ciphertexts the sender made for the recipient's
/// devices (or the group's), kept as they are (the server never sees the plaintext and cannot re-encrypt) until
/// <see cref="SendAt"/>. <see cref="Payload"/> is a group payload also for 1:1 messages: per-device ciphertexts of
/// one user (<see cref="To"/>), or one sender-key ciphertext for a group.
/// </summary>
public sealed record ScheduledMessage(
    MessageId Id,
    DeviceId FromDevice,
    UserId? To,
    GroupId? Group,
    MessageMeta Meta,
    GroupPayload Payload,
    ImmutableDictionary<UserId, ImmutableSortedDictionary<uint, uint>> Registrations,
    DateTimeOffset SendAt,
    DateTimeOffset ScheduledAt)
{
    /// <summary>The recipient's (1:1) device ciphertexts; empty for a group message.</summary>
    public ImmutableSortedDictionary<uint, DeviceCiphertext> Ciphertexts =>
        To is { } to && Payload is PerDevicePayload p && p.Ciphertexts.TryGetValue(to, out var devices) ? devices : ImmutableSortedDictionary<uint, DeviceCiphertext>.Empty;
}

/// <summary>What happened to a scheduled message, as its sender's devices are told (SYSTEM scheduled_update).</summary>
public enum ScheduledOutcome
{
    /// <summary>Handed to the recipients at its time; <see cref="ScheduledUpdate.Resend"/> lists devices that still need a copy.</summary>
    Sent = 1,
    Cancelled = 2,
    Rescheduled = 3,
    /// <summary>Could not be sent at its time (the recipient or group is gone, the sender left the group or blocked the recipient).</summary>
    Failed = 4,
}

/// <summary>
/// The SYSTEM event scheduled_update to the sender's own devices. For <see cref="ScheduledOutcome.Sent"/>,
/// <see cref="Resend"/> names the recipient devices the stored ciphertexts no longer fit (linked or reinstalled since):
/// the scheduling device re-encrypts for them (§8.8). <see cref="Delivered"/>: some device got the stored ciphertext,
/// so the copies for the others are resends; when false the message was stored nowhere and is sent afresh.
/// </summary>
public sealed record ScheduledUpdate(
    MessageId Message,
    UserId? To,
    GroupId? Group,
    ScheduledOutcome Outcome,
    DateTimeOffset SendAt,
    DeviceId FromDevice,
    bool Delivered = false,
    ImmutableArray<DeviceMismatch> Resend = default,
    string Reason = "",
    DeviceId ResendBy = default)
{
    public ImmutableArray<DeviceMismatch> Resend { get; init; } = Resend.IsDefault ? [] : Resend;

    /// <summary>
    /// The device that re-encrypts for <see cref="Resend"/>: the scheduling device, or when it was removed meanwhile the
    /// sender's lowest-numbered device (the primary), which got the message's sync copy.
    /// </summary>
    public DeviceId ResendBy { get; init; } = ResendBy.Value == 0 ? FromDevice : ResendBy;
}

public interface IScheduleCommand
{
    /// <summary>The sender whose scheduled messages these are (the shard key).</summary>
    UserId Owner { get; }
}

public interface IScheduleEvent;

public interface IScheduleReply;

public enum ScheduleError
{
    NotFound = 1,
    TooFar = 2,
    TooMany = 3,
    InvalidArgument = 4,
}

public static class ScheduleCommands
{
    /// <summary>Keep <paramref name="Message"/> until its time; idempotent by its id (a retry gets the original answer).</summary>
    public sealed record Schedule(UserId Owner, ScheduledMessage Message) : IScheduleCommand;

    /// <summary>Move a pending message to another time.</summary>
    public sealed record Reschedule(UserId Owner, MessageId Message, DateTimeOffset SendAt) : IScheduleCommand;

    /// <summary>Drop a pending message: it is never sent.</summary>
    public sealed record Cancel(UserId Owner, MessageId Message) : IScheduleCommand;

    /// <summary>The owner's pending messages, by time.</summary>
    public sealed record List(UserId Owner) : IScheduleCommand;

    /// <summary>From the entity itself once a due message was handed over (or could not be): it is no longer pending.</summary>
    public sealed record Complete(UserId Owner, MessageId Message, DateTimeOffset SendAt, ScheduledOutcome Outcome) : IScheduleCommand;
}

public static class ScheduleEvents
{
    public sealed record Scheduled(ScheduledMessage Message) : IScheduleEvent;

    public sealed record Rescheduled(MessageId Message, DateTimeOffset SendAt, DateTimeOffset At) : IScheduleEvent;

    public sealed record Cancelled(MessageId Message) : IScheduleEvent;

    public sealed record Completed(MessageId Message, ScheduledOutcome Outcome) : IScheduleEvent;
}

public static class ScheduleReplies
{
    /// <summary>Pending until <paramref name="SendAt"/>; <paramref name="Duplicate"/>: a retry of a message taken before.</summary>
    public sealed record Scheduled(MessageId Message, DateTimeOffset SendAt, DateTimeOffset At, bool Duplicate) : IScheduleReply;

    public sealed record Cancelled(ScheduledMessage Message) : IScheduleReply;

    public sealed record Rescheduled(ScheduledMessage Message) : IScheduleReply;

    public sealed record Pending(ImmutableArray<ScheduledMessage> Messages) : IScheduleReply;

    public sealed record Completed(MessageId Message) : IScheduleReply;

    public sealed record Rejected(ScheduleError Error, string Reason) : IScheduleReply;
}
