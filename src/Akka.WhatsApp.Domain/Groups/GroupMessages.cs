using System.Collections.Immutable;
using Akka.WhatsApp.Domain.Mailbox;

namespace Akka.WhatsApp.Domain.Groups;

/// <summary>Marker for every message addressed to a Group entity (the shard key is the group).</summary>
public interface IGroupCommand
{
    GroupId Group { get; }
}

/// <summary>Marker for the events a Group persists.</summary>
public interface IGroupEvent;

/// <summary>Marker for the replies of a Group (they may cross nodes).</summary>
public interface IGroupReply;

/// <summary>Values of the wire GroupRole.</summary>
public enum GroupRole
{
    Member = 1,
    Admin = 2,
    Creator = 3,
}

/// <summary>Values of the wire GroupEventType: every change of a group is one of these.</summary>
public enum GroupChangeType
{
    Created = 1,
    MembersAdded = 2,
    MembersRemoved = 3,
    MemberLeft = 4,
    MemberJoinedByInvite = 5,
    AdminsPromoted = 6,
    AdminsDemoted = 7,
    NameChanged = 8,
    DescriptionChanged = 9,
    IconChanged = 10,
    SettingsChanged = 11,
    InviteLinkRevoked = 12,
}

public sealed record GroupSettings(bool OnlyAdminsSend, bool OnlyAdminsEditInfo, bool OnlyAdminsAddMembers)
{
    public static readonly GroupSettings Default = new(false, false, false);
}

/// <summary>A member; <paramref name="Order"/> is the join order ("the longest-standing member" is the lowest).</summary>
public sealed record GroupMember(UserId User, GroupRole Role, DateTimeOffset JoinedAt, UserId? AddedBy, long Order)
{
    public bool IsAdmin => Role is GroupRole.Admin or GroupRole.Creator;
}

/// <summary>
/// One change of a group, as persisted and as its members see it (a SYSTEM message). The values a change
/// type does not use stay null. <paramref name="Version"/> is the group's version after the change.
/// </summary>
public sealed record GroupChange(
    GroupChangeType Type,
    UserId Actor,
    ImmutableArray<UserId> Users,
    string? Name = null,
    string? Description = null,
    string? IconMediaId = null,
    GroupSettings? Settings = null,
    long Version = 0)
{
    public ImmutableArray<UserId> Users { get; init; } = Users.IsDefault ? [] : Users;
}

/// <summary>
/// What a group message carries for its recipients, opaque to the server: one sender-key ciphertext for
/// everyone, or per-device ciphertexts per user.
/// </summary>
public abstract record GroupPayload;

public sealed record SenderKeyPayload(DeviceCiphertext Ciphertext) : GroupPayload;

public sealed record PerDevicePayload(ImmutableDictionary<UserId, ImmutableSortedDictionary<uint, DeviceCiphertext>> Ciphertexts) : GroupPayload;

/// <summary>
/// One entry of the group's log with its group seq: a message (<see cref="Payload"/>) or a change
/// (<see cref="Change"/>). It is fanned out to <see cref="Recipients"/>, the members when it was posted (and,
/// for a removal, the removed members once). Recipients are derived when the event is applied, never stored.
/// </summary>
public sealed record GroupPost(
    long Seq,
    MessageId MessageId,
    UserId From,
    DeviceId FromDevice,
    DateTimeOffset At,
    MessageMeta Meta,
    GroupPayload? Payload,
    GroupChange? Change)
{
    public ImmutableHashSet<UserId> Recipients { get; init; } = ImmutableHashSet<UserId>.Empty;
}

/// <summary>The outcome for one user of a member operation; <paramref name="Error"/> null means done.</summary>
public sealed record MemberResult(UserId User, GroupError? Error);

/// <summary>A group as its members see it.</summary>
public sealed record GroupView(
    GroupId Id,
    string Name,
    string Description,
    string IconMediaId,
    UserId Creator,
    DateTimeOffset CreatedAt,
    ImmutableArray<GroupMember> Members,
    GroupSettings Settings,
    long LastSeq,
    long Version);

public enum MemberOperation
{
    Add = 1,
    Remove = 2,
    Promote = 3,
    Demote = 4,
}

/// <summary>Commands a Group accepts. <c>MaxMembers</c> and invite secrets are filled in by the entity.</summary>
public static class GroupCommands
{
    /// <summary>
    /// Create the group with <paramref name="Creator"/> as creator. <paramref name="Members"/> are the initial
    /// members the caller may add; <paramref name="Refused"/> the ones already refused (unknown users, blocks).
    /// The group id is derived from the creator and the request key, so a retry reaches the same group.
    /// </summary>
    public sealed record Create(
        GroupId Group,
        UserId Creator,
        string Name,
        string Description,
        string IconMediaId,
        GroupSettings Settings,
        ImmutableArray<UserId> Members,
        ImmutableArray<MemberResult> Refused,
        int MaxMembers = 0) : IGroupCommand;

