using System.Security.Cryptography;
using Akka.WhatsApp.Domain.Groups;
using Akka.WhatsApp.Domain.Mailbox;
using A = Akka.WhatsApp.Domain.Accounts.AccountReplies;
using G = Akka.WhatsApp.Domain.Groups.GroupReplies;
using M = Akka.WhatsApp.Domain.Mailbox.MailboxReplies;
using MemberResult = Akka.WhatsApp.Domain.Groups.MemberResult;

namespace Akka.WhatsApp.Edge.Handlers;

/// <summary>Groups (PROTOCOL.md §11): the Group entity decides; this handler checks the wire, resolves accounts and maps answers.</summary>
public sealed class GroupsHandler : IPacketHandler
{
    /// <summary>Users one request may name (a whole group's worth).</summary>
    public const int MaxUsersPerRequest = 1024;

    public void Register(PacketTable table) => table
        .Request(Frame.PacketOneofCase.CreateGroup, CreateAsync)
        .Request(Frame.PacketOneofCase.GetGroupInfo, GetInfoAsync)
        .Request(Frame.PacketOneofCase.ListGroups, ListAsync)
        .Request(Frame.PacketOneofCase.UpdateGroup, UpdateAsync)
        .Request(Frame.PacketOneofCase.AddMembers, ChangeMembersAsync)
        .Request(Frame.PacketOneofCase.RemoveMembers, ChangeMembersAsync)
        .Request(Frame.PacketOneofCase.PromoteAdmins, ChangeMembersAsync)
        .Request(Frame.PacketOneofCase.DemoteAdmins, ChangeMembersAsync)
        .Request(Frame.PacketOneofCase.LeaveGroup, LeaveAsync)
        .Request(Frame.PacketOneofCase.CreateInviteLink, CreateInviteAsync)
        .Request(Frame.PacketOneofCase.RevokeInviteLink, RevokeInviteAsync)
        .Request(Frame.PacketOneofCase.PreviewInvite, PreviewInviteAsync)
        .Request(Frame.PacketOneofCase.JoinGroupByInvite, JoinByInviteAsync);

    private static async Task<Frame?> CreateAsync(Frame frame, IEdgeSession session)
    {
        var create = frame.CreateGroup;
        if (create.RequestKey.Length is not (0 or 16))
            throw new RequestException(ErrorCode.InvalidArgument, "request_key must be empty or 16 bytes");
        var members = DistinctUsers(create.MemberUserIds).Where(u => u != session.User).ToImmutableArray();
        // The group id follows from the creator and the request key: a retried CreateGroup reaches the same group.
        var group = GroupIds.Derive(session.User, create.RequestKey.IsEmpty ? RandomNumberGenerator.GetBytes(16) : create.RequestKey.Span);
        await CheckIconAsync(session, "", create.IconMediaId);
        var (allowed, refused) = await ResolveNewMembersAsync(session, members);
        var reply = await AskGroupAsync(session, new GroupCommands.Create(group, session.User, create.Name, create.Description, create.IconMediaId,
            WireMapping.SettingsOf(create.Settings), allowed, refused));
        var created = reply as G.Created ?? throw Unexpected(reply);
        var answer = new GroupCreated { Group = WireMapping.Wire(created.Group) };
        answer.Results.AddRange(InRequestOrder(created.Results, members).Select(WireMapping.Wire));
        return new Frame { GroupCreated = answer };
    }

    private static async Task<Frame?> GetInfoAsync(Frame frame, IEdgeSession session) =>
        await AskGroupAsync(session, new GroupCommands.GetInfo(GroupOf(frame.GetGroupInfo.GroupId), session.User)) switch
        {
            G.Info info => new Frame { GroupInfo = WireMapping.Wire(info.Group) },
            var other => throw Unexpected(other),
        };

