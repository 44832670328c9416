using Akka.WhatsApp.Domain.Groups;
using GroupMember = Akka.WhatsApp.Domain.Groups.GroupMember;
using GroupSettings = Akka.WhatsApp.Domain.Groups.GroupSettings;
using MemberResult = Akka.WhatsApp.Domain.Groups.MemberResult;
using WireGroupMember = Akka.WhatsApp.Protocol.GroupMember;
using WireGroupSettings = Akka.WhatsApp.Protocol.GroupSettings;
using WireMemberResult = Akka.WhatsApp.Protocol.MemberResult;

namespace Akka.WhatsApp.Edge.Sessions;

/// <summary>Groups on the wire.</summary>
public static partial class WireMapping
{
    public static GroupInfo Wire(GroupView g)
    {
        var info = new GroupInfo
        {
            GroupId = g.Id.Value,
            Name = g.Name,
            Description = g.Description,
            IconMediaId = g.IconMediaId,
            Creator = g.Creator.Value ?? "",
            CreatedAt = Ms(g.CreatedAt),
            Settings = Wire(g.Settings),
            LastGroupSeq = (ulong)g.LastSeq,
            Version = (ulong)g.Version,
        };
        info.Members.AddRange(g.Members.Select(Wire));
        return info;
    }

    public static WireGroupMember Wire(GroupMember m) => new()
    {
        UserId = m.User.Value,
        Role = (Protocol.GroupRole)(int)m.Role,
        JoinedAt = Ms(m.JoinedAt),
        AddedBy = m.AddedBy?.Value ?? "",
    };

    public static WireGroupSettings Wire(GroupSettings s) => new()
    {
        OnlyAdminsSend = s.OnlyAdminsSend,
        OnlyAdminsEditInfo = s.OnlyAdminsEditInfo,
        OnlyAdminsAddMembers = s.OnlyAdminsAddMembers,
    };

    public static GroupSettings SettingsOf(WireGroupSettings? s) =>
        s is null ? GroupSettings.Default : new GroupSettings(s.OnlyAdminsSend, s.OnlyAdminsEditInfo, s.OnlyAdminsAddMembers);

    public static GroupEvent Wire(GroupChange c)
    {
        var e = new GroupEvent
        {
            Type = (GroupEventType)(int)c.Type,
            ActorUserId = c.Actor.Value ?? "",
            Name = c.Name ?? "",
            Description = c.Description ?? "",
            IconMediaId = c.IconMediaId ?? "",
            Settings = c.Settings is { } s ? Wire(s) : null,
            Version = (ulong)c.Version,
        };
        e.UserIds.AddRange(c.Users.Select(u => u.Value));
        return e;
    }

    public static WireMemberResult Wire(MemberResult r) => new() { UserId = r.User.Value, Error = r.Error is { } e ? ErrorOf(e) : ErrorCode.Unspecified };

    public static ErrorCode ErrorOf(GroupError error) => error switch
    {
        GroupError.NotFound => ErrorCode.NotFound,
        GroupError.Forbidden => ErrorCode.Forbidden,
        GroupError.AlreadyExists => ErrorCode.AlreadyExists,
        GroupError.NotAMember => ErrorCode.NotAMember,
        GroupError.NotAdmin => ErrorCode.NotAdmin,
        GroupError.GroupFull => ErrorCode.GroupFull,
        GroupError.CodeInvalid => ErrorCode.CodeInvalid,
        GroupError.EditWindowExpired => ErrorCode.EditWindowExpired,
        _ => ErrorCode.InvalidArgument,
    };
}