    public sealed record GetInfo(GroupId Group, UserId Requester) : IGroupCommand;

    /// <summary>Only the present values change; <paramref name="Settings"/> replaces all settings.</summary>
    public sealed record Update(GroupId Group, UserId Actor, string? Name, string? Description, string? IconMediaId, GroupSettings? Settings) : IGroupCommand;

    /// <summary>Add, remove, promote or demote; for Add, <paramref name="Refused"/> are users already refused.</summary>
    public sealed record ChangeMembers(
        GroupId Group,
        UserId Actor,
        MemberOperation Operation,
        ImmutableArray<UserId> Users,
        ImmutableArray<MemberResult> Refused,
        int MaxMembers = 0) : IGroupCommand;

    public sealed record Leave(GroupId Group, UserId User) : IGroupCommand;

    /// <summary>Returns the current invite link, creating one with <paramref name="NewSecret"/> if there is none.</summary>
    public sealed record CreateInvite(GroupId Group, UserId Actor, string NewSecret = "") : IGroupCommand;

    public sealed record RevokeInvite(GroupId Group, UserId Actor) : IGroupCommand;

    public sealed record PreviewInvite(GroupId Group, string Secret) : IGroupCommand;

    public sealed record JoinByInvite(GroupId Group, UserId User, string Secret, int MaxMembers = 0) : IGroupCommand;

    /// <summary>Post a message; idempotent by <paramref name="MessageId"/>.</summary>
    public sealed record Post(GroupId Group, UserId From, DeviceId FromDevice, MessageId MessageId, MessageMeta Meta, GroupPayload Payload) : IGroupCommand;

    /// <summary>How many members a message of <paramref name="Requester"/> was sent to (only its sender may ask).</summary>
    public sealed record GetRecipientCount(GroupId Group, UserId Requester, MessageId MessageId) : IGroupCommand;

    /// <summary>The group seq and time of a message <paramref name="Requester"/> posted (for a resend, PROTOCOL.md §8.4), or NOT_FOUND.</summary>
    public sealed record GetPost(GroupId Group, UserId Requester, MessageId MessageId) : IGroupCommand;
}

/// <summary>Events a Group persists.</summary>
public static class GroupEvents
{
    /// <summary>
    /// A change with its group seq. For <see cref="GroupChangeType.Created"/> the change's actor is the creator,
    /// its users the initial members, and it carries the name, description, icon and settings.
    /// </summary>
    public sealed record Changed(long Seq, MessageId MessageId, GroupChange Change, DateTimeOffset At) : IGroupEvent;

    public sealed record MessagePosted(long Seq, MessageId MessageId, UserId From, DeviceId FromDevice, DateTimeOffset At, MessageMeta Meta, GroupPayload Payload) : IGroupEvent;

    public sealed record InviteCreated(string Secret, DateTimeOffset At) : IGroupEvent;

    /// <summary>Every post up to <paramref name="UpToSeq"/> is stored in all its recipients' mailboxes.</summary>
    public sealed record FannedOut(long UpToSeq) : IGroupEvent;
}

/// <summary>Replies of a Group.</summary>
public static class GroupReplies
{
    public sealed record Info(GroupView Group) : IGroupReply;

    public sealed record Created(GroupView Group, ImmutableArray<MemberResult> Results) : IGroupReply;

    public sealed record Members(ImmutableArray<MemberResult> Results) : IGroupReply;

    public sealed record Posted(MessageId MessageId, long Seq, DateTimeOffset At, bool Duplicate) : IGroupReply;

    public sealed record Invite(string Secret, DateTimeOffset CreatedAt) : IGroupReply;

    public sealed record Preview(string Name, string Description, string IconMediaId, int MemberCount, UserId Creator) : IGroupReply;

    public sealed record RecipientCount(int Count) : IGroupReply;

    public sealed record Done : IGroupReply
    {
        public static readonly Done Instance = new();
    }

    public sealed record Rejected(GroupError Error, string Reason) : IGroupReply;
}

/// <summary>Why a Group refused a command (mapped to the wire error codes).</summary>
public enum GroupError
{
    InvalidArgument = 1,
    NotFound = 2,
    Forbidden = 3,
    AlreadyExists = 4,
    NotAMember = 5,
    NotAdmin = 6,
    GroupFull = 7,
    CodeInvalid = 8,
    EditWindowExpired = 9,
}
