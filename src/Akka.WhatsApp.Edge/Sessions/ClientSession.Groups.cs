using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;
using Akka.WhatsApp.Domain;
using Akka.WhatsApp.Domain.Accounts;
using Akka.WhatsApp.Domain.Groups;
using Akka.WhatsApp.Domain.Mailbox;
using Akka.WhatsApp.Domain.Messaging;
using Akka.WhatsApp.Protocol;
using A = Akka.WhatsApp.Domain.Accounts.AccountReplies;
using G = Akka.WhatsApp.Domain.Groups.GroupReplies;
using M = Akka.WhatsApp.Domain.Mailbox.MailboxReplies;
using DeviceCiphertext = Akka.WhatsApp.Domain.Mailbox.DeviceCiphertext;
using MemberResult = Akka.WhatsApp.Domain.Groups.MemberResult;

namespace Akka.WhatsApp.Edge.Sessions;

/// <summary>Groups: the Group entity decides; the edge checks the wire, resolves accounts and maps answers.</summary>
public sealed partial class ClientSession
{
    /// <summary>Users one request may name (a whole group's worth).</summary>
    private const int MaxUsersPerRequest = 1024;

    private async Task<Frame?> CreateGroupAsync(Frame frame)
    {
        var create = frame.CreateGroup;
        if (create.RequestKey.Length is not (0 or 16))
            throw new RequestException(ErrorCode.InvalidArgument, "request_key must be empty or 16 bytes");
        var members = DistinctUsers(create.MemberUserIds).Where(u => u != User).ToImmutableArray();
        // The group id follows from the creator and the request key: a retried CreateGroup reaches the same group.
        var key = create.RequestKey.IsEmpty ? RandomNumberGenerator.GetBytes(16) : create.RequestKey.ToByteArray();
        var group = new GroupId(Convert.ToHexString(SHA256.HashData([.. Encoding.UTF8.GetBytes(User.Value + "\0"), .. key]).AsSpan(0, 16)).ToLowerInvariant());
        var (allowed, refused) = await ResolveNewMembersAsync(members);
        var reply = await AskGroupAsync(new GroupCommands.Create(group, User, create.Name, create.Description, create.IconMediaId,
            WireMapping.SettingsOf(create.Settings), allowed, refused));
        var created = reply as G.Created ?? throw Unexpected(reply);
        var answer = new GroupCreated { Group = WireMapping.Wire(created.Group) };
        answer.Results.AddRange(InRequestOrder(created.Results, members).Select(WireMapping.Wire));
        return new Frame { GroupCreated = answer };
    }

    private async Task<Frame?> GetGroupInfoAsync(Frame frame) =>
        await AskGroupAsync(new GroupCommands.GetInfo(GroupOf(frame.GetGroupInfo.GroupId), User)) switch
        {
            G.Info info => new Frame { GroupInfo = WireMapping.Wire(info.Group) },
            var other => throw Unexpected(other),
        };

    private async Task<Frame?> ListGroupsAsync(Frame frame)
    {
        var groups = await AskAsync<IMailboxReply>(Backend.Mailboxes, new MailboxCommands.ListGroups(User)) as M.GroupsAre
            ?? throw new RequestException(ErrorCode.Internal, "unexpected answer from the backend");
        var infos = await Task.WhenAll(groups.Groups.Select(g => AskAsync<IGroupReply>(Backend.Groups, new GroupCommands.GetInfo(g, User))));
        var list = new GroupList();
        // The mailbox learns of membership changes from the group's fan-out: a change not yet fanned out is skipped.
        list.Groups.AddRange(infos.OfType<G.Info>().Select(i => WireMapping.Wire(i.Group)));
        return new Frame { GroupList = list };
    }

    private async Task<Frame?> UpdateGroupAsync(Frame frame)
    {
        var u = frame.UpdateGroup;
        return await AskGroupAsync(new GroupCommands.Update(GroupOf(u.GroupId), User, u.HasName ? u.Name : null,
                u.HasDescription ? u.Description : null, u.HasIconMediaId ? u.IconMediaId : null,
                u.Settings is null ? null : WireMapping.SettingsOf(u.Settings))) switch
        {
            G.Info info => new Frame { GroupInfo = WireMapping.Wire(info.Group) },
            var other => throw Unexpected(other),
        };
    }

