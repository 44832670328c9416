using System.Collections.Immutable;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Akka.WhatsApp.Domain.Mailbox;
using Akka.WhatsApp.Domain.Messaging;
using static Akka.WhatsApp.Domain.Groups.GroupCommands;
using static Akka.WhatsApp.Domain.Groups.GroupEvents;
using static Akka.WhatsApp.Domain.Groups.GroupReplies;

namespace Akka.WhatsApp.Domain.Groups;

/// <summary>What the dedup window remembers of a recent group message.</summary>
public sealed record RecentPost(UserId From, long Seq, DateTimeOffset At, int RecipientCount);

/// <summary>
/// The state of one group: profile, settings, members and roles, the invite secret, and its log of posts
/// (messages and changes, numbered by group seq) not yet stored in every recipient's mailbox. Pure:
/// <see cref="Decide"/> checks membership and rights; <see cref="Apply"/> folds events. The entity around
/// it does the fan-out and records its progress with <see cref="FannedOut"/>.
/// </summary>
public sealed record GroupState : IAggregate<GroupState, IGroupCommand, IGroupEvent, IGroupReply>
{
    public const int DefaultMaxMembers = 1024;
    public const int MaxNameLength = 100;
    public const int MaxDescriptionLength = 2048;

    /// <summary>How many recent message ids are remembered for idempotent retries, edits and receipt counts.</summary>
    public const int DedupWindow = 10_000;

    public static readonly GroupState Empty = new();

