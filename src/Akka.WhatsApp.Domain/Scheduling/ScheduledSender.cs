using System.Collections.Immutable;
using Akka.Actor;
using Akka.WhatsApp.Domain.Accounts;
using Akka.WhatsApp.Domain.Groups;
using Akka.WhatsApp.Domain.Mailbox;
using Akka.WhatsApp.Domain.Messaging;
using A = Akka.WhatsApp.Domain.Accounts.AccountReplies;
using G = Akka.WhatsApp.Domain.Groups.GroupReplies;
using M = Akka.WhatsApp.Domain.Mailbox.MailboxReplies;

namespace Akka.WhatsApp.Domain.Scheduling;

/// <summary>
/// Sends a scheduled message at its time (PROTOCOL.md §8.8). The server holds only the ciphertexts made when the message
/// was scheduled and cannot re-encrypt, so the devices of the recipient (or of the group's members) are read again now:
/// the ciphertexts that still fit a current device (same device, same registration id) are delivered as a normal
/// message with the scheduled message's id, and the devices they do not cover (linked or reinstalled since) are
/// returned in the <see cref="ScheduledUpdate"/>, for the sender's scheduling device to re-encrypt and resend.
/// A message whose recipient blocked the sender in between is dropped without telling (as a live send would be).
/// </summary>
public sealed class ScheduledSender(IActorRef accounts, IActorRef mailboxes, IActorRef groups, TimeSpan askTimeout)
{
    public async Task<ScheduledUpdate> SendAsync(UserId owner, ScheduledMessage m)
    {
        var resendBy = m.FromDevice;
        ScheduledUpdate Update(ScheduledOutcome outcome, bool delivered = false, ImmutableArray<DeviceMismatch> resend = default, string reason = "") =>
            new(m.Id, m.To, m.Group, outcome, m.SendAt, m.FromDevice, delivered, resend, reason, resendBy);

        if (m.Group is { } group)
            return await SendToGroupAsync(owner, group, m, (outcome, delivered, resend, reason, by) =>
                new ScheduledUpdate(m.Id, m.To, m.Group, outcome, m.SendAt, m.FromDevice, delivered, resend, reason, by));
        var to = m.To ?? throw new ArgumentException("a scheduled message names a user or a group", nameof(m));
        var mine = Ask(accounts, new AccountCommands.GetDeliveryInfo(owner, to));
        var theirs = Ask(accounts, new AccountCommands.GetDeliveryInfo(to, owner));
        if (await theirs is not A.DeliveryInfo recipient)
            return Update(ScheduledOutcome.Failed, reason: $"{to} no longer has an account");
        if (await mine is not A.DeliveryInfo sender)
            return Update(ScheduledOutcome.Failed, reason: "the sender's account no longer exists");
        if (sender.Blocks)
            return Update(ScheduledOutcome.Failed, reason: $"you blocked {to}");
        resendBy = ResendBy(m.FromDevice, sender);
        if (recipient.Blocks)
            return Update(ScheduledOutcome.Sent, delivered: true); // nothing reveals the block (§8.1)

        var registrations = m.Registrations.GetValueOrDefault(to) ?? ImmutableSortedDictionary<uint, uint>.Empty;
        var (valid, mismatch) = StillValid(to, m.Ciphertexts, registrations, recipient, sendingDevice: null);
        if (!valid.IsEmpty)
        {
            var stored = await Ask(mailboxes, new MailboxCommands.Enqueue(to, m.Id, owner, m.FromDevice, m.Meta, valid));
            if (stored is not M.Enqueued)
                return Update(ScheduledOutcome.Failed, reason: (stored as M.Rejected)?.Reason ?? "the recipient's mailbox refused the message");
        }
        return Update(ScheduledOutcome.Sent, delivered: !valid.IsEmpty, resend: mismatch is null ? [] : [mismatch]);
    }

