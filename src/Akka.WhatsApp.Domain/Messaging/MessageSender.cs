using System.Collections.Immutable;
using Akka.Actor;
using Akka.WhatsApp.Domain.Accounts;
using Akka.WhatsApp.Domain.Mailbox;
using A = Akka.WhatsApp.Domain.Accounts.AccountReplies;
using M = Akka.WhatsApp.Domain.Mailbox.MailboxReplies;

namespace Akka.WhatsApp.Domain.Messaging;

/// <summary>A 1:1 message as the sender hands it over: ciphertexts for the recipient's devices and sync copies for the sender's own.</summary>
public sealed record OutgoingMessage(
    UserId From,
    DeviceId FromDevice,
    UserId To,
    MessageId Id,
    MessageMeta Meta,
    ImmutableSortedDictionary<uint, DeviceCiphertext> Ciphertexts,
    ImmutableSortedDictionary<uint, DeviceCiphertext> SelfCiphertexts,
    bool Resend = false,
    ImmutableSortedDictionary<uint, uint>? Registrations = null,
    ImmutableSortedDictionary<uint, uint>? SelfRegistrations = null)
{
    /// <summary>The registration id the sender encrypted for, per recipient device that has one (§8.2; 0 = not checked).</summary>
    public ImmutableSortedDictionary<uint, uint> Registrations { get; init; } = Registrations ?? ImmutableSortedDictionary<uint, uint>.Empty;

    public ImmutableSortedDictionary<uint, uint> SelfRegistrations { get; init; } = SelfRegistrations ?? ImmutableSortedDictionary<uint, uint>.Empty;
}

/// <summary>Why a send was refused; the edge maps each to its wire error code.</summary>
public enum SendError
{
    NotFound = 1,
    Blocked = 2,
    StaleDevices = 3,
    EditWindowExpired = 4,
    InvalidArgument = 5,
    /// <summary>The sending device is no longer one of the account's: nothing is sent in its name.</summary>
    SenderRemoved = 6,
    /// <summary>A scheduled send beyond the horizon (§8.8).</summary>
    ScheduleTooFar = 7,
    /// <summary>Too many scheduled messages pending for this sender.</summary>
    TooManyScheduled = 8,
}

public abstract record SendOutcome
{
    /// <summary>
    /// Durably stored (✓): the original time and <paramref name="Duplicate"/> for a retry of an accepted message;
    /// <paramref name="ScheduledFor"/> when it was scheduled (stored until then, §8.8).
    /// </summary>
    public sealed record Accepted(DateTimeOffset At, bool Duplicate, DateTimeOffset? ScheduledFor = null) : SendOutcome;

    public sealed record Refused(SendError Error, string Reason, ImmutableArray<DeviceMismatch> Stale = default) : SendOutcome
    {
        public ImmutableArray<DeviceMismatch> Stale { get; init; } = Stale.IsDefault ? [] : Stale;
    }
}

/// <summary>
/// Sends one 1:1 message (PROTOCOL.md §8.1-8.4), whoever hands it over: a client connection today, a scheduled send
/// or the key server tomorrow. It asks both accounts once, applies <see cref="SendPolicy"/>, and stores the message
/// in the recipient's mailbox and the sync copies in the sender's, answering only once both are durable.
/// Orchestration, not a rule: it lives beside the rules it applies and talks to the entities through the regions
/// it is given (core Akka only, as the rest of the domain). With <paramref name="schedules"/> (the sender's Schedule
/// entities) a message with a send time is checked the same way now and kept there until its time (§8.8).
/// </summary>
public sealed class MessageSender(IActorRef accounts, IActorRef mailboxes, TimeSpan askTimeout, TimeProvider time, IActorRef? schedules = null)
{
    /// <summary>
    /// Sends <paramref name="message"/>, or schedules it for <paramref name="sendAt"/>. <paramref name="order"/> keeps one
    /// sender's messages in the order it handed them over while their checks overlap: the hand-over to the mailboxes
    /// waits for the previous one.
    /// </summary>
    public async Task<SendOutcome> SendAsync(OutgoingMessage message, SendOrder.Turn order, DateTimeOffset? sendAt = null)
    {
        if (sendAt is not null && (message.Resend || schedules is null))
            return Refused(SendError.InvalidArgument, message.Resend ? "a resend cannot be scheduled" : "this server does not schedule messages");
        if (SendPolicy.NamesADeviceTwice(message.Ciphertexts.Keys) || SendPolicy.NamesADeviceTwice(message.SelfCiphertexts.Keys))
            return Refused(SendError.InvalidArgument, "two ciphertexts for one device");
        var mine = Ask(accounts, new AccountCommands.GetDeliveryInfo(message.From, message.To));
        var theirs = Ask(accounts, new AccountCommands.GetDeliveryInfo(message.To, message.From));
        if (await theirs is not A.DeliveryInfo recipient)
            return Refused(SendError.NotFound, $"no user {message.To}");
        if (await mine is not A.DeliveryInfo sender)
            return Refused(SendError.NotFound, "your account no longer exists");
        if (!sender.Devices.Contains(message.FromDevice.Value))
            return Refused(SendError.SenderRemoved, "this device was removed from the account");
        if (sender.Blocks)
            return Refused(SendError.Blocked, "you blocked this user; unblock them to send");
        return message.Resend
            ? await ResendAsync(message, sender, recipient, order)
            : await FirstSendAsync(message, sender, recipient, order, sendAt);
    }