    private static async Task<Frame?> ListAsync(Frame frame, IEdgeSession session)
    {
        var groups = await session.AskAsync<IMailboxReply>(session.Backend.Mailboxes, new MailboxCommands.ListGroups(session.User)) as M.GroupsAre
            ?? throw new RequestException(ErrorCode.Internal, "unexpected answer from the backend");
        var infos = await Task.WhenAll(groups.Groups.Select(g => session.AskAsync<IGroupReply>(session.Backend.Groups, new GroupCommands.GetInfo(g, session.User))));
        var list = new GroupList();
        // The mailbox learns of membership changes from the group's fan-out: a change not yet fanned out is skipped.
        list.Groups.AddRange(infos.OfType<G.Info>().Select(i => WireMapping.Wire(i.Group)));
        return new Frame { GroupList = list };
    }

    private static async Task<Frame?> UpdateAsync(Frame frame, IEdgeSession session)
    {
        var u = frame.UpdateGroup;
        var group = GroupOf(u.GroupId);
        var before = "";
        if (u.HasIconMediaId && session.Backend.Media is not null)
        {
            before = (await AskGroupAsync(session, new GroupCommands.GetInfo(group, session.User)) as G.Info)?.Group.IconMediaId ?? "";
            await CheckIconAsync(session, before, u.IconMediaId);
        }
        var reply = await AskGroupAsync(session, new GroupCommands.Update(group, session.User, u.HasName ? u.Name : null,
            u.HasDescription ? u.Description : null, u.HasIconMediaId ? u.IconMediaId : null,
            u.Settings is null ? null : WireMapping.SettingsOf(u.Settings)));
        var info = reply as G.Info ?? throw Unexpected(reply);
        // The icon it replaced is no longer kept (§12): the next sweep deletes it.
        if (before.Length > 0 && info.Group.IconMediaId != before)
            await session.Backend.Media!.ReleaseAsync(before, CancellationToken.None);
        return new Frame { GroupInfo = WireMapping.Wire(info.Group) };
    }

    /// <summary>
    /// A new group icon must be the actor's own completed upload of kind GROUP_ICON (§12), as a profile photo must be
    /// the user's own: an icon id taken from another group or a chat's media would publish what its owner did not.
    /// </summary>
    private static async Task CheckIconAsync(IEdgeSession session, string current, string wanted)
    {
        if (wanted.Length == 0 || wanted == current || session.Backend.Media is not { } media)
            return;
        if (!await media.IsOwnAsync(session.User.Value, wanted, Domain.Media.MediaClass.GroupIcon, CancellationToken.None))
            throw new RequestException(ErrorCode.InvalidArgument, "icon_media_id must be your own completed upload of kind GROUP_ICON");
    }

    private static async Task<Frame?> ChangeMembersAsync(Frame frame, IEdgeSession session)
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
            ? await ResolveNewMembersAsync(session, named)
            : (named, ImmutableArray<MemberResult>.Empty);
        if (allowed.IsEmpty)
        {
            // Nobody left to change, but the caller must still be allowed to ask.
            var info = await AskGroupAsync(session, new GroupCommands.GetInfo(group, session.User));
            if (info is not G.Info)
                throw Unexpected(info);
            return MembersResultFrame(group, InRequestOrder(refused, named));
        }
        return await AskGroupAsync(session, new GroupCommands.ChangeMembers(group, session.User, operation, allowed, refused)) switch
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

    private static async Task<Frame?> LeaveAsync(Frame frame, IEdgeSession session) =>
        await AskGroupAsync(session, new GroupCommands.Leave(GroupOf(frame.LeaveGroup.GroupId), session.User)) is G.Done
            ? new Frame { Ok = new Ok() }
            : throw new RequestException(ErrorCode.Internal, "unexpected answer from the backend");

