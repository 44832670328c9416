using Akka.WhatsApp.Domain.Groups;
using Akka.WhatsApp.Domain.Mailbox;
using Akka.WhatsApp.Domain.Messaging;
using A = Akka.WhatsApp.Domain.Accounts.AccountReplies;
using G = Akka.WhatsApp.Domain.Groups.GroupReplies;
using M = Akka.WhatsApp.Domain.Mailbox.MailboxReplies;
using DeviceCiphertext = Akka.WhatsApp.Domain.Mailbox.DeviceCiphertext;
using static Akka.WhatsApp.Edge.Handlers.GroupsHandler;
using Registrations = System.Collections.Immutable.ImmutableDictionary<Akka.WhatsApp.Domain.UserId,
    System.Collections.Immutable.ImmutableSortedDictionary<uint, uint>>;

namespace Akka.WhatsApp.Edge.Handlers;

/// <summary>Group messages and their receipts (PROTOCOL.md §11): the group stores and fans out; resends go to the named devices.</summary>
public sealed class GroupMessagesHandler : IPacketHandler
{
    public void Register(PacketTable table) => table
        .Send(Frame.PacketOneofCase.GroupSend, SendAsync)
        .Request(Frame.PacketOneofCase.GetGroupReceipts, GetReceiptsAsync);

    private static async Task<Frame?> SendAsync(Frame frame, IEdgeSession session)
    {
        var send = frame.GroupSend;
        var group = GroupOf(send.GroupId);
        if (!MessageId.TryFrom(send.MessageId.Span, out var messageId))
            throw new RequestException(ErrorCode.InvalidArgument, "message_id must be exactly 16 bytes");
        if (send.Kind == ContentKind.System)
            throw new RequestException(ErrorCode.InvalidArgument, "clients cannot send SYSTEM messages");
        if (!WireMapping.TryOptionalId(send.ReplyToMessageId, out var replyTo) || !WireMapping.TryOptionalId(send.TargetMessageId, out var target))
            throw new RequestException(ErrorCode.InvalidArgument, "reply_to_message_id and target_message_id must be empty or 16 bytes");
        GroupPayload payload = send.PayloadCase switch
        {
            GroupSend.PayloadOneofCase.SenderKeyCiphertext =>
                new SenderKeyPayload(new DeviceCiphertext(send.SenderKeyCiphertext.ToByteArray(), (int)CiphertextType.SenderKeyMessage)),
            GroupSend.PayloadOneofCase.PerDevice => PerDevice(send.PerDevice),
            _ => throw new RequestException(ErrorCode.InvalidArgument, "a group message needs sender_key_ciphertext or per_device ciphertexts"),
        };
        var registrations = send.PayloadCase == GroupSend.PayloadOneofCase.PerDevice ? RegistrationsOf(send.PerDevice) : [];
        var meta = new MessageMeta((int)send.Kind, replyTo, send.ForwardCount, [.. send.Mentions.Distinct().Take(MaxUsersPerRequest)], target,
            (long)Math.Min(send.ClientTimestamp, long.MaxValue), send.Silent);
        MessagingHandler.CheckDeliverSize(session, meta with { Group = group }, payload switch
        {
            SenderKeyPayload s => [(s.Ciphertext.Bytes.Length, s.Ciphertext.Type)],
            PerDevicePayload p => p.Ciphertexts.Values.SelectMany(devices => devices.Values).Select(c => (c.Bytes.Length, c.Type)),
            _ => [],
        });
        var sendAt = ScheduledHandler.SendAtOf(session, send.SendAt, send.Resend);
        if (send.Resend)
            return await ResendAsync(session, group, messageId, meta, payload as PerDevicePayload
                ?? throw new RequestException(ErrorCode.InvalidArgument, "a resend carries per_device ciphertexts for the devices it is for"), registrations);
        if (payload is PerDevicePayload perDevice)
            await CheckDevicesAsync(session, group, messageId, perDevice, registrations);
        if (sendAt is { } at)
            return await ScheduleAsync(session, group, messageId, meta, payload, registrations, at);
        return await AskGroupAsync(session, new GroupCommands.Post(group, session.User, session.Device, messageId, meta, payload)) switch
        {
            G.Posted p => Result(p.MessageId, p.Seq, p.At, p.Duplicate),
            var other => throw Unexpected(other),
        };
    }

