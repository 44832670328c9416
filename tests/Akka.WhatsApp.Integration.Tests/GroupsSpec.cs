using Akka.WhatsApp.Client;
using Akka.WhatsApp.Host;
using Akka.WhatsApp.Protocol;
using Akka.WhatsApp.Testing;
using Google.Protobuf;
using Xunit;
using static Akka.WhatsApp.Integration.Tests.TestUsers;

namespace Akka.WhatsApp.Integration.Tests;

public sealed class PostgresGroupsNode() : MessagingNode(JournalKind.Postgres);

/// <summary>Groups end to end on PostgreSQL: real node, real TCP, the real SDK.</summary>
public sealed class GroupsSpec(PostgresGroupsNode fixture) : IClassFixture<PostgresGroupsNode>
{
    private WhatsAppNode Node => fixture.Node;

    private static async Task<ErrorCode> RefusedAsync(Func<Task> request) =>
        (await Assert.ThrowsAsync<ServerErrorException>(request)).Code;

    [Fact]
    public async Task The_authorization_matrix_is_answered_with_the_right_error_codes()
    {
        var (alice, bob, carol) = (await RegisterAsync(Node), await RegisterAsync(Node), await RegisterAsync(Node));
        await using var a = await ConnectAsync(Node, alice);
        await using var b = await ConnectAsync(Node, bob);
        await using var c = await ConnectAsync(Node, carol);
        var created = await a.CreateGroupAsync("matrix", [bob.UserId]);
        var group = created.Group.GroupId;
        Assert.All(created.Results, r => Assert.Equal(ErrorCode.Unspecified, r.Error));

        // A non-member: cannot send, read, or change anything; an unknown group looks the same.
        Assert.Equal(ErrorCode.NotAMember, await RefusedAsync(() => c.GroupSendAsync(group, Payload("hi"))));
        Assert.Equal(ErrorCode.NotAMember, await RefusedAsync(() => c.GetGroupInfoAsync(group)));
        Assert.Equal(ErrorCode.NotAMember, await RefusedAsync(() => c.AddMembersAsync(group, [carol.UserId])));
        Assert.Equal(ErrorCode.NotAMember, await RefusedAsync(() => c.GetGroupInfoAsync(new string('0', 32))));
        Assert.Equal(ErrorCode.NotAMember, await RefusedAsync(() => c.GetGroupInfoAsync("not-a-group-id")));

        // A plain member: no removing, promoting, demoting, settings or invite links.
        Assert.Equal(ErrorCode.NotAdmin, await RefusedAsync(() => b.RemoveMembersAsync(group, [alice.UserId])));
        Assert.Equal(ErrorCode.NotAdmin, await RefusedAsync(() => b.PromoteAdminsAsync(group, [bob.UserId])));
        Assert.Equal(ErrorCode.NotAdmin, await RefusedAsync(() => b.DemoteAdminsAsync(group, [alice.UserId])));
        Assert.Equal(ErrorCode.NotAdmin, await RefusedAsync(() => b.UpdateGroupAsync(group, settings: new GroupSettings { OnlyAdminsSend = true })));
        Assert.Equal(ErrorCode.NotAdmin, await RefusedAsync(() => b.CreateInviteLinkAsync(group)));

        // Admin-only messaging: the member is refused, the admin is not.
        await a.UpdateGroupAsync(group, settings: new GroupSettings { OnlyAdminsSend = true });
        Assert.Equal(ErrorCode.NotAdmin, await RefusedAsync(() => b.GroupSendAsync(group, Payload("may I?"))));
        await a.GroupSendAsync(group, Payload("announcement"));

        // The creator cannot be removed, and a removed member can no longer send.
        await a.UpdateGroupAsync(group, settings: new GroupSettings());
        await a.PromoteAdminsAsync(group, [bob.UserId]);
        var removeCreator = await b.RemoveMembersAsync(group, [alice.UserId]);
        Assert.Equal(ErrorCode.Forbidden, Assert.Single(removeCreator.Results).Error);
        await a.RemoveMembersAsync(group, [bob.UserId]);
        Assert.Equal(ErrorCode.NotAMember, await RefusedAsync(() => b.GroupSendAsync(group, Payload("still here?"))));

        // Adding someone unknown or someone who blocked you is refused per user.
        await c.BlockAsync(alice.UserId);
        var added = await a.AddMembersAsync(group, [carol.UserId, "nobody-" + Guid.NewGuid().ToString("N")]);
        Assert.Equal([ErrorCode.Forbidden, ErrorCode.NotFound], added.Results.OrderBy(r => r.UserId == carol.UserId ? 0 : 1).Select(r => r.Error));
    }