    private async Task<SendOutcome> FirstSendAsync(OutgoingMessage message, A.DeliveryInfo sender, A.DeliveryInfo recipient, SendOrder.Turn order,
        DateTimeOffset? sendAt)
    {
        var stale = Mismatches(message, sender, recipient, SendPolicy.Mismatch);
        if (!stale.IsEmpty)
        {
            // A retry of an accepted message gets the original answer, whatever it carries now (§8.1): only a message
            // never stored is checked against the device lists.
            if (await Ask(mailboxes, new MailboxCommands.GetAccepted(message.To, message.From, message.Id)) is M.Enqueued { } original)
                return new SendOutcome.Accepted(original.ServerTimestamp, Duplicate: true);
            return new SendOutcome.Refused(SendError.StaleDevices, "the ciphertexts do not match the current devices", stale);
        }
        // A recipient's block is applied when the message is due (as for a live send, nothing reveals it).
        if (sendAt is { } at)
            return await ScheduleAsync(message, at, order);
        if (recipient.Blocks)
        {
            // The recipient blocked the sender: the message is never stored nor delivered, and the sender is not told
            // (one tick for ever, as WhatsApp does). Retries get the same answer.
            return new SendOutcome.Accepted(time.GetUtcNow(), Duplicate: false);
        }
        return await HandOverAsync(message, order, ChecksTarget(message.Meta));
    }

    private async Task<SendOutcome> ResendAsync(OutgoingMessage message, A.DeliveryInfo sender, A.DeliveryInfo recipient, SendOrder.Turn order)
    {
        if (message.Ciphertexts.IsEmpty && message.SelfCiphertexts.IsEmpty)
            return Refused(SendError.InvalidArgument, "a resend names at least one device");
        var unknown = Mismatches(message, sender, recipient, SendPolicy.UnknownDevices);
        if (!unknown.IsEmpty)
            return new SendOutcome.Refused(SendError.StaleDevices, "a resend names devices that do not exist", unknown);
        if (recipient.Blocks)
            return new SendOutcome.Accepted(time.GetUtcNow(), Duplicate: false); // as the original: nothing reveals the block
        return await HandOverAsync(message, order, sequential: false);
    }

    /// <summary>
    /// <paramref name="check"/> applied to the recipient's devices and to the sender's own (the sending device
    /// excepted): the lists that the client must fix, empty when both agree.
    /// </summary>
    private static ImmutableArray<DeviceMismatch> Mismatches(OutgoingMessage message, A.DeliveryInfo sender, A.DeliveryInfo recipient,
        Func<UserId, IEnumerable<uint>, IEnumerable<uint>, uint?, DeviceMismatch?> check) =>
    [
        .. new[]
        {
            SendPolicy.Check(check, message.To, recipient, message.Ciphertexts.Keys, message.Registrations, null),
            SendPolicy.Check(check, message.From, sender, message.SelfCiphertexts.Keys, message.SelfRegistrations, message.FromDevice.Value),
        }.OfType<DeviceMismatch>(),
    ];

    /// <summary>Edits and deletions are checked against the recipient's record of the target before the sync copy is made.</summary>
    private static bool ChecksTarget(MessageMeta meta) => MessageChanges.Changes(meta.Kind);