    /// <summary>
    /// A group message for later (§8.8): the sender's membership and right to post are checked now (and again by the group
    /// when it is posted); its sender's Schedule entity keeps it until then. The group seq is given when it is posted.
    /// </summary>
    private static async Task<Frame?> ScheduleAsync(IEdgeSession session, GroupId group, MessageId messageId, MessageMeta meta, GroupPayload payload,
        Registrations registrations, DateTimeOffset sendAt)
    {
        var info = await AskGroupAsync(session, new GroupCommands.GetInfo(group, session.User)) as G.Info
                   ?? throw new RequestException(ErrorCode.Internal, "unexpected answer from the group");
        var role = info.Group.Members.FirstOrDefault(m => m.User == session.User)?.Role;
        if (info.Group.Settings.OnlyAdminsSend && role is not (Domain.Groups.GroupRole.Admin or Domain.Groups.GroupRole.Creator))
            throw new RequestException(ErrorCode.NotAdmin, "only admins may send to this group");
        var scheduled = await ScheduledHandler.ScheduleAsync(session, new Domain.Scheduling.ScheduledMessage(messageId, session.Device, null, group, meta, payload,
            registrations, sendAt, session.Time.GetUtcNow()));
        return new Frame
        {
            GroupSendResult = new GroupSendResult
            {
                MessageId = WireMapping.Bytes(messageId), ServerTimestamp = WireMapping.Ms(scheduled.At), Duplicate = scheduled.Duplicate,
                ScheduledFor = WireMapping.Ms(scheduled.SendAt),
            },
        };
    }

    private static Frame Result(MessageId id, long seq, DateTimeOffset at, bool duplicate) => new()
    {
        GroupSendResult = new GroupSendResult { MessageId = WireMapping.Bytes(id), GroupSeq = (ulong)seq, ServerTimestamp = WireMapping.Ms(at), Duplicate = duplicate },
    };

    /// <summary>
    /// A new copy of a group message this user posted, for the member devices it names only (PROTOCOL.md §8.4): with the
    /// original group seq and time, stored in each named member's mailbox (the group's log is not touched).
    /// </summary>
    private static async Task<Frame?> ResendAsync(IEdgeSession session, GroupId group, MessageId messageId, MessageMeta meta, PerDevicePayload payload,
        Registrations registrations)
    {
        var (user, device, backend) = (session.User, session.Device, session.Backend);
        var post = await AskGroupAsync(session, new GroupCommands.GetPost(group, user, messageId)) as G.Posted
                   ?? throw new RequestException(ErrorCode.Internal, "unexpected answer");
        var members = payload.Ciphertexts.Keys.ToList();
        var devices = await Task.WhenAll(members.Select(m => session.AskAsync<IAccountReply>(backend.Accounts, new AccountCommands.GetDeliveryInfo(m, user))));
        var unknown = members.Zip(devices, (member, reply) => Check(SendPolicy.UnknownDevices, member, reply as A.DeliveryInfo,
                payload.Ciphertexts[member].Keys, registrations, member == user ? device.Value : null))
            .OfType<DeviceMismatch>().ToList();
        if (unknown.Count > 0)
            throw new RequestException(ErrorCode.StaleDevices, "a resend names devices that do not exist", stale: [.. unknown.Select(WireMapping.Wire)]);
        var copy = meta with { Group = group, GroupSeq = post.Seq };
        var stored = await Task.WhenAll(members.Select(member => session.AskAsync<IMailboxReply>(backend.Mailboxes,
            new MailboxCommands.Enqueue(member, messageId, user, device, copy, payload.Ciphertexts[member], Resend: true))));
        if (stored.OfType<M.Rejected>().FirstOrDefault() is { } refused)
            throw new RequestException(refused.Error == MailboxError.NotFound ? ErrorCode.NotFound : ErrorCode.InvalidArgument, refused.Reason);
        return Result(messageId, post.Seq, post.At, duplicate: false);
    }

    /// <summary>
    /// §11 and §8.2: a per-device group message covers every device of every other member and the sender's other devices,
    /// each for its current install; else nothing is stored and the answer is STALE_DEVICES, one entry per member whose list
    /// differs. A retry of a message the group already took gets the original answer instead (as a 1:1 retry does).
    /// Members are read before the post, so a member who joins in between is covered by the next message, not this one.
    /// </summary>
    private static async Task CheckDevicesAsync(IEdgeSession session, GroupId group, MessageId messageId, PerDevicePayload payload, Registrations registrations)
    {
        var (user, device) = (session.User, session.Device.Value);
        var info = await AskGroupAsync(session, new GroupCommands.GetInfo(group, user)) as G.Info
                   ?? throw new RequestException(ErrorCode.Internal, "unexpected answer from the group");
        var members = info.Group.Members.Select(m => m.User).ToList();
        var lists = await Task.WhenAll(members.Select(m => session.AskAsync<IAccountReply>(session.Backend.Accounts, new AccountCommands.GetDeliveryInfo(m, user))));
        var stale = members.Zip(lists, (member, reply) => Check(SendPolicy.Mismatch, member, reply as A.DeliveryInfo,
                payload.Ciphertexts.GetValueOrDefault(member)?.Keys ?? [], registrations, member == user ? device : null))
            .OfType<DeviceMismatch>().ToList();
        if (stale.Count == 0)
            return;
        if (await session.AskAsync<IGroupReply>(session.Backend.Groups, new GroupCommands.GetPost(group, user, messageId)) is G.Posted)
            return; // a retry: the group answers it as the duplicate it is
        throw new RequestException(ErrorCode.StaleDevices, "the ciphertexts do not match the members' current devices", stale: [.. stale.Select(WireMapping.Wire)]);
    }