    [Fact]
    public async Task A_group_created_with_a_thousand_made_up_members_refuses_each_NOT_FOUND_in_request_order_and_starts_no_entity_for_them()
    {
        var (alice, bob) = (await RegisterAsync(Node), await RegisterAsync(Node));
        await using var a = await ConnectAsync(Node, alice);
        var made = Enumerable.Range(0, 1000).Select(i => $"made-up-{Guid.NewGuid():N}").ToList();
        var named = made.Take(500).Append(bob.UserId).Concat(made.Skip(500)).ToList();
        var accountsBefore = await TestNodes.EntitiesAsync(Node, "account");

        var created = await a.CreateGroupAsync("guests", named);

        Assert.Equal(named, created.Results.Select(r => r.UserId));
        Assert.All(created.Results.Where(r => r.UserId != bob.UserId), r => Assert.Equal(ErrorCode.NotFound, r.Error));
        Assert.Equal(ErrorCode.Unspecified, created.Results.Single(r => r.UserId == bob.UserId).Error);
        Assert.Equal(new[] { alice.UserId, bob.UserId }.Order(StringComparer.Ordinal), created.Group.Members.Select(m => m.UserId).Order(StringComparer.Ordinal));
        Assert.InRange(await TestNodes.EntitiesAsync(Node, "account") - accountsBefore, 0, 10);
    }

    [Fact]
    public async Task Every_member_sees_every_group_message_once_in_group_order_under_concurrent_senders()
    {
        const int perSender = 25;
        var users = await RegisterManyAsync(Node, 4);
        var clients = await Task.WhenAll(users.Select(u => ConnectAsync(Node, u)));
        try
        {
            var group = (await clients[0].CreateGroupAsync("busy", users.Skip(1).Select(u => u.UserId))).Group.GroupId;
            await Task.WhenAll(clients.Select((c, i) => Task.Run(async () =>
            {
                for (var n = 0; n < perSender; n++)
                    await c.GroupSendAsync(group, Payload($"{i}:{n}"));
            })));

            foreach (var (client, i) in clients.Select((c, i) => (c, i)))
            {
                var got = (await client.GroupMessagesAsync(group, 3 * perSender)).ToList();
                Assert.DoesNotContain(got, m => m.Deliver.FromUserId == users[i].UserId); // one's own device gets no copy
                Assert.True(got.Zip(got.Skip(1)).All(p => p.Item1.Deliver.GroupSeq < p.Item2.Deliver.GroupSeq), "group seqs must increase");
                foreach (var sender in Enumerable.Range(0, 4).Where(s => s != i))
                    Assert.Equal(Enumerable.Range(0, perSender).Select(n => $"{sender}:{n}"), got.Select(m => m.Text()).Where(t => t.StartsWith($"{sender}:")));
                Assert.DoesNotContain(await client.DrainAsync(TimeSpan.FromMilliseconds(300)), e => e is MessageReceived { Deliver.Kind: not ContentKind.System });
            }
        }
        finally
        {
            foreach (var c in clients)
                await c.DisposeAsync();
        }
    }

    [Fact]
    public async Task Membership_changes_reach_members_as_system_messages_and_newcomers_get_no_history()
    {
        var (alice, bob, carol) = (await RegisterAsync(Node), await RegisterAsync(Node), await RegisterAsync(Node));
        await using var a = await ConnectAsync(Node, alice);
        await using var b = await ConnectAsync(Node, bob);
        var group = (await a.CreateGroupAsync("family", [bob.UserId], description: "us")).Group.GroupId;
        await a.GroupSendAsync(group, Payload("before carol"));
        var invite = await a.CreateInviteLinkAsync(group);

        await using var c = await ConnectAsync(Node, carol);
        var preview = await c.PreviewInviteAsync(invite.Code);
        Assert.Equal(("family", 2u), (preview.Name, preview.MemberCount));
        var joined = await c.JoinGroupByInviteAsync(invite.Code);
        Assert.Equal(3, joined.Members.Count);
        await a.GroupSendAsync(group, Payload("welcome carol"));

        var bobSees = await b.NextAsync<MessageReceived>(4);
        Assert.Equal(GroupEventType.Created, bobSees[0].Deliver.System.GroupEvent.Type);
        Assert.Equal("before carol", bobSees[1].Text());
        Assert.Equal(GroupEventType.MemberJoinedByInvite, bobSees[2].Deliver.System.GroupEvent.Type);
        Assert.Equal([carol.UserId], bobSees[2].Deliver.System.GroupEvent.UserIds);
        Assert.Equal("welcome carol", bobSees[3].Text());

        var carolSees = await c.NextAsync<MessageReceived>(2);
        Assert.Equal(GroupEventType.MemberJoinedByInvite, carolSees[0].Deliver.System.GroupEvent.Type);
        Assert.Equal("welcome carol", carolSees[1].Text());

        Assert.Contains((await b.ListGroupsAsync()).Groups, g => g.GroupId == group);
        await b.LeaveGroupAsync(group);
        // Alice's own messages come to no device of hers: she sees created, carol joined, bob left.
        var aliceSees = await a.NextAsync<MessageReceived>(3);
        Assert.Equal([GroupEventType.Created, GroupEventType.MemberJoinedByInvite, GroupEventType.MemberLeft],
            aliceSees.Select(m => m.Deliver.System.GroupEvent.Type));
        Assert.Equal(bob.UserId, aliceSees[2].Deliver.System.GroupEvent.ActorUserId);
        var info = await a.GetGroupInfoAsync(group);
        Assert.Equal([alice.UserId, carol.UserId], info.Members.Select(m => m.UserId));
        await a.RevokeInviteLinkAsync(group);
        Assert.Equal(ErrorCode.CodeInvalid, await RefusedAsync(() => b.JoinGroupByInviteAsync(invite.Code)));
    }