    public bool Exists { get; init; }
    public UserId Creator { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public string Name { get; init; } = "";
    public string Description { get; init; } = "";
    public string IconMediaId { get; init; } = "";
    public GroupSettings Settings { get; init; } = GroupSettings.Default;
    public ImmutableDictionary<UserId, GroupMember> Members { get; init; } = ImmutableDictionary<UserId, GroupMember>.Empty;

    /// <summary>The members' ids, shared by every post's recipients until membership changes (no copy per post).</summary>
    public ImmutableHashSet<UserId> MemberIds { get; init; } = ImmutableHashSet<UserId>.Empty;

    /// <summary>The join order of the next member.</summary>
    public long NextOrder { get; init; }

    /// <summary>The seq of the last post; the next one gets LastSeq + 1.</summary>
    public long LastSeq { get; init; }

    /// <summary>Increases with every change (not with messages).</summary>
    public long Version { get; init; }

    public string? InviteSecret { get; init; }
    public DateTimeOffset InviteCreatedAt { get; init; }

    /// <summary>Posts not yet in every recipient's mailbox, in seq order.</summary>
    public ImmutableList<GroupPost> Outbox { get; init; } = ImmutableList<GroupPost>.Empty;

    public long FannedOutUpTo { get; init; }

    public ImmutableDictionary<MessageId, RecentPost> Recent { get; init; } = ImmutableDictionary<MessageId, RecentPost>.Empty;
    public ImmutableQueue<MessageId> RecentOrder { get; init; } = ImmutableQueue<MessageId>.Empty;

    public (IGroupReply Reply, IReadOnlyList<IGroupEvent> Events) Decide(IGroupCommand command, DateTimeOffset now)
    {
        if (command is Create create)
            return DecideCreate(create, now);
        if (!Exists)
            return command is PreviewInvite or JoinByInvite
                ? (InvalidCode, [])
                : (NotAMember, []); // the server does not reveal whether a group exists
        return command switch
        {
            PreviewInvite p => SecretMatches(p.Secret)
                ? (new Preview(Name, Description, IconMediaId, Members.Count, Creator), [])
                : (InvalidCode, []),
            JoinByInvite j => DecideJoin(j, now),
            _ when MemberOf(command) is null => (NotAMember, []),
            GetInfo => (new Info(View(command.Group)), []),
            Update u => DecideUpdate(u, now),
            ChangeMembers c => DecideMembers(c, now),
            Leave l => DecideLeave(l, now),
            CreateInvite c => DecideCreateInvite(c, now),
            RevokeInvite r => DecideRevoke(r, now),
            Post p => DecidePost(p, now),
            GetRecipientCount r => Recent.TryGetValue(r.MessageId, out var post) && post.From == r.Requester
                ? (new RecipientCount(post.RecipientCount), [])
                : (new Rejected(GroupError.NotFound, "no recent message of yours with this id in this group"), []),
            GetPost g => Recent.TryGetValue(g.MessageId, out var post) && post.From == g.Requester
                ? (new Posted(g.MessageId, post.Seq, post.At, Duplicate: true), [])
                : (new Rejected(GroupError.NotFound, "no message of yours with this id in this group"), []),
            _ => (new Rejected(GroupError.InvalidArgument, $"unknown command {command.GetType().Name}"), []),
        };
    }

    private static readonly Rejected NotAMember = new(GroupError.NotAMember, "you are not a member of this group");
    private static readonly Rejected NotAdmin = new(GroupError.NotAdmin, "only admins may do this");
    private static readonly Rejected InvalidCode = new(GroupError.CodeInvalid, "unknown or revoked invite code");

    private GroupMember? MemberOf(IGroupCommand command)
    {
        var user = command switch
        {
            GetInfo g => g.Requester,
            Update u => u.Actor,
            ChangeMembers c => c.Actor,
            Leave l => l.User,
            CreateInvite c => c.Actor,
            RevokeInvite r => r.Actor,
            Post p => p.From,
            GetRecipientCount r => r.Requester,
            GetPost g => g.Requester,
            _ => (UserId?)null,
        };
        return user is { } who && Members.TryGetValue(who, out var member) ? member : null;
    }

    private static int Cap(int maxMembers) => maxMembers > 0 ? maxMembers : DefaultMaxMembers;

    private (IGroupReply, IReadOnlyList<IGroupEvent>) DecideCreate(Create c, DateTimeOffset now)
    {
        if (Exists)
            return Creator == c.Creator
                ? (new Created(View(c.Group), [.. c.Refused, .. c.Members.Where(m => m != c.Creator).Select(m =>
                    new MemberResult(m, Members.ContainsKey(m) ? null : GroupError.GroupFull))]), [])
                : (new Rejected(GroupError.AlreadyExists, "this group exists"), []);
        if (ValidateName(c.Name) is { } badName)
            return (badName, []);
        if (ValidateDescription(c.Description) is { } badDescription)
            return (badDescription, []);

        var cap = Cap(c.MaxMembers);
        var results = c.Refused.ToBuilder();
        var added = ImmutableArray.CreateBuilder<UserId>();
        foreach (var user in c.Members.Distinct())
        {
            if (user == c.Creator)
                continue;
            var error = added.Count + 1 >= cap ? GroupError.GroupFull : (GroupError?)null;
            if (error is null)
                added.Add(user);
            results.Add(new MemberResult(user, error));
        }
        var change = new GroupChange(GroupChangeType.Created, c.Creator, added.ToImmutable(), c.Name, c.Description, c.IconMediaId,
            c.Settings, Version: 1);
        var created = new Changed(1, SystemMessageId(c.Group, 1), change, now);
        return (new Created(Apply(created).View(c.Group), results.ToImmutable()), [created]);
    }

    private (IGroupReply, IReadOnlyList<IGroupEvent>) DecideUpdate(Update u, DateTimeOffset now)
    {
        var actor = Members[u.Actor];
        var changesInfo = (u.Name is not null && u.Name != Name) || (u.Description is not null && u.Description != Description)
            || (u.IconMediaId is not null && u.IconMediaId != IconMediaId);
        if (changesInfo && Settings.OnlyAdminsEditInfo && !actor.IsAdmin)
            return (NotAdmin, []);
        if (u.Settings is not null && u.Settings != Settings && !actor.IsAdmin)
            return (NotAdmin, []);
        if (u.Name is not null && ValidateName(u.Name) is { } badName)
            return (badName, []);
        if (u.Description is not null && ValidateDescription(u.Description) is { } badDescription)
            return (badDescription, []);

        var changes = new List<GroupChange>();
        if (u.Name is not null && u.Name != Name)
            changes.Add(new GroupChange(GroupChangeType.NameChanged, u.Actor, [], Name: u.Name));
        if (u.Description is not null && u.Description != Description)
            changes.Add(new GroupChange(GroupChangeType.DescriptionChanged, u.Actor, [], Description: u.Description));
        if (u.IconMediaId is not null && u.IconMediaId != IconMediaId)
            changes.Add(new GroupChange(GroupChangeType.IconChanged, u.Actor, [], IconMediaId: u.IconMediaId));
        if (u.Settings is not null && u.Settings != Settings)
            changes.Add(new GroupChange(GroupChangeType.SettingsChanged, u.Actor, [], Settings: u.Settings));
        return Emit(u.Group, changes, now, state => new Info(state.View(u.Group)));
    }

    private (IGroupReply, IReadOnlyList<IGroupEvent>) DecideMembers(ChangeMembers c, DateTimeOffset now)
    {
        var actor = Members[c.Actor];
        var needsAdmin = c.Operation != MemberOperation.Add || Settings.OnlyAdminsAddMembers;
        if (needsAdmin && !actor.IsAdmin)
            return (NotAdmin, []);
        if (c.Users.IsDefaultOrEmpty)
            return (new Rejected(GroupError.InvalidArgument, "name at least one user"), []);

        var results = c.Refused.IsDefault ? ImmutableArray.CreateBuilder<MemberResult>() : c.Refused.ToBuilder();
        var done = ImmutableArray.CreateBuilder<UserId>();
        var admins = Members.Values.Count(m => m.IsAdmin);
        foreach (var user in c.Users.Distinct())
        {
            Members.TryGetValue(user, out var member);
            GroupError? error = c.Operation switch
            {
                MemberOperation.Add when member is not null => GroupError.AlreadyExists,
                MemberOperation.Add when Members.Count + done.Count >= Cap(c.MaxMembers) => GroupError.GroupFull,
                MemberOperation.Add => null,
                _ when member is null => GroupError.NotFound,
                MemberOperation.Remove when member.Role == GroupRole.Creator || user == c.Actor => GroupError.Forbidden,
                MemberOperation.Demote when member.Role == GroupRole.Creator => GroupError.Forbidden,
                MemberOperation.Demote when member.IsAdmin && admins - done.Count <= 1 => GroupError.Forbidden, // a group keeps an admin
                _ => null,
            };
            var changes = error is null && c.Operation switch
            {
                MemberOperation.Promote => !member!.IsAdmin,
                MemberOperation.Demote => member!.IsAdmin,
                _ => true,
            };
            if (changes)
                done.Add(user);
            results.Add(new MemberResult(user, error));
        }
        var type = c.Operation switch
        {
            MemberOperation.Add => GroupChangeType.MembersAdded,
            MemberOperation.Remove => GroupChangeType.MembersRemoved,
            MemberOperation.Promote => GroupChangeType.AdminsPromoted,
            _ => GroupChangeType.AdminsDemoted,
        };
        var reply = new Members(results.ToImmutable());
        return done.Count == 0
            ? (reply, [])
            : Emit(c.Group, [new GroupChange(type, c.Actor, done.ToImmutable())], now, _ => reply);
    }

    private (IGroupReply, IReadOnlyList<IGroupEvent>) DecideLeave(Leave l, DateTimeOffset now)
    {
        var changes = new List<GroupChange> { new(GroupChangeType.MemberLeft, l.User, [l.User]) };
        var rest = Members.Values.Where(m => m.User != l.User).ToList();
        // The last admin leaving makes the longest-standing member admin: a group always has one.
        if (Members[l.User].IsAdmin && rest.Count > 0 && !rest.Any(m => m.IsAdmin))
            changes.Add(new GroupChange(GroupChangeType.AdminsPromoted, l.User, [rest.MinBy(m => m.Order)!.User]));
        return Emit(l.Group, changes, now, _ => GroupReplies.Done.Instance);
    }

    private (IGroupReply, IReadOnlyList<IGroupEvent>) DecideCreateInvite(CreateInvite c, DateTimeOffset now)
    {
        if (!Members[c.Actor].IsAdmin)
            return (NotAdmin, []);
        if (InviteSecret is { } existing)
            return (new Invite(existing, InviteCreatedAt), []);
        if (string.IsNullOrEmpty(c.NewSecret))
            return (new Rejected(GroupError.InvalidArgument, "no secret for the new invite link"), []);
        return (new Invite(c.NewSecret, now), [new InviteCreated(c.NewSecret, now)]);
    }

    private (IGroupReply, IReadOnlyList<IGroupEvent>) DecideRevoke(RevokeInvite r, DateTimeOffset now)
    {
        if (!Members[r.Actor].IsAdmin)
            return (NotAdmin, []);
        return InviteSecret is null
            ? (GroupReplies.Done.Instance, [])
            : Emit(r.Group, [new GroupChange(GroupChangeType.InviteLinkRevoked, r.Actor, [])], now, _ => GroupReplies.Done.Instance);
    }

    private (IGroupReply, IReadOnlyList<IGroupEvent>) DecideJoin(JoinByInvite j, DateTimeOffset now)
    {
        if (!SecretMatches(j.Secret))
            return (InvalidCode, []);
        if (Members.ContainsKey(j.User))
            return (new Info(View(j.Group)), []);
        if (Members.Count >= Cap(j.MaxMembers))
            return (new Rejected(GroupError.GroupFull, "the group is full"), []);
        return Emit(j.Group, [new GroupChange(GroupChangeType.MemberJoinedByInvite, j.User, [j.User])], now, state => new Info(state.View(j.Group)));
    }

    private (IGroupReply, IReadOnlyList<IGroupEvent>) DecidePost(Post p, DateTimeOffset now)
    {
        if (Settings.OnlyAdminsSend && !Members[p.From].IsAdmin)
            return (NotAdmin, []);
        if (Recent.TryGetValue(p.MessageId, out var original))
            return original.From == p.From
                ? (new Posted(p.MessageId, original.Seq, original.At, Duplicate: true), [])
                : (new Rejected(GroupError.InvalidArgument, "this message id is taken: generate a new one"), []);
        if (p.Meta.Kind == ContentKinds.System)
            return (new Rejected(GroupError.InvalidArgument, "SYSTEM messages are made by the server"), []);
        if (ContentKinds.NeedsTarget(p.Meta.Kind) && p.Meta.Target is null)
            return (new Rejected(GroupError.InvalidArgument, "this kind of message needs target_message_id"), []);
        if (MessageChanges.Changes(p.Meta.Kind))
        {
            var target = Recent.GetValueOrDefault(p.Meta.Target!.Value);
            if (MessageChanges.Refusal(p.Meta.Kind, p.From, target?.From, target?.At, now) is { } refusal)
                return (new Rejected(GroupError.EditWindowExpired, refusal), []);
        }
        switch (p.Payload)
        {
            case SenderKeyPayload:
                break;
            case PerDevicePayload { Ciphertexts: var perUser } when perUser.Count > 0:
                if (perUser.Keys.FirstOrDefault(u => !Members.ContainsKey(u)) is { Value: not null } stranger)
                    return (new Rejected(GroupError.InvalidArgument, $"{stranger} is not a member of this group"), []);
                if (perUser.Values.Any(devices => devices.Count == 0 || devices.ContainsKey(0)))
                    return (new Rejected(GroupError.InvalidArgument, "per-device ciphertexts need device ids"), []);
                break;
            default:
                return (new Rejected(GroupError.InvalidArgument, "a group message needs a payload"), []);
        }
        var seq = LastSeq + 1;
        var meta = p.Meta with { Group = p.Group, GroupSeq = seq };
        return (new Posted(p.MessageId, seq, now, Duplicate: false),
            [new MessagePosted(seq, p.MessageId, p.From, p.FromDevice, now, meta, p.Payload)]);
    }

    /// <summary>Numbers the changes one after the other and replies with what <paramref name="reply"/> makes of the state after them.</summary>
    private (IGroupReply, IReadOnlyList<IGroupEvent>) Emit(GroupId group, IReadOnlyList<GroupChange> changes, DateTimeOffset now, Func<GroupState, IGroupReply> reply)
    {
        if (changes.Count == 0)
            return (reply(this), []);
        var events = new List<IGroupEvent>();
        var state = this;
        foreach (var change in changes)
        {
            var seq = state.LastSeq + 1;
            var e = new Changed(seq, SystemMessageId(group, seq), change with { Version = state.Version + 1 }, now);
            events.Add(e);
            state = state.Apply(e);
        }
        return (reply(state), events);
    }

    public GroupState Apply(IGroupEvent @event) =>
        @event switch
        {
            Changed c => ApplyChange(c),
            MessagePosted m => ApplyPosted(m),
            InviteCreated i => this with { InviteSecret = i.Secret, InviteCreatedAt = i.At },
            FannedOut f => this with
            {
                FannedOutUpTo = Math.Max(FannedOutUpTo, f.UpToSeq),
                Outbox = Outbox.RemoveAll(p => p.Seq <= f.UpToSeq),
            },
            _ => this,
        };

    private GroupState ApplyPosted(MessagePosted m)
    {
        var post = PostOf(m, MemberIds);
        var recent = Recent.SetItem(m.MessageId, new RecentPost(m.From, m.Seq, m.At, MemberIds.Count - 1));
        var order = RecentOrder.Enqueue(m.MessageId);
        while (recent.Count > DedupWindow)
        {
            order = order.Dequeue(out var oldest);
            recent = recent.Remove(oldest);
        }
        return this with { LastSeq = m.Seq, Outbox = Outbox.Add(post), Recent = recent, RecentOrder = order };
    }

    private GroupState ApplyChange(Changed e)
    {
        var c = e.Change;
        var members = Members;
        var state = this;
        var order = NextOrder;
        switch (c.Type)
        {
            case GroupChangeType.Created:
                members = members.SetItem(c.Actor, new GroupMember(c.Actor, GroupRole.Creator, e.At, null, order++));
                foreach (var user in c.Users)
                    members = members.SetItem(user, new GroupMember(user, GroupRole.Member, e.At, c.Actor, order++));
                state = state with
                {
                    Exists = true,
                    Creator = c.Actor,
                    CreatedAt = e.At,
                    Name = c.Name ?? "",
                    Description = c.Description ?? "",
                    IconMediaId = c.IconMediaId ?? "",
                    Settings = c.Settings ?? GroupSettings.Default,
                };
                break;
            case GroupChangeType.MembersAdded or GroupChangeType.MemberJoinedByInvite:
                foreach (var user in c.Users.Where(u => !members.ContainsKey(u)))
                    members = members.Add(user, new GroupMember(user, GroupRole.Member, e.At,
                        c.Type == GroupChangeType.MembersAdded ? c.Actor : null, order++));
                break;
            case GroupChangeType.MembersRemoved or GroupChangeType.MemberLeft:
                members = members.RemoveRange(c.Users);
                break;
            case GroupChangeType.AdminsPromoted:
                foreach (var user in c.Users.Where(members.ContainsKey))
                    if (members[user].Role == GroupRole.Member)
                        members = members.SetItem(user, members[user] with { Role = GroupRole.Admin });
                break;
            case GroupChangeType.AdminsDemoted:
                foreach (var user in c.Users.Where(members.ContainsKey))
                    if (members[user].Role == GroupRole.Admin)
                        members = members.SetItem(user, members[user] with { Role = GroupRole.Member });
                break;
            case GroupChangeType.NameChanged:
                state = state with { Name = c.Name ?? state.Name };
                break;
            case GroupChangeType.DescriptionChanged:
                state = state with { Description = c.Description ?? state.Description };
                break;
            case GroupChangeType.IconChanged:
                state = state with { IconMediaId = c.IconMediaId ?? state.IconMediaId };
                break;
            case GroupChangeType.SettingsChanged:
                state = state with { Settings = c.Settings ?? state.Settings };
                break;
            case GroupChangeType.InviteLinkRevoked:
                state = state with { InviteSecret = null };
                break;
        }
        // Everyone who is a member after the change hears of it, and so do the members it removed (once).
        var memberIds = members == Members ? MemberIds : ImmutableHashSet.CreateRange(members.Keys);
        var recipients = c.Type is GroupChangeType.MembersRemoved or GroupChangeType.MemberLeft ? MemberIds : memberIds;
        var post = PostOf(e, recipients);
        return state with
        {
            Members = members,
            MemberIds = memberIds,
            NextOrder = order,
            LastSeq = e.Seq,
            Version = Math.Max(state.Version, c.Version),
            Outbox = Outbox.Add(post),
        };
    }

    /// <summary>The log entry of a message, for <paramref name="recipients"/>.</summary>
    public static GroupPost PostOf(MessagePosted m, ImmutableHashSet<UserId> recipients) =>
        new(m.Seq, m.MessageId, m.From, m.FromDevice, m.At, m.Meta, m.Payload, null) { Recipients = recipients };

    /// <summary>The log entry of a change: a SYSTEM message from its actor, for <paramref name="recipients"/>.</summary>
    public static GroupPost PostOf(Changed e, ImmutableHashSet<UserId> recipients) =>
        new(e.Seq, e.MessageId, e.Change.Actor, new DeviceId(0), e.At, new MessageMeta(ContentKinds.System, GroupSeq: e.Seq, GroupEvent: e.Change),
            null, e.Change) { Recipients = recipients };

    /// <summary>The id of the SYSTEM message of a change: the same for every recipient and every fan-out attempt.</summary>
    public static MessageId SystemMessageId(GroupId group, long seq) =>
        MessageId.Derived($"group-event\0{group.Value}\0{seq.ToString(CultureInfo.InvariantCulture)}");

    private bool SecretMatches(string secret) =>
        InviteSecret is { } current && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(current), Encoding.UTF8.GetBytes(secret));

    private static Rejected? ValidateName(string name)
    {
        var length = TextLength.CodePoints(name.Trim());
        return length is >= 1 and <= MaxNameLength ? null : new Rejected(GroupError.InvalidArgument, $"a group name has 1 to {MaxNameLength} characters");
    }

    private static Rejected? ValidateDescription(string description) =>
        TextLength.CodePoints(description) <= MaxDescriptionLength
            ? null
            : new Rejected(GroupError.InvalidArgument, $"a group description has at most {MaxDescriptionLength} characters");

    public GroupView View(GroupId id) =>
        new(id, Name, Description, IconMediaId, Creator, CreatedAt, [.. Members.Values.OrderBy(m => m.Order)], Settings, LastSeq, Version);
}