    private static async Task<Frame?> CreateInviteAsync(Frame frame, IEdgeSession session)
    {
        var group = GroupOf(frame.CreateInviteLink.GroupId);
        return await AskGroupAsync(session, new GroupCommands.CreateInvite(group, session.User)) switch
        {
            G.Invite invite => new Frame
            {
                InviteLink = new InviteLink { GroupId = group.Value, Code = GroupIds.InviteCode(group, invite.Secret), CreatedAt = WireMapping.Ms(invite.CreatedAt) },
            },
            var other => throw Unexpected(other),
        };
    }

    private static async Task<Frame?> RevokeInviteAsync(Frame frame, IEdgeSession session) =>
        await AskGroupAsync(session, new GroupCommands.RevokeInvite(GroupOf(frame.RevokeInviteLink.GroupId), session.User)) is G.Done
            ? new Frame { Ok = new Ok() }
            : throw new RequestException(ErrorCode.Internal, "unexpected answer from the backend");

    private static async Task<Frame?> PreviewInviteAsync(Frame frame, IEdgeSession session)
    {
        var (group, secret) = ParseInviteCode(frame.PreviewInvite.Code);
        return await AskGroupAsync(session, new GroupCommands.PreviewInvite(group, secret)) switch
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

    private static async Task<Frame?> JoinByInviteAsync(Frame frame, IEdgeSession session)
    {
        var (group, secret) = ParseInviteCode(frame.JoinGroupByInvite.Code);
        return await AskGroupAsync(session, new GroupCommands.JoinByInvite(group, session.User, secret)) switch
        {
            G.Info info => new Frame { GroupInfo = WireMapping.Wire(info.Group) },
            var other => throw Unexpected(other),
        };
    }

    /// <summary>
    /// Splits users to add into those who may be added and those refused: unknown users (NOT_FOUND) and users
    /// who blocked the caller (FORBIDDEN: invite them with a link instead).
    /// </summary>
    private static async Task<(ImmutableArray<UserId> Allowed, ImmutableArray<MemberResult> Refused)> ResolveNewMembersAsync(IEdgeSession session,
        ImmutableArray<UserId> users)
    {
        // One directory query sorts out ids that do not exist, so that a list of 1,000 made-up ids starts no entity.
        var existing = await session.Backend.Directory.ExistingAsync(users, CancellationToken.None);
        var infos = await Task.WhenAll(users.Where(existing.Contains).Select(async u =>
            (User: u, Reply: await session.AskAsync<IAccountReply>(session.Backend.Accounts, new AccountCommands.GetDeliveryInfo(u, session.User)))));
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

    public static ImmutableArray<UserId> DistinctUsers(IEnumerable<string> ids)
    {
        var users = ids.Where(id => id.Length > 0).Distinct().Select(id => new UserId(id)).ToImmutableArray();
        return users.Length <= MaxUsersPerRequest
            ? users
            : throw new RequestException(ErrorCode.InvalidArgument, $"at most {MaxUsersPerRequest} users per request");
    }

    /// <summary>A group id of the request; one that cannot be a group is answered as for a group the caller is not in.</summary>
    public static GroupId GroupOf(string id)
    {
        if (id.Length == 0)
            throw new RequestException(ErrorCode.InvalidArgument, "group_id is required");
        return GroupIds.IsWellFormed(id) ? new GroupId(id) : throw new RequestException(ErrorCode.NotAMember, "you are not a member of this group");
    }

    private static (GroupId Group, string Secret) ParseInviteCode(string code) =>
        GroupIds.TryParseInvite(code, out var group, out var secret)
            ? (group, secret)
            : throw new RequestException(ErrorCode.CodeInvalid, "unknown or revoked invite code");

    public static async Task<IGroupReply> AskGroupAsync(IEdgeSession session, IGroupCommand command) =>
        await session.AskAsync<IGroupReply>(session.Backend.Groups, command) switch
        {
            G.Rejected r => throw new RequestException(WireMapping.ErrorOf(r.Error), r.Reason),
            var reply => reply,
        };

    public static RequestException Unexpected(IGroupReply reply) => new(ErrorCode.Internal, $"unexpected answer from the group: {reply.GetType().Name}");
}