    /// <summary>
    /// Stores the message for the recipient and the sync copies for the sender, in this sender's order: both are handed
    /// over before the next message of the sender may go (so the sender's other devices see its messages in order too).
    /// When the recipient's mailbox may refuse (<paramref name="sequential"/>), the sync copy waits for its answer.
    /// </summary>
    private async Task<SendOutcome> HandOverAsync(OutgoingMessage m, SendOrder.Turn order, bool sequential)
    {
        await order.Previous;
        Task<object?>? toRecipient = null, toSelf = null;
        try
        {
            if (!m.Ciphertexts.IsEmpty)
                toRecipient = Ask(mailboxes, new MailboxCommands.Enqueue(m.To, m.Id, m.From, m.FromDevice, m.Meta, m.Ciphertexts, Resend: m.Resend));
            if (sequential && toRecipient is not null && Refusal(await toRecipient) is { } early)
                return early;
            if (!m.SelfCiphertexts.IsEmpty)
                toSelf = Ask(mailboxes, new MailboxCommands.Enqueue(m.From, m.Id, m.From, m.FromDevice, m.Meta with { SyncTo = m.To }, m.SelfCiphertexts,
                    Resend: m.Resend));
        }
        finally
        {
            order.Done();
        }
        var stored = toRecipient is null ? null : await toRecipient;
        var synced = toSelf is null ? null : await toSelf;
        if ((Refusal(stored) ?? Refusal(synced)) is { } refused)
            return refused;
        var answer = (M.Enqueued)(stored ?? synced)!;
        return new SendOutcome.Accepted(answer.ServerTimestamp, answer.Duplicate);
    }

    /// <summary>
    /// Keeps the recipient's ciphertexts in the sender's Schedule entity until <paramref name="sendAt"/>, and hands the
    /// sync copies to the sender's other devices now, marked with the time (so they show the message as scheduled). The
    /// copies go again on a retry: the mailbox drops them as duplicates, and a crash between the two steps loses none.
    /// </summary>
    private async Task<SendOutcome> ScheduleAsync(OutgoingMessage m, DateTimeOffset sendAt, SendOrder.Turn order)
    {
        await order.Previous;
        Task<object?> scheduled;
        try
        {
            var message = new Scheduling.ScheduledMessage(m.Id, m.FromDevice, m.To, null, m.Meta,
                new Groups.PerDevicePayload(ImmutableDictionary<UserId, ImmutableSortedDictionary<uint, DeviceCiphertext>>.Empty.Add(m.To, m.Ciphertexts)),
                ImmutableDictionary<UserId, ImmutableSortedDictionary<uint, uint>>.Empty.Add(m.To, m.Registrations), sendAt, time.GetUtcNow());
            scheduled = Ask(schedules!, new Scheduling.ScheduleCommands.Schedule(m.From, message));
        }
        finally
        {
            order.Done();
        }
        switch (await scheduled)
        {
            case Scheduling.ScheduleReplies.Scheduled s:
                if (!m.SelfCiphertexts.IsEmpty
                    && await Ask(mailboxes, new MailboxCommands.Enqueue(m.From, m.Id, m.From, m.FromDevice, m.Meta with { SyncTo = m.To, ScheduledFor = s.SendAt },
                        m.SelfCiphertexts)) is M.Rejected refused)
                    return Refused(SendError.InvalidArgument, refused.Reason);
                return new SendOutcome.Accepted(s.At, s.Duplicate, s.SendAt);
            case Scheduling.ScheduleReplies.Rejected { Error: Scheduling.ScheduleError.TooFar } r:
                return Refused(SendError.ScheduleTooFar, r.Reason);
            case Scheduling.ScheduleReplies.Rejected { Error: Scheduling.ScheduleError.TooMany } r:
                return Refused(SendError.TooManyScheduled, r.Reason);
            case Scheduling.ScheduleReplies.Rejected r:
                return Refused(SendError.InvalidArgument, r.Reason);
            case var other:
                throw new InvalidOperationException($"unexpected answer from a schedule: {other?.GetType().Name}");
        }
    }

    private static SendOutcome.Refused? Refusal(object? reply) => reply switch
    {
        M.Enqueued or null => null,
        M.Rejected { Error: MailboxError.EditWindowExpired } r => new SendOutcome.Refused(SendError.EditWindowExpired, r.Reason),
        M.Rejected { Error: MailboxError.NotFound } r => new SendOutcome.Refused(SendError.NotFound, r.Reason),
        M.Rejected r => new SendOutcome.Refused(SendError.InvalidArgument, r.Reason),
        _ => throw new InvalidOperationException($"unexpected answer from a mailbox: {reply.GetType().Name}"),
    };

    private static SendOutcome.Refused Refused(SendError error, string reason) => new(error, reason);

    /// <summary>An Ask whose timeout surfaces as <see cref="AskTimeoutException"/> (the edge answers TIMEOUT).</summary>
    private Task<object?> Ask(IActorRef target, object message) => target.Ask<object?>(message, askTimeout);
}