    [Fact]
    public async Task Receipts_flow_back_to_the_sender_and_add_up_to_delivered_to_all_read_by_n_of_m()
    {
        var (alice, bob, carol) = (await RegisterAsync(Node), await RegisterAsync(Node), await RegisterAsync(Node));
        await using var a = await ConnectAsync(Node, alice);
        await using var b = await ConnectAsync(Node, bob);
        await using var c = await ConnectAsync(Node, carol);
        var group = (await a.CreateGroupAsync("receipts", [bob.UserId, carol.UserId])).Group.GroupId;
        var sent = await a.GroupSendAsync(group, Payload("did you read it?"), mentions: [bob.UserId]);

        var atBob = (await b.GroupMessagesAsync(group, 1)).Single();
        Assert.Equal([bob.UserId], atBob.Deliver.Mentions);
        await c.GroupMessagesAsync(group, 1);
        await b.SendReceiptAsync(alice.UserId, ReceiptType.Read, [sent.MessageId], group);

        var receipts = await a.NextAsync<ReceiptReceived>(3);
        Assert.All(receipts, r => Assert.Equal(group, r.Receipt.GroupId));
        Assert.Equal(2, receipts.Count(r => r.Receipt.Type == ReceiptType.Delivered));
        var summary = await a.GetGroupReceiptsAsync(group, sent.MessageId);
        Assert.Equal((2u, 2u, 1u), (summary.RecipientCount, summary.DeliveredCount, summary.ReadCount));

        // Only the sender may ask.
        Assert.Equal(ErrorCode.NotFound, await RefusedAsync(() => b.GetGroupReceiptsAsync(group, sent.MessageId)));
    }

    [Fact]
    public async Task A_retried_group_send_is_stored_and_shown_once()
    {
        var (alice, bob) = (await RegisterAsync(Node), await RegisterAsync(Node));
        await using var a = await ConnectAsync(Node, alice);
        var group = (await a.CreateGroupAsync("retry", [bob.UserId])).Group.GroupId;
        var id = Guid.NewGuid().ToByteArray();
        var first = await a.GroupSendAsync(group, Payload("once"), messageId: id);
        var retry = await a.GroupSendAsync(group, Payload("once"), messageId: id);
        Assert.True(retry.Duplicate);
        Assert.Equal(first.GroupSeq, retry.GroupSeq);

        // The answer means the group stored it; the fan-out to the members' mailboxes follows.
        List<Deliver> backlog = [];
        await Eventually.Until(async () => (backlog = await RawBacklogAsync(Node, bob)).Any(d => d.MessageId == ByteString.CopyFrom(id)),
            TimeSpan.FromSeconds(20), "the message in bob's mailbox");
        Assert.Single(backlog, d => d.MessageId == ByteString.CopyFrom(id));
    }
}

public static class GroupTestExtensions
{
    /// <summary>The next <paramref name="count"/> non-system messages of one group (system events are skipped).</summary>
    public static async Task<IEnumerable<MessageReceived>> GroupMessagesAsync(this WhatsAppClient client, string group, int count)
    {
        var got = new List<MessageReceived>();
        while (got.Count < count)
        {
            var next = (await client.NextAsync<MessageReceived>()).Single();
            if (next.Deliver.GroupId == group && next.Deliver.Kind != ContentKind.System)
                got.Add(next);
        }
        return got;
    }
}