    private async Task<Frame?> ChangeMembersAsync(Frame frame)
    {
        var (groupId, users, operation) = frame.PacketCase switch
        {
            Frame.PacketOneofCase.AddMembers => (frame.AddMembers.GroupId, frame.AddMembers.UserIds, MemberOperation.Add),
            Frame.PacketOneofCase.RemoveMembers => (frame.RemoveMembers.GroupId, frame.RemoveMembers.UserIds, MemberOperation.Remove),
            Frame.PacketOneofCase.PromoteAdmins => (frame.PromoteAdmins.GroupId, frame.PromoteAdmins.UserIds, MemberOperation.Promote),
            _ => (frame.DemoteAdmins.GroupId, frame.DemoteAdmins.UserIds, MemberOperation.Demote),
        };
        var group = GroupOf(groupId);
        var named = DistinctUsers(users);
        if (named.Length == 0)
            throw new RequestException(ErrorCode.InvalidArgument, "name at least one user");
        var (allowed, refused) = operation == MemberOperation.Add
            ? await ResolveNewMembersAsync(named)
            : (named, ImmutableArray<MemberResult>.Empty);
        if (allowed.IsEmpty)
        {
            // Nobody left to change, but the caller must still be allowed to ask.
            var info = await AskGroupAsync(new GroupCommands.GetInfo(group, User));
            if (info is not G.Info)
                throw Unexpected(info);
            return MembersResultFrame(group, InRequestOrder(refused, named));
        }
        return await AskGroupAsync(new GroupCommands.ChangeMembers(group, User, operation, allowed, refused)) switch
        {
            G.Members m => MembersResultFrame(group, InRequestOrder(m.Results, named)),
            var other => throw Unexpected(other),
        };
    }

    /// <summary>One result per user named, in the order the request named them (PROTOCOL.md §11).</summary>
    private static IEnumerable<MemberResult> InRequestOrder(IEnumerable<MemberResult> results, ImmutableArray<UserId> named)
    {
        var position = named.Select((user, i) => (user, i)).ToDictionary(p => p.user, p => p.i);
        return results.OrderBy(r => position.GetValueOrDefault(r.User, int.MaxValue));
    }

    private static Frame MembersResultFrame(GroupId group, IEnumerable<MemberResult> results)
    {
        var answer = new MembersResult { GroupId = group.Value };
        answer.Results.AddRange(results.Select(WireMapping.Wire));
        return new Frame { MembersResult = answer };
    }

    private async Task<Frame?> LeaveGroupAsync(Frame frame) =>
        await AskGroupAsync(new GroupCommands.Leave(GroupOf(frame.LeaveGroup.GroupId), User)) is G.Done
            ? new Frame { Ok = new Ok() }
            : throw new RequestException(ErrorCode.Internal, "unexpected answer from the backend");

    private async Task<Frame?> CreateInviteLinkAsync(Frame frame)
    {
        var group = GroupOf(frame.CreateInviteLink.GroupId);
        return await AskGroupAsync(new GroupCommands.CreateInvite(group, User)) switch
        {
            G.Invite invite => new Frame
            {
                InviteLink = new InviteLink { GroupId = group.Value, Code = InviteCode(group, invite.Secret), CreatedAt = WireMapping.Ms(invite.CreatedAt) },
            },
            var other => throw Unexpected(other),
        };
    }

    private async Task<Frame?> RevokeInviteLinkAsync(Frame frame) =>
        await AskGroupAsync(new GroupCommands.RevokeInvite(GroupOf(frame.RevokeInviteLink.GroupId), User)) is G.Done
            ? new Frame { Ok = new Ok() }
            : throw new RequestException(ErrorCode.Internal, "unexpected answer from the backend");

    private async Task<Frame?> PreviewInviteAsync(Frame frame)
    {
        var (group, secret) = ParseInviteCode(frame.PreviewInvite.Code);
        return await AskGroupAsync(new GroupCommands.PreviewInvite(group, secret)) switch
        {
            G.Preview p => new Frame
            {
                InvitePreview = new InvitePreview
                {
                    GroupId = group.Value, Name = p.Name, Description = p.Description, IconMediaId = p.IconMediaId,
                    MemberCount = (uint)p.MemberCount, Creator = p.Creator.Value ?? "",
                },
            },
            var other => throw Unexpected(other),
        };
    }

    private async Task<Frame?> JoinGroupByInviteAsync(Frame frame)
    {
        var (group, secret) = ParseInviteCode(frame.JoinGroupByInvite.Code);
        return await AskGroupAsync(new GroupCommands.JoinByInvite(group, User, secret)) switch
        {
            G.Info info => new Frame { GroupInfo = WireMapping.Wire(info.Group) },
            var other => throw Unexpected(other),
        };
    }

