using System.Collections.Immutable;
using Akka.WhatsApp.Domain.Groups;
using Akka.WhatsApp.Domain.Mailbox;
using Xunit;
using static Akka.WhatsApp.Domain.Groups.GroupCommands;
using static Akka.WhatsApp.Domain.Groups.GroupEvents;
using static Akka.WhatsApp.Domain.Groups.GroupReplies;

namespace Akka.WhatsApp.Domain.Tests;

public sealed class GroupStateSpec
{
    private static readonly GroupId Id = new("0123456789abcdef0123456789abcdef");
    private static readonly UserId Alice = new("alice"), Bob = new("bob"), Carol = new("carol"), Dave = new("dave"), Eve = new("eve");
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);

    private static GroupState Run(GroupState state, IGroupCommand command, out IGroupReply reply, DateTimeOffset? at = null)
    {
        var (r, events) = state.Decide(command, at ?? Now);
        reply = r;
        return events.Aggregate(state, (s, e) => s.Apply(e));
    }

    private static GroupState Created(int maxMembers = 0, params UserId[] members) =>
        Run(GroupState.Empty, new Create(Id, Alice, "family", "", "", GroupSettings.Default, members.Length == 0 ? [Bob, Carol] : [.. members], [],
            maxMembers), out _);

    private static Post Message(UserId from, MessageId? id = null, int kind = 1) =>
        new(Id, from, DeviceId.Primary, id ?? MessageId.New(), new MessageMeta(kind),
            new SenderKeyPayload(new DeviceCiphertext([1, 2, 3], 3)));

    private static GroupError ErrorOf(IGroupReply reply) => Assert.IsType<Rejected>(reply).Error;

    [Fact]
    public void Creating_makes_the_caller_creator_the_others_members_and_posts_a_created_event_to_all()
    {
        var state = Created();
        Assert.Equal(GroupRole.Creator, state.Members[Alice].Role);
        Assert.Equal(GroupRole.Member, state.Members[Bob].Role);
        var post = Assert.Single(state.Outbox);
        Assert.Equal(GroupChangeType.Created, post.Change!.Type);
        Assert.Equal(1, post.Seq);
        Assert.Equal([Alice, Bob, Carol], post.Recipients.OrderBy(u => u.Value));
        Assert.Equal(1, state.Version);
    }

    [Fact]
    public void A_retried_create_by_the_same_creator_returns_the_group_and_anyone_else_gets_already_exists()
    {
        var state = Created();
        var (again, events) = state.Decide(new Create(Id, Alice, "family", "", "", GroupSettings.Default, [Bob, Carol], []), Now);
        Assert.Empty(events);
        Assert.Equal(3, Assert.IsType<GroupReplies.Created>(again).Group.Members.Length);
        Assert.Equal(GroupError.AlreadyExists, ErrorOf(state.Decide(new Create(Id, Eve, "x", "", "", GroupSettings.Default, [], []), Now).Reply));
    }

    [Fact]
    public void Members_beyond_the_cap_are_refused_one_by_one()
    {
        var state = Created(maxMembers: 3, Bob, Carol, Dave);
        Assert.Equal(3, state.Members.Count);
        state = Run(state, new ChangeMembers(Id, Alice, MemberOperation.Add, [Eve], [], 3), out var reply);
        Assert.Equal(GroupError.GroupFull, Assert.Single(Assert.IsType<Members>(reply).Results).Error);
        Assert.False(state.Members.ContainsKey(Eve));
    }

    [Fact]
    public void The_authorization_matrix_holds()
    {
        var state = Created();
        // Non-members: every request is NOT_A_MEMBER, and so is an unknown group.
        Assert.Equal(GroupError.NotAMember, ErrorOf(state.Decide(Message(Eve), Now).Reply));
        Assert.Equal(GroupError.NotAMember, ErrorOf(state.Decide(new GetInfo(Id, Eve), Now).Reply));
        Assert.Equal(GroupError.NotAMember, ErrorOf(state.Decide(new ChangeMembers(Id, Eve, MemberOperation.Add, [Eve], []), Now).Reply));
        Assert.Equal(GroupError.NotAMember, ErrorOf(GroupState.Empty.Decide(new GetInfo(Id, Alice), Now).Reply));
        // Plain members may not remove, promote, demote, change settings or make invite links.
        foreach (var op in new[] { MemberOperation.Remove, MemberOperation.Promote, MemberOperation.Demote })
            Assert.Equal(GroupError.NotAdmin, ErrorOf(state.Decide(new ChangeMembers(Id, Bob, op, [Carol], []), Now).Reply));
        Assert.Equal(GroupError.NotAdmin,
            ErrorOf(state.Decide(new Update(Id, Bob, null, null, null, GroupSettings.Default with { OnlyAdminsSend = true }), Now).Reply));
        Assert.Equal(GroupError.NotAdmin, ErrorOf(state.Decide(new CreateInvite(Id, Bob, "s"), Now).Reply));
        // ...but may add members and edit the info unless the settings say otherwise.
        Assert.IsType<Members>(state.Decide(new ChangeMembers(Id, Bob, MemberOperation.Add, [Dave], []), Now).Reply);
        Assert.IsType<Info>(state.Decide(new Update(Id, Bob, "renamed", null, null, null), Now).Reply);

        state = Run(state, new Update(Id, Alice, null, null, null, new GroupSettings(true, true, true)), out _);
        Assert.Equal(GroupError.NotAdmin, ErrorOf(state.Decide(Message(Bob), Now).Reply));
        Assert.Equal(GroupError.NotAdmin, ErrorOf(state.Decide(new ChangeMembers(Id, Bob, MemberOperation.Add, [Dave], []), Now).Reply));
        Assert.Equal(GroupError.NotAdmin, ErrorOf(state.Decide(new Update(Id, Bob, "renamed", null, null, null), Now).Reply));
        Assert.IsType<Posted>(state.Decide(Message(Alice), Now).Reply);

        // A removed member can no longer send.
        state = Run(state, new ChangeMembers(Id, Alice, MemberOperation.Remove, [Bob], []), out _);
        Assert.Equal(GroupError.NotAMember, ErrorOf(state.Decide(Message(Bob), Now).Reply));
    }

    [Fact]
    public void Nobody_removes_or_demotes_the_creator()
    {
        var state = Run(Created(), new ChangeMembers(Id, Alice, MemberOperation.Promote, [Bob], []), out _);
        Assert.Equal(GroupRole.Admin, state.Members[Bob].Role);
        Run(state, new ChangeMembers(Id, Bob, MemberOperation.Remove, [Alice, Carol], []), out var removed);
        Assert.Equal([GroupError.Forbidden, null], Assert.IsType<Members>(removed).Results.Select(r => r.Error));
        Run(state, new ChangeMembers(Id, Bob, MemberOperation.Demote, [Alice], []), out var demoted);
        Assert.Equal(GroupError.Forbidden, Assert.Single(Assert.IsType<Members>(demoted).Results).Error);
    }

    [Fact]
    public void When_the_last_admin_leaves_the_longest_standing_member_becomes_admin()
    {
        var state = Run(Created(), new Leave(Id, Alice), out var reply);
        Assert.IsType<GroupReplies.Done>(reply);
        Assert.False(state.Members.ContainsKey(Alice));
        Assert.Equal(GroupRole.Admin, state.Members[Bob].Role);
        var events = state.Outbox.Skip(1).Select(p => p.Change!.Type).ToList();
        Assert.Equal([GroupChangeType.MemberLeft, GroupChangeType.AdminsPromoted], events);
        // The leaver hears of their own leaving once, and of nothing after.
        Assert.Contains(Alice, state.Outbox[1].Recipients);
        Assert.DoesNotContain(Alice, state.Outbox[2].Recipients);
    }

    [Fact]
    public void Messages_get_consecutive_group_seqs_and_a_retry_gets_the_original_answer()
    {
        var state = Created();
        var id = MessageId.New();
        state = Run(state, Message(Bob, id), out var first);
        state = Run(state, Message(Carol), out var second);
        var (retry, events) = state.Decide(Message(Bob, id), Now.AddSeconds(5));

        Assert.Equal(2, Assert.IsType<Posted>(first).Seq);
        Assert.Equal(3, Assert.IsType<Posted>(second).Seq);
        Assert.Empty(events);
        Assert.True(Assert.IsType<Posted>(retry).Duplicate);
        Assert.Equal(2, ((Posted)retry).Seq);
        Assert.Equal(GroupError.InvalidArgument, ErrorOf(state.Decide(Message(Carol, id), Now).Reply)); // someone else's id
    }

    [Fact]
    public void Recipients_are_the_members_when_posted_so_later_members_get_no_earlier_messages()
    {
        var state = Run(Created(), Message(Bob), out _);
        state = Run(state, new ChangeMembers(Id, Alice, MemberOperation.Add, [Dave], []), out _);
        state = Run(state, new ChangeMembers(Id, Alice, MemberOperation.Remove, [Carol], []), out _);
        state = Run(state, Message(Bob), out _);

        var posts = state.Outbox;
        Assert.DoesNotContain(Dave, posts[1].Recipients);
        Assert.Contains(Carol, posts[1].Recipients);
        Assert.Contains(Carol, posts[3].Recipients); // the removal itself reaches the removed member
        Assert.Contains(Dave, posts[4].Recipients);
        Assert.DoesNotContain(Carol, posts[4].Recipients);
    }

    [Fact]
    public void Fanned_out_posts_leave_the_outbox()
    {
        var state = Run(Run(Created(), Message(Bob), out _), Message(Bob), out _);
        state = state.Apply(new FannedOut(2));
        Assert.Equal([3L], state.Outbox.Select(p => p.Seq));
        Assert.Equal(2, state.FannedOutUpTo);
    }

    [Fact]
    public void Invite_links_join_preview_and_stop_working_when_revoked()
    {
        var state = Run(Created(), new CreateInvite(Id, Alice, "secret1"), out var invite);
        Assert.Equal("secret1", Assert.IsType<Invite>(invite).Secret);
        Run(state, new CreateInvite(Id, Alice, "other"), out var again);
        Assert.Equal("secret1", Assert.IsType<Invite>(again).Secret);

        Assert.Equal(3, Assert.IsType<Preview>(state.Decide(new PreviewInvite(Id, "secret1"), Now).Reply).MemberCount);
        Assert.Equal(GroupError.CodeInvalid, ErrorOf(state.Decide(new PreviewInvite(Id, "wrong"), Now).Reply));
        var joined = Run(state, new JoinByInvite(Id, Eve, "secret1"), out var info);
        Assert.Contains(Assert.IsType<Info>(info).Group.Members, m => m.User == Eve);
        Assert.Equal(GroupChangeType.MemberJoinedByInvite, joined.Outbox[^1].Change!.Type);

        state = Run(state, new RevokeInvite(Id, Alice), out _);
        Assert.Equal(GroupError.CodeInvalid, ErrorOf(state.Decide(new JoinByInvite(Id, Eve, "secret1"), Now).Reply));
        Assert.Equal(GroupError.CodeInvalid, ErrorOf(GroupState.Empty.Decide(new JoinByInvite(Id, Eve, "secret1"), Now).Reply));
    }

    [Fact]
    public void Every_change_raises_the_version_and_is_delivered_as_a_system_message()
    {
        var state = Run(Created(), new Update(Id, Alice, "new name", "about us", null, null), out var reply);
        Assert.Equal(3, Assert.IsType<Info>(reply).Group.Version);
        var posts = state.Outbox.Skip(1).ToList();
        Assert.Equal([GroupChangeType.NameChanged, GroupChangeType.DescriptionChanged], posts.Select(p => p.Change!.Type));
        Assert.All(posts, p => Assert.Equal(ContentKinds.System, p.Meta.Kind));
        Assert.Equal([2L, 3L], posts.Select(p => p.Change!.Version));
        Assert.Equal(GroupState.SystemMessageId(Id, 2), posts[0].MessageId);
    }

    [Fact]
    public void Per_device_payloads_may_only_address_members()
    {
        var state = Created();
        var payload = new PerDevicePayload(ImmutableDictionary<UserId, ImmutableSortedDictionary<uint, DeviceCiphertext>>.Empty
            .Add(Eve, ImmutableSortedDictionary<uint, DeviceCiphertext>.Empty.Add(1, new DeviceCiphertext([1], 2))));
        var post = Message(Bob) with { Payload = payload };
        Assert.Equal(GroupError.InvalidArgument, ErrorOf(state.Decide(post, Now).Reply));
    }

    [Fact]
    public void Only_the_sender_may_edit_within_the_window()
    {
        var state = Created();
        var original = MessageId.New();
        state = Run(state, Message(Bob, original), out _);
        var edit = Message(Bob, kind: ContentKinds.Edit) with { Meta = new MessageMeta(ContentKinds.Edit, Target: original) };
        Assert.IsType<Posted>(state.Decide(edit, Now.AddMinutes(1)).Reply);
        Assert.Equal(GroupError.EditWindowExpired, ErrorOf(state.Decide(edit, Now.AddMinutes(16)).Reply));
        Assert.Equal(GroupError.EditWindowExpired, ErrorOf(state.Decide(edit with { From = Carol }, Now.AddMinutes(1)).Reply));
    }
}