    private async Task<ScheduledUpdate> SendToGroupAsync(UserId owner, GroupId group, ScheduledMessage m,
        Func<ScheduledOutcome, bool, ImmutableArray<DeviceMismatch>, string, DeviceId, ScheduledUpdate> update)
    {
        var resendBy = m.FromDevice;
        var payload = m.Payload;
        var resend = ImmutableArray<DeviceMismatch>.Empty;
        if (m.Payload is PerDevicePayload perDevice)
        {
            // Per-device group messages are checked member by member as the 1:1 ones are; a sender-key message fits every
            // member that has the sender key, and a member that does not asks for it with a retry request (§11).
            if (await Ask(groups, new GroupCommands.GetInfo(group, owner)) is not G.Info info)
                return update(ScheduledOutcome.Failed, false, [], "you are no longer a member of the group", resendBy);
            var members = info.Group.Members.Select(x => x.User).ToList();
            var lists = await Task.WhenAll(members.Select(member => Ask(accounts, new AccountCommands.GetDeliveryInfo(member, owner))));
            var kept = ImmutableDictionary.CreateBuilder<UserId, ImmutableSortedDictionary<uint, DeviceCiphertext>>();
            var mismatches = ImmutableArray.CreateBuilder<DeviceMismatch>();
            foreach (var (member, reply) in members.Zip(lists))
            {
                if (reply is not A.DeliveryInfo current)
                    continue;
                if (member == owner)
                    resendBy = ResendBy(m.FromDevice, current);
                var (valid, mismatch) = StillValid(member, perDevice.Ciphertexts.GetValueOrDefault(member) ?? ImmutableSortedDictionary<uint, DeviceCiphertext>.Empty,
                    m.Registrations.GetValueOrDefault(member) ?? ImmutableSortedDictionary<uint, uint>.Empty, current,
                    member == owner ? m.FromDevice.Value : null);
                if (!valid.IsEmpty)
                    kept[member] = valid;
                if (mismatch is not null)
                    mismatches.Add(mismatch);
            }
            payload = new PerDevicePayload(kept.ToImmutable());
            resend = mismatches.ToImmutable();
        }
        return await Ask(groups, new GroupCommands.Post(group, owner, m.FromDevice, m.Id, m.Meta, payload)) switch
        {
            G.Posted => update(ScheduledOutcome.Sent, true, resend, "", resendBy),
            G.Rejected r => update(ScheduledOutcome.Failed, false, [], r.Reason, resendBy),
            var other => update(ScheduledOutcome.Failed, false, [], $"unexpected answer from the group: {other?.GetType().Name}", resendBy),
        };
    }

    /// <summary>
    /// The ciphertexts that still fit one of <paramref name="current"/>'s devices (same device, same registration id when
    /// one was given), and the devices left without one (missing, and stale when reinstalled); null when all are covered.
    /// </summary>
    public static (ImmutableSortedDictionary<uint, DeviceCiphertext> Valid, DeviceMismatch? Mismatch) StillValid(UserId user,
        ImmutableSortedDictionary<uint, DeviceCiphertext> ciphertexts, ImmutableSortedDictionary<uint, uint> registrations, A.DeliveryInfo current,
        uint? sendingDevice)
    {
        var stale = SendPolicy.StaleRegistrations(registrations, current.Devices, current.RegistrationOf);
        var valid = ciphertexts.Where(c => current.Devices.Contains(c.Key) && c.Key != sendingDevice && !stale.Contains(c.Key))
            .ToImmutableSortedDictionary(c => c.Key, c => c.Value);
        var lists = SendPolicy.Mismatch(user, current.Devices, valid.Keys, sendingDevice);
        // Devices that are gone are not the sender's to fix any more: only what is missing (and why) is reported.
        var missing = lists is null ? null : lists with { Extra = [] };
        var mismatch = SendPolicy.With(missing is { Missing.IsEmpty: true } ? null : missing, user, stale);
        return (valid, mismatch);
    }

    /// <summary>The scheduling device while it is one of the sender's, else the sender's lowest-numbered device (the primary).</summary>
    private static DeviceId ResendBy(DeviceId scheduling, A.DeliveryInfo sender) =>
        sender.Devices.Contains(scheduling.Value) || sender.Devices.Count == 0 ? scheduling : new DeviceId(sender.Devices.Min);

    private Task<object?> Ask(IActorRef target, object message) => target.Ask<object?>(message, askTimeout);
}