    private async Task<Frame?> GroupSendAsync(Frame frame)
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
        var meta = new MessageMeta((int)send.Kind, replyTo, send.ForwardCount, [.. send.Mentions.Distinct().Take(MaxUsersPerRequest)], target,
            (long)Math.Min(send.ClientTimestamp, long.MaxValue), send.Silent);
        CheckDeliverSize(meta with { Group = group }, payload switch
        {
            SenderKeyPayload s => [(s.Ciphertext.Bytes.Length, s.Ciphertext.Type)],
            PerDevicePayload p => p.Ciphertexts.Values.SelectMany(devices => devices.Values).Select(c => (c.Bytes.Length, c.Type)),
            _ => [],
        });
        if (send.Resend)
            return await GroupResendAsync(group, messageId, meta, payload as PerDevicePayload
                ?? throw new RequestException(ErrorCode.InvalidArgument, "a resend carries per_device ciphertexts for the devices it is for"));
        return await AskGroupAsync(new GroupCommands.Post(group, User, Device, messageId, meta, payload)) switch
        {
            G.Posted p => new Frame
            {
                GroupSendResult = new GroupSendResult
                {
                    MessageId = WireMapping.Bytes(p.MessageId), GroupSeq = (ulong)p.Seq, ServerTimestamp = WireMapping.Ms(p.At), Duplicate = p.Duplicate,
                },
            },
            var other => throw Unexpected(other),
        };
    }

    /// <summary>
    /// A new copy of a group message this user posted, for the member devices it names only (PROTOCOL.md §8.4): with the
    /// original group seq and time, stored in each named member's mailbox (the group's log is not touched).
    /// </summary>
    private async Task<Frame?> GroupResendAsync(GroupId group, MessageId messageId, MessageMeta meta, PerDevicePayload payload)
    {
        var post = await AskGroupAsync(new GroupCommands.GetPost(group, User, messageId)) as G.Posted ?? throw new RequestException(ErrorCode.Internal, "unexpected answer");
        var members = payload.Ciphertexts.Keys.ToList();
        var devices = await Task.WhenAll(members.Select(m => AskAsync<IAccountReply>(Backend.Accounts, new AccountCommands.GetDeliveryInfo(m, User))));
        var unknown = members.Zip(devices, (member, reply) => SendPolicy.UnknownDevices(member, (reply as A.DeliveryInfo)?.Devices ?? [],
                payload.Ciphertexts[member].Keys, member == User ? Device.Value : null))
            .OfType<DeviceMismatch>().ToList();
        if (unknown.Count > 0)
            throw new RequestException(ErrorCode.StaleDevices, "a resend names devices that do not exist", stale: [.. unknown.Select(WireMapping.Wire)]);
        var copy = meta with { Group = group, GroupSeq = post.Seq };
        var stored = await Task.WhenAll(members.Select(member => AskAsync<IMailboxReply>(Backend.Mailboxes,
            new MailboxCommands.Enqueue(member, messageId, User, Device, copy, payload.Ciphertexts[member], Resend: true))));
        if (stored.OfType<M.Rejected>().FirstOrDefault() is { } refused)
            throw new RequestException(refused.Error == MailboxError.NotFound ? ErrorCode.NotFound : ErrorCode.InvalidArgument, refused.Reason);
        return new Frame
        {
            GroupSendResult = new GroupSendResult { MessageId = WireMapping.Bytes(messageId), GroupSeq = (ulong)post.Seq, ServerTimestamp = WireMapping.Ms(post.At) },
        };
    }

    private static PerDevicePayload PerDevice(RecipientCiphertexts wire)
    {
        var perUser = new Dictionary<UserId, ImmutableSortedDictionary<uint, DeviceCiphertext>>();
        foreach (var item in wire.Items)
        {
            if (item.UserId.Length == 0 || item.Device is null || item.Device.DeviceId == 0)
                throw new RequestException(ErrorCode.InvalidArgument, "every per-device ciphertext names a user and a device");
            var user = new UserId(item.UserId);
            var devices = perUser.GetValueOrDefault(user, ImmutableSortedDictionary<uint, DeviceCiphertext>.Empty);
            if (devices.ContainsKey(item.Device.DeviceId))
                throw new RequestException(ErrorCode.InvalidArgument, $"two ciphertexts for device {item.Device.DeviceId} of {user}");
            perUser[user] = devices.Add(item.Device.DeviceId, new DeviceCiphertext(item.Device.Ciphertext.ToByteArray(), (int)item.Device.Type));
        }
        return new PerDevicePayload(perUser.ToImmutableDictionary());
    }

    private async Task<Frame?> GetGroupReceiptsAsync(Frame frame)
    {
        var get = frame.GetGroupReceipts;
        var group = GroupOf(get.GroupId);
        if (!MessageId.TryFrom(get.MessageId.Span, out var messageId))
            throw new RequestException(ErrorCode.InvalidArgument, "message_id must be exactly 16 bytes");
        // The group says whether the caller sent this message and to how many; the caller's own mailbox holds the receipts.
        var count = await AskGroupAsync(new GroupCommands.GetRecipientCount(group, User, messageId)) as G.RecipientCount
            ?? throw new RequestException(ErrorCode.Internal, "unexpected answer from the backend");
        var receipts = await AskAsync<IMailboxReply>(Backend.Mailboxes, new MailboxCommands.GetGroupReceipts(User, messageId)) as M.GroupReceiptsAre
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

    /// <summary>
    /// Splits users to add into those who may be added and those refused: unknown users (NOT_FOUND) and users
    /// who blocked the caller (FORBIDDEN: invite them with a link instead).
    /// </summary>
    private async Task<(ImmutableArray<UserId> Allowed, ImmutableArray<MemberResult> Refused)> ResolveNewMembersAsync(ImmutableArray<UserId> users)
    {
        // One directory query sorts out ids that do not exist, so that a list of 1,000 made-up ids starts no entity.
        var existing = await Backend.Directory.ExistingAsync(users, CancellationToken.None);
        var infos = await Task.WhenAll(users.Where(existing.Contains).Select(async u =>
            (User: u, Reply: await AskAsync<IAccountReply>(Backend.Accounts, new AccountCommands.GetDeliveryInfo(u, User)))));
        var allowed = ImmutableArray.CreateBuilder<UserId>();
        var refused = ImmutableArray.CreateBuilder<MemberResult>();
        refused.AddRange(users.Where(u => !existing.Contains(u)).Select(u => new MemberResult(u, GroupError.NotFound)));
        foreach (var (user, reply) in infos)
        {
            switch (reply)
            {
                case A.DeliveryInfo { Blocks: true }:
                    refused.Add(new MemberResult(user, GroupError.Forbidden));
                    break;
                case A.DeliveryInfo:
                    allowed.Add(user);
                    break;
                default:
                    refused.Add(new MemberResult(user, GroupError.NotFound));
                    break;
            }
        }
        return (allowed.ToImmutable(), refused.ToImmutable());
    }

    private static ImmutableArray<UserId> DistinctUsers(IEnumerable<string> ids)
    {
        var users = ids.Where(id => id.Length > 0).Distinct().Select(id => new UserId(id)).ToImmutableArray();
        return users.Length <= MaxUsersPerRequest
            ? users
            : throw new RequestException(ErrorCode.InvalidArgument, $"at most {MaxUsersPerRequest} users per request");
    }

    /// <summary>Group ids are 32 lowercase hex characters; anything else cannot be a group the caller belongs to.</summary>
    private static GroupId GroupOf(string id)
    {
        if (id.Length == 0)
            throw new RequestException(ErrorCode.InvalidArgument, "group_id is required");
        return id.Length == 32 && id.All(char.IsAsciiHexDigitLower)
            ? new GroupId(id)
            : throw new RequestException(ErrorCode.NotAMember, "you are not a member of this group");
    }

    private static string InviteCode(GroupId group, string secret) => group.Value + secret;

    private static (GroupId Group, string Secret) ParseInviteCode(string code) =>
        code.Length is > 32 and <= 96 && code.All(char.IsAsciiHexDigitLower)
            ? (new GroupId(code[..32]), code[32..])
            : throw new RequestException(ErrorCode.CodeInvalid, "unknown or revoked invite code");

    private async Task<IGroupReply> AskGroupAsync(IGroupCommand command) =>
        await AskAsync<IGroupReply>(Backend.Groups, command) switch
        {
            G.Rejected r => throw new RequestException(WireMapping.ErrorOf(r.Error), r.Reason),
            var reply => reply,
        };

    private static RequestException Unexpected(IGroupReply reply) =>
        new(ErrorCode.Internal, $"unexpected answer from the group: {reply.GetType().Name}");
}
