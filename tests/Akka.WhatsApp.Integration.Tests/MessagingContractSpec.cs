using Akka.WhatsApp.Client;
using Akka.WhatsApp.Host;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;
using Akka.WhatsApp.Testing;
using Xunit;
using static Akka.WhatsApp.Integration.Tests.TestUsers;

namespace Akka.WhatsApp.Integration.Tests;

public sealed class SqliteContractNode() : MessagingNode(JournalKind.Sqlite);

/// <summary>
/// Where an independent client found the server and PROTOCOL.md §8 disagreeing: resends (§8.4) for 1:1 and group
/// messages, duplicate device ids, retries of accepted messages, QueueEmpty without a backlog.
/// </summary>
public sealed class MessagingContractSpec(SqliteContractNode fixture) : IClassFixture<SqliteContractNode>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private WhatsAppNode Node => fixture.Node;

    private static ByteString NewId() => ByteString.CopyFrom(Guid.NewGuid().ToByteArray());

    private static DeviceCiphertext For(uint device, string text) => new() { DeviceId = device, Ciphertext = ByteString.CopyFromUtf8(text) };

    private static Frame Send(string to, ByteString id, params DeviceCiphertext[] ciphertexts) =>
        new() { Send = new Send { MessageId = id, ToUserId = to, Kind = ContentKind.Text, Ciphertexts = { ciphertexts } } };

    private static Frame Resend(string to, ByteString id, params DeviceCiphertext[] ciphertexts)
    {
        var frame = Send(to, id, ciphertexts);
        frame.Send.Resend = true;
        return frame;
    }

    /// <summary>
    /// Bob's device as a raw connection: the SDK (which has no decryption yet, so no placeholders) drops a second Deliver
    /// of a message id it has shown; a client with end-to-end encryption replaces its placeholder with it (§8.4).
    /// </summary>
    private async Task<WhatsAppConnection> RawLoginAsync(Credentials device)
    {
        var connection = await WhatsAppConnection.ConnectAsync("127.0.0.1", (await Node.EdgeEndpoint).Port);
        await connection.HelloAsync();
        await connection.RequestAsync(new Frame
        {
            Login = new Login { UserId = device.UserId, DeviceId = device.DeviceId, Token = ByteString.CopyFrom(device.Token) },
        });
        return connection;
    }

    private static async Task<Deliver> NextDeliverAsync(WhatsAppConnection connection)
    {
        using var timeout = new CancellationTokenSource(Wait);
        while (true)
            if (await connection.Pushes.ReadAsync(timeout.Token) is { PacketCase: Frame.PacketOneofCase.Deliver } push)
                return push.Deliver;
    }

    private static async Task<ErrorCode> RefusedAsync(Func<Task> request) => (await Assert.ThrowsAsync<ServerErrorException>(request)).Code;

    [Fact]
    public async Task A_resend_delivers_a_new_copy_under_the_original_id_and_time_to_the_listed_device_only()
    {
        var (alice, bob) = (await RegisterAsync(Node), await RegisterAsync(Node));
        await using var a = await ConnectAsync(Node, alice);
        await using var b = await RawLoginAsync(bob);
        var id = NewId();
        var original = (await a.RequestAsync(Send(bob.UserId, id, For(1, "undecryptable")))).SendResult;
        var first = await NextDeliverAsync(b);

        // Bob's device could not decrypt it and asked for a new copy; Alice's device re-encrypts it for that device.
        var resent = (await a.RequestAsync(Resend(bob.UserId, id, For(1, "readable")))).SendResult;
        Assert.Equal(original.ServerTimestamp, resent.ServerTimestamp);
        Assert.False(resent.Duplicate);
        var copy = await NextDeliverAsync(b);
        Assert.Equal((id, original.ServerTimestamp, "readable"), (copy.MessageId, copy.ServerTimestamp, copy.Ciphertext.ToStringUtf8()));
        Assert.True(copy.Seq > first.Seq);

        // An ordinary retry of the id is still the original message: a duplicate, nothing new stored.
        var retry = (await a.RequestAsync(Send(bob.UserId, id, For(1, "undecryptable")))).SendResult;
        Assert.True(retry.Duplicate);
        Assert.Equal(original.ServerTimestamp, retry.ServerTimestamp);
    }

    [Fact]
    public async Task A_resend_of_a_message_never_accepted_is_NOT_FOUND_and_one_naming_a_device_that_does_not_exist_is_STALE_DEVICES()
    {
        var (alice, bob) = (await RegisterAsync(Node), await RegisterAsync(Node));
        await using var a = await ConnectAsync(Node, alice);
        Assert.Equal(ErrorCode.NotFound, await RefusedAsync(() => a.RequestAsync(Resend(bob.UserId, NewId(), For(1, "never sent")))));

        var id = NewId();
        await a.RequestAsync(Send(bob.UserId, id, For(1, "sent")));
        var stale = await Assert.ThrowsAsync<ServerErrorException>(() => a.RequestAsync(Resend(bob.UserId, id, For(5, "to nobody"))));
        Assert.Equal(ErrorCode.StaleDevices, stale.Code);
        var devices = Assert.Single(stale.Error.StaleDevices);
        Assert.Equal(bob.UserId, devices.UserId);
        Assert.Equal([5u], devices.ExtraDeviceIds);
        Assert.Empty(devices.MissingDeviceIds);
        // Only the original is in Bob's mailbox.
        Assert.Equal(["sent"], (await RawBacklogAsync(Node, bob)).Select(d => d.Ciphertext.ToStringUtf8()));
    }

    [Fact]
    public async Task A_group_resend_reaches_the_listed_member_device_with_the_original_group_seq_and_time()
    {
        var (alice, bob) = (await RegisterAsync(Node), await RegisterAsync(Node));
        await using var a = await ConnectAsync(Node, alice);
        await using var b = await RawLoginAsync(bob);
        var group = (await a.CreateGroupAsync("retries", [bob.UserId])).Group.GroupId;
        var id = Guid.NewGuid().ToByteArray();
        var posted = await a.GroupSendAsync(group, Payload("sender key message"), messageId: id);
        await NextDeliverAsync(b); // the creation event
        var delivered = await NextDeliverAsync(b);
        // Members see the time the sender was answered, not when their mailbox got the copy.
        Assert.Equal((posted.GroupSeq, posted.ServerTimestamp), (delivered.GroupSeq, delivered.ServerTimestamp));

        var resend = new GroupSend
        {
            GroupId = group, MessageId = ByteString.CopyFrom(id), Kind = ContentKind.Text, Resend = true,
            PerDevice = new RecipientCiphertexts { Items = { new RecipientCiphertext { UserId = bob.UserId, Device = For(1, "for bob's phone") } } },
        };
        var answer = (await a.RequestAsync(new Frame { GroupSend = resend })).GroupSendResult;
        Assert.Equal((posted.GroupSeq, posted.ServerTimestamp), (answer.GroupSeq, answer.ServerTimestamp));
        var copy = await NextDeliverAsync(b);
        Assert.Equal((group, posted.GroupSeq, posted.ServerTimestamp, "for bob's phone"),
            (copy.GroupId, copy.GroupSeq, copy.ServerTimestamp, copy.Ciphertext.ToStringUtf8()));
        Assert.Equal(ByteString.CopyFrom(id), copy.MessageId);

        resend.MessageId = NewId();
        Assert.Equal(ErrorCode.NotFound, await RefusedAsync(() => a.RequestAsync(new Frame { GroupSend = resend })));
    }

    [Fact]
    public async Task Look_ups_of_users_and_groups_that_do_not_exist_leave_no_entity_behind()
    {
        var alice = await RegisterAsync(Node);
        await using var a = await ConnectAsync(Node, alice);
        var (accounts, groups) = (await TestNodes.EntitiesAsync(Node, "account"), await TestNodes.EntitiesAsync(Node, "group"));

        for (var i = 0; i < 100; i++)
        {
            var nobody = $"nobody-{Guid.NewGuid():N}";
            Assert.Equal(ErrorCode.NotFound, await RefusedAsync(() => a.RequestAsync(new Frame { GetProfile = new GetProfile { UserId = nobody } })));
            Assert.Equal(ErrorCode.NotFound, await RefusedAsync(() => a.RequestAsync(Send(nobody, NewId(), For(1, "?")))));
            Assert.Equal(ErrorCode.NotAMember, await RefusedAsync(() => a.GetGroupInfoAsync(Convert.ToHexString(Guid.NewGuid().ToByteArray()).ToLowerInvariant())));
        }

        // Each look-up's entity stopped after answering: the node is back where it was (give or take this test's own).
        await Eventually.Until(async () => await TestNodes.EntitiesAsync(Node, "account") <= accounts + 2 && await TestNodes.EntitiesAsync(Node, "group") <= groups,
            Wait, "the entities of made-up ids to stop");
    }

    [Fact]
    public async Task Two_ciphertexts_for_one_device_are_INVALID_ARGUMENT_not_STALE_DEVICES()
    {
        var (alice, bob) = (await RegisterAsync(Node), await RegisterAsync(Node));
        await using var a = await ConnectAsync(Node, alice);
        Assert.Equal(ErrorCode.InvalidArgument, await RefusedAsync(() => a.RequestAsync(Send(bob.UserId, NewId(), For(1, "x"), For(1, "y")))));
    }

    [Fact]
    public async Task A_retry_of_an_accepted_message_gets_the_original_result_even_with_other_devices()
    {
        var (alice, bob) = (await RegisterAsync(Node), await RegisterAsync(Node));
        await using var a = await ConnectAsync(Node, alice);
        var id = NewId();
        var original = (await a.RequestAsync(Send(bob.UserId, id, For(1, "once")))).SendResult;

        var retry = (await a.RequestAsync(Send(bob.UserId, id, For(1, "once"), For(7, "a device bob does not have")))).SendResult;
        Assert.True(retry.Duplicate);
        Assert.Equal(original.ServerTimestamp, retry.ServerTimestamp);
        Assert.Equal(["once"], (await RawBacklogAsync(Node, bob)).Select(d => d.Ciphertext.ToStringUtf8()));
    }

    [Fact]
    public async Task QueueEmpty_carries_the_last_backlog_seq_and_0_when_there_was_no_backlog()
    {
        var (alice, bob) = (await RegisterAsync(Node), await RegisterAsync(Node));
        await using (var a = await ConnectAsync(Node, alice))
            await a.SendAsync(bob.UserId, Payload("one"));

        ulong acked;
        await using (var b = await ConnectAsync(Node, bob))
        {
            var got = (await b.NextAsync<MessageReceived>(1, Wait)).Single();
            Assert.Equal(got.Deliver.Seq, (await b.NextAsync<BacklogDone>(1, Wait)).Single().LastSeq);
            acked = got.Deliver.Seq;
        }
        await using var again = await ConnectAsync(Node, bob, lastAcked: acked);
        Assert.Equal(0ul, (await again.NextAsync<BacklogDone>(1, Wait)).Single().LastSeq);
    }
}
