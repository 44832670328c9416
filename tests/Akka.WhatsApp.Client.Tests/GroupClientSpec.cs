using Akka.WhatsApp.Protocol;
using Google.Protobuf;
using Xunit;

namespace Akka.WhatsApp.Client.Tests;

/// <summary>
/// What the SDK's group calls put on the wire, how they retry and how group deliveries are deduplicated, against a
/// scripted server (what the real server does with them is covered by the integration tests).
/// </summary>
public sealed class GroupClientSpec
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private const string Group = "0123456789abcdef0123456789abcdef";

    private static ByteString Id(byte fill) => ByteString.CopyFrom(Enumerable.Repeat(fill, 16).ToArray());

    private static Frame Deliver(ulong seq, ByteString id, string from, string group = "", ulong groupSeq = 0) =>
        new() { Deliver = new Deliver { Seq = seq, MessageId = id, FromUserId = from, GroupId = group, GroupSeq = groupSeq, Kind = ContentKind.Text } };

    [Fact]
    public void Group_deliveries_are_identified_by_group_and_message_id_and_one_to_one_deliveries_by_sender_and_message_id()
    {
        var id = Id(7);
        Assert.Equal(DeliveryKey.Of(Deliver(1, id, "alice", Group).Deliver), DeliveryKey.Of(Deliver(2, id, "bob", Group).Deliver));
        Assert.NotEqual(DeliveryKey.Of(Deliver(1, id, "alice", Group).Deliver), DeliveryKey.Of(Deliver(2, id, "alice", "fedcba9876543210fedcba9876543210").Deliver));
        Assert.NotEqual(DeliveryKey.Of(Deliver(1, id, "alice").Deliver), DeliveryKey.Of(Deliver(2, id, "bob").Deliver));
        Assert.NotEqual(DeliveryKey.Of(Deliver(1, id, "alice").Deliver), DeliveryKey.Of(Deliver(2, id, "alice", Group).Deliver));
        // A user id that happens to equal a group id is still another conversation.
        Assert.NotEqual(DeliveryKey.Of(Deliver(1, id, Group).Deliver), DeliveryKey.Of(Deliver(2, id, "alice", Group).Deliver));
    }

    [Fact]
    public async Task Redelivered_group_and_one_to_one_messages_are_shown_once_and_everything_is_acked()
    {
        var id = Id(1);
        await using var server = new ScriptedServer(_ => new Frame { Ok = new Ok() })
        {
            PushAfterLogin =
            [
                Deliver(1, id, "alice", Group, groupSeq: 1),
                Deliver(2, id, "alice", Group, groupSeq: 1),                               // redelivered: dropped
                Deliver(3, id, "alice", "fedcba9876543210fedcba9876543210", groupSeq: 1), // same id, another group
                Deliver(4, id, "alice"),                                                  // same id, 1:1
                Deliver(5, id, "bob"),                                                    // same id, another sender
                Deliver(6, id, "bob"),                                                    // redelivered: dropped
            ],
        };
        await using var client = await WhatsAppClient.ConnectAsync(server.Options, ScriptedServer.Alice);

        await server.ReceiveAsync(f => f.Ack?.UpToSeq == 6);
        var shown = new List<ulong>();
        while (client.Events.TryRead(out var e))
            if (e is MessageReceived m)
                shown.Add(m.Deliver.Seq);
        Assert.Equal([1ul, 3ul, 4ul, 5ul], shown);
    }

    [Fact]
    public async Task CreateGroup_retried_after_a_lost_connection_reuses_its_request_key()
    {
        var attempts = 0;
        await using var server = new ScriptedServer(f => Interlocked.Increment(ref attempts) == 1
            ? null // the node dies before answering
            : new Frame { GroupCreated = new GroupCreated { Group = new GroupInfo { GroupId = Group, Name = f.CreateGroup.Name } } });
        await using var client = await WhatsAppClient.ConnectAsync(server.Options, ScriptedServer.Alice);

        var created = await client.CreateGroupAsync("friends", ["bob", "carol"], settings: new GroupSettings { OnlyAdminsSend = true })
            .WaitAsync(Wait); // well below RequestTimeout: the retry must not wait for the lost request to time out

        Assert.Equal(Group, created.Group.GroupId);
        Assert.Equal(2, server.Logins);
        var sent = server.Requests(f => f.CreateGroup).ToList();
        Assert.Equal(2, sent.Count);
        Assert.Equal(16, sent[0].RequestKey.Length);
        Assert.Equal(sent[0].RequestKey, sent[1].RequestKey);
        Assert.All(sent, c => Assert.Equal(["bob", "carol"], c.MemberUserIds));
        Assert.All(sent, c => Assert.True(c.Settings.OnlyAdminsSend));
    }

    [Fact]
    public async Task CreateGroup_sends_the_request_key_it_was_given()
    {
        var key = Enumerable.Range(1, 16).Select(i => (byte)i).ToArray();
        await using var server = new ScriptedServer(_ => new Frame { GroupCreated = new GroupCreated { Group = new GroupInfo { GroupId = Group } } });
        await using var client = await WhatsAppClient.ConnectAsync(server.Options, ScriptedServer.Alice);

        await client.CreateGroupAsync("friends", [], requestKey: key);

        Assert.Equal(key, server.Requests(f => f.CreateGroup).Single().RequestKey.ToByteArray());
    }

    [Fact]
    public async Task GroupSend_waits_out_rate_limiting_and_retries_after_unavailable_with_the_same_message_id()
    {
        var attempts = 0;
        await using var server = new ScriptedServer(f => Interlocked.Increment(ref attempts) switch
        {
            1 => new Frame { Error = new Error { Code = ErrorCode.RateLimited, RetryAfterMs = 20 } },
            2 => new Frame { Error = new Error { Code = ErrorCode.Unavailable } },
            _ => new Frame { GroupSendResult = new GroupSendResult { MessageId = f.GroupSend.MessageId, GroupSeq = 7, ServerTimestamp = 1 } },
        });
        await using var client = await WhatsAppClient.ConnectAsync(server.Options, ScriptedServer.Alice);

        var result = await client.GroupSendAsync(Group, "hi all"u8.ToArray(), mentions: ["bob"]);

        Assert.Equal(7ul, result.GroupSeq);
        var sent = server.Requests(f => f.GroupSend).ToList();
        Assert.Equal(3, sent.Count);
        Assert.Equal(16, sent[0].MessageId.Length);
        Assert.All(sent, s =>
        {
            Assert.Equal(sent[0].MessageId, s.MessageId);
            Assert.Equal(sent[0].ClientTimestamp, s.ClientTimestamp);
            Assert.Equal(Group, s.GroupId);
            Assert.Equal(GroupSend.PayloadOneofCase.SenderKeyCiphertext, s.PayloadCase);
            Assert.Equal("hi all", s.SenderKeyCiphertext.ToStringUtf8());
            Assert.Equal(["bob"], s.Mentions);
        });
        Assert.NotEqual(0ul, sent[0].ClientTimestamp);
    }

    [Fact]
    public async Task GroupSend_retried_after_a_lost_connection_keeps_its_message_id()
    {
        var attempts = 0;
        await using var server = new ScriptedServer(f => Interlocked.Increment(ref attempts) == 1
            ? null
            : new Frame { GroupSendResult = new GroupSendResult { MessageId = f.GroupSend.MessageId, GroupSeq = 3 } });
        await using var client = await WhatsAppClient.ConnectAsync(server.Options, ScriptedServer.Alice);
        var id = Id(9).ToByteArray();

        var result = await client.GroupSendAsync(Group, "x"u8.ToArray(), messageId: id).WaitAsync(Wait);

        Assert.Equal(id, result.MessageId.ToByteArray());
        Assert.All(server.Requests(f => f.GroupSend), s => Assert.Equal(id, s.MessageId.ToByteArray()));
        Assert.Equal(2, server.Requests(f => f.GroupSend).Count());
    }

    [Fact]
    public async Task A_refused_group_message_is_not_retried()
    {
        await using var server = new ScriptedServer(_ => new Frame { Error = new Error { Code = ErrorCode.NotAMember, Message = "no" } });
        await using var client = await WhatsAppClient.ConnectAsync(server.Options, ScriptedServer.Alice);

        var refused = await Assert.ThrowsAsync<ServerErrorException>(() => client.GroupSendAsync(Group, "x"u8.ToArray()));

        Assert.Equal(ErrorCode.NotAMember, refused.Code);
        Assert.Single(server.Requests(f => f.GroupSend));
    }

    [Fact]
    public async Task UpdateGroup_sends_only_what_changes()
    {
        await using var server = new ScriptedServer(f => new Frame { GroupInfo = new GroupInfo { GroupId = f.UpdateGroup.GroupId } });
        await using var client = await WhatsAppClient.ConnectAsync(server.Options, ScriptedServer.Alice);

        await client.UpdateGroupAsync(Group, name: "new name");
        await client.UpdateGroupAsync(Group, iconMediaId: "");

        var (rename, removeIcon) = (server.Requests(f => f.UpdateGroup).First(), server.Requests(f => f.UpdateGroup).Last());
        Assert.True(rename.HasName);
        Assert.Equal("new name", rename.Name);
        Assert.False(rename.HasDescription);
        Assert.False(rename.HasIconMediaId);
        Assert.Null(rename.Settings);
        Assert.True(removeIcon.HasIconMediaId);
        Assert.False(removeIcon.HasName);
    }

    [Fact]
    public async Task Each_group_call_sends_its_own_request_and_returns_its_answer()
    {
        await using var server = new ScriptedServer(f => f.PacketCase switch
        {
            Frame.PacketOneofCase.GetGroupInfo => new Frame { GroupInfo = new GroupInfo { GroupId = f.GetGroupInfo.GroupId } },
            Frame.PacketOneofCase.ListGroups => new Frame { GroupList = new GroupList { Groups = { new GroupInfo { GroupId = Group } } } },
            Frame.PacketOneofCase.AddMembers or Frame.PacketOneofCase.RemoveMembers or Frame.PacketOneofCase.PromoteAdmins
                or Frame.PacketOneofCase.DemoteAdmins => new Frame { MembersResult = new MembersResult { GroupId = Group } },
            Frame.PacketOneofCase.CreateInviteLink => new Frame { InviteLink = new InviteLink { GroupId = Group, Code = Group + "ff" } },
            Frame.PacketOneofCase.PreviewInvite => new Frame { InvitePreview = new InvitePreview { GroupId = Group, MemberCount = 2 } },
            Frame.PacketOneofCase.JoinGroupByInvite => new Frame { GroupInfo = new GroupInfo { GroupId = Group } },
            Frame.PacketOneofCase.GetGroupReceipts => new Frame { GroupReceipts = new GroupReceipts { GroupId = Group, RecipientCount = 2 } },
            _ => new Frame { Ok = new Ok() },
        });
        await using var client = await WhatsAppClient.ConnectAsync(server.Options, ScriptedServer.Alice);

        Assert.Equal(Group, (await client.GetGroupInfoAsync(Group)).GroupId);
        Assert.Equal(Group, (await client.ListGroupsAsync()).Groups.Single().GroupId);
        await client.AddMembersAsync(Group, ["bob"]);
        await client.RemoveMembersAsync(Group, ["bob"]);
        await client.PromoteAdminsAsync(Group, ["carol"]);
        await client.DemoteAdminsAsync(Group, ["carol"]);
        await client.LeaveGroupAsync(Group);
        Assert.Equal(Group + "ff", (await client.CreateInviteLinkAsync(Group)).Code);
        await client.RevokeInviteLinkAsync(Group);
        Assert.Equal(2u, (await client.PreviewInviteAsync(Group + "ff")).MemberCount);
        Assert.Equal(Group, (await client.JoinGroupByInviteAsync(Group + "ff")).GroupId);
        Assert.Equal(2u, (await client.GetGroupReceiptsAsync(Group, Id(4))).RecipientCount);

        Assert.Equal(
            [
                Frame.PacketOneofCase.GetGroupInfo, Frame.PacketOneofCase.ListGroups, Frame.PacketOneofCase.AddMembers,
                Frame.PacketOneofCase.RemoveMembers, Frame.PacketOneofCase.PromoteAdmins, Frame.PacketOneofCase.DemoteAdmins,
                Frame.PacketOneofCase.LeaveGroup, Frame.PacketOneofCase.CreateInviteLink, Frame.PacketOneofCase.RevokeInviteLink,
                Frame.PacketOneofCase.PreviewInvite, Frame.PacketOneofCase.JoinGroupByInvite, Frame.PacketOneofCase.GetGroupReceipts,
            ],
            server.Received.Where(f => f.RequestId != 0).Select(f => f.PacketCase));
        Assert.Equal(["carol"], server.Requests(f => f.DemoteAdmins).Single().UserIds);
        Assert.Equal(Id(4), server.Requests(f => f.GetGroupReceipts).Single().MessageId);
    }

    [Fact]
    public async Task An_unexpected_answer_is_reported_as_such()
    {
        await using var server = new ScriptedServer(_ => new Frame { Ok = new Ok() });
        await using var client = await WhatsAppClient.ConnectAsync(server.Options, ScriptedServer.Alice);

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => client.GetGroupInfoAsync(Group));
        Assert.Contains("Ok", e.Message);
    }

    [Fact]
    public async Task Receipts_for_group_messages_name_their_group()
    {
        await using var server = new ScriptedServer(_ => new Frame { Ok = new Ok() });
        await using var client = await WhatsAppClient.ConnectAsync(server.Options, ScriptedServer.Alice);

        await client.SendReceiptAsync("bob", ReceiptType.Read, [Id(1)], Group);
        await client.SendReceiptAsync("bob", ReceiptType.Read, [Id(2)]);
        await client.SendReceiptAsync("bob", ReceiptType.Read, [Id(3)], CancellationToken.None);

        Assert.Equal([Group, "", ""], server.Requests(f => f.SendReceipt).Select(r => r.GroupId));
        Assert.All(server.Requests(f => f.SendReceipt), r => Assert.Equal("bob", r.ToUserId));
    }

    [Fact]
    public async Task Invalid_arguments_are_refused_before_anything_is_sent()
    {
        await using var server = new ScriptedServer(_ => new Frame { Ok = new Ok() });
        await using var client = await WhatsAppClient.ConnectAsync(server.Options, ScriptedServer.Alice);

        await Assert.ThrowsAsync<ArgumentException>(() => client.CreateGroupAsync(" ", ["bob"]));
        await Assert.ThrowsAsync<ArgumentException>(() => client.CreateGroupAsync("friends", ["bob"], requestKey: new byte[15]));
        await Assert.ThrowsAsync<ArgumentException>(() => client.GetGroupInfoAsync(""));
        await Assert.ThrowsAsync<ArgumentException>(() => client.UpdateGroupAsync(Group, name: ""));
        await Assert.ThrowsAsync<ArgumentException>(() => client.AddMembersAsync(Group, []));
        await Assert.ThrowsAsync<ArgumentException>(() => client.RemoveMembersAsync(Group, ["bob", ""]));
        await Assert.ThrowsAsync<ArgumentException>(() => client.GroupSendAsync(Group, "x"u8.ToArray(), messageId: new byte[3]));
        await Assert.ThrowsAsync<ArgumentException>(() => client.GroupSendAsync(Group, "x"u8.ToArray(), ContentKind.System));
        await Assert.ThrowsAsync<ArgumentException>(() => client.GetGroupReceiptsAsync(Group, ByteString.CopyFrom(1, 2, 3)));
        await Assert.ThrowsAsync<ArgumentException>(() => client.JoinGroupByInviteAsync(""));

        Assert.DoesNotContain(server.Received, f => f.RequestId != 0);
    }
}