    /// <summary>One member's devices against the ciphertexts for it (<see cref="SendPolicy.Check"/>); none for an account that is gone.</summary>
    private static DeviceMismatch? Check(Func<UserId, IEnumerable<uint>, IEnumerable<uint>, uint?, DeviceMismatch?> lists, UserId member,
        A.DeliveryInfo? current, IEnumerable<uint> given, Registrations registrations, uint? sendingDevice) =>
        current is null
            ? null // the account is gone: the group drops it on its own
            : SendPolicy.Check(lists, member, current, given, registrations.GetValueOrDefault(member) ?? ImmutableSortedDictionary<uint, uint>.Empty,
                sendingDevice);

    /// <summary>The registration id each per-device ciphertext was encrypted for (0 = not checked), per user and device (also status posts').</summary>
    public static Registrations RegistrationsOf(RecipientCiphertexts wire) =>
        wire.Items.Where(i => i.Device is { RegistrationId: not 0 } && i.UserId.Length > 0)
            .GroupBy(i => new UserId(i.UserId))
            .ToImmutableDictionary(g => g.Key, g => g.GroupBy(i => i.Device.DeviceId).ToImmutableSortedDictionary(d => d.Key, d => d.First().Device.RegistrationId));

    private static PerDevicePayload PerDevice(RecipientCiphertexts wire) => new(PerUser(wire));

    /// <summary>
    /// Per-device ciphertexts (of a group send or a status post) by user and device: each names a user and a device, once;
    /// none above <paramref name="maxCiphertext"/> bytes (MESSAGE_TOO_LARGE).
    /// </summary>
    public static ImmutableDictionary<UserId, ImmutableSortedDictionary<uint, DeviceCiphertext>> PerUser(RecipientCiphertexts wire,
        int maxCiphertext = int.MaxValue)
    {
        var perUser = new Dictionary<UserId, ImmutableSortedDictionary<uint, DeviceCiphertext>>();
        foreach (var item in wire.Items)
        {
            if (item.UserId.Length == 0 || item.Device is not { DeviceId: > 0 } device)
                throw new RequestException(ErrorCode.InvalidArgument, "every per-device ciphertext names a user and a device");
            if (device.Ciphertext.Length > maxCiphertext)
                throw new RequestException(ErrorCode.MessageTooLarge, $"a per-device ciphertext has at most {maxCiphertext} bytes");
            var user = new UserId(item.UserId);
            var devices = perUser.GetValueOrDefault(user, ImmutableSortedDictionary<uint, DeviceCiphertext>.Empty);
            if (devices.ContainsKey(device.DeviceId))
                throw new RequestException(ErrorCode.InvalidArgument, $"two ciphertexts for device {device.DeviceId} of {user}");
            perUser[user] = devices.Add(device.DeviceId, new DeviceCiphertext(device.Ciphertext.ToByteArray(), (int)device.Type));
        }
        return perUser.ToImmutableDictionary();
    }

    private static async Task<Frame?> GetReceiptsAsync(Frame frame, IEdgeSession session)
    {
        var get = frame.GetGroupReceipts;
        var group = GroupOf(get.GroupId);
        if (!MessageId.TryFrom(get.MessageId.Span, out var messageId))
            throw new RequestException(ErrorCode.InvalidArgument, "message_id must be exactly 16 bytes");
        // The group says whether the caller sent this message and to how many; the caller's own mailbox holds the receipts.
        var count = await AskGroupAsync(session, new GroupCommands.GetRecipientCount(group, session.User, messageId)) as G.RecipientCount
            ?? throw new RequestException(ErrorCode.Internal, "unexpected answer from the backend");
        var receipts = await session.AskAsync<IMailboxReply>(session.Backend.Mailboxes, new MailboxCommands.GetGroupReceipts(session.User, messageId)) as M.GroupReceiptsAre
            ?? throw new RequestException(ErrorCode.Internal, "unexpected answer from the backend");
        var answer = new GroupReceipts
        {
            GroupId = group.Value,
            MessageId = get.MessageId,
            RecipientCount = (uint)count.Count,
            DeliveredCount = (uint)receipts.Members.Count(m => m.Delivered is not null),
            ReadCount = (uint)receipts.Members.Count(m => m.Read is not null),
            PlayedCount = (uint)receipts.Members.Count(m => m.Played is not null),
        };
        answer.Members.AddRange(receipts.Members.Select(m => new Protocol.MemberReceipt
        {
            UserId = m.User.Value,
            DeliveredAt = m.Delivered is { } d ? WireMapping.Ms(d) : 0,
            ReadAt = m.Read is { } r ? WireMapping.Ms(r) : 0,
            PlayedAt = m.Played is { } p ? WireMapping.Ms(p) : 0,
        }));
        return new Frame { GroupReceipts = answer };
    }
}
