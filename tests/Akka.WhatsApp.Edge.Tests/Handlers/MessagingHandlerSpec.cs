using Akka.WhatsApp.Domain;
using Akka.WhatsApp.Domain.Accounts;
using Akka.WhatsApp.Domain.Mailbox;
using Akka.WhatsApp.Protocol;
using DeviceCiphertext = Akka.WhatsApp.Protocol.DeviceCiphertext;
using Google.Protobuf;
using Xunit;

namespace Akka.WhatsApp.Edge.Tests.Handlers;

/// <summary>The 1:1 send path at the edge, against probes: what it asks, in which order, and what it answers.</summary>
public sealed class MessagingHandlerSpec : EdgeSpec
{
    private static Frame Send(ByteString id, uint[] devices, uint[]? self = null) => new()
    {
        Send = new Send
        {
            MessageId = id, ToUserId = Bob.Value, Kind = ContentKind.Text,
            Ciphertexts = { devices.Select(d => new DeviceCiphertext { DeviceId = d, Ciphertext = ByteString.CopyFromUtf8("c") }) },
            SelfCiphertexts = { (self ?? []).Select(d => new DeviceCiphertext { DeviceId = d, Ciphertext = ByteString.CopyFromUtf8("s") }) },
        },
    };

    /// <summary>Answers the two GetDeliveryInfo of a send: the sender's (alice, with <paramref name="aliceDevices"/>) and bob's.</summary>
    private void AnswerDeliveryInfo(uint[] aliceDevices, uint[] bobDevices)
    {
        for (var i = 0; i < 2; i++)
        {
            var ask = Accounts.ExpectMsg<AccountCommands.GetDeliveryInfo>(Wait);
            Accounts.Reply(ask.User == Alice ? Info(false, aliceDevices) : Info(false, bobDevices));
        }
    }

    [Fact]
    public async Task A_send_asks_each_account_once_stores_the_message_and_its_sync_copy_then_answers_SendResult()
    {
        await LoggedInAsync(1, 2);
        var id = NewId();
        var request = Receive(Send(id, [1], self: [2]));
        AnswerDeliveryInfo([1, 2], [1]);

        var toBob = Mailboxes.ExpectMsg<MailboxCommands.Enqueue>(Wait);
        var bobSender = Mailboxes.LastSender;
        var toSelf = Mailboxes.ExpectMsg<MailboxCommands.Enqueue>(Wait);
        Assert.Equal((Bob, Alice, Bob), (toBob.Owner, toSelf.Owner, toSelf.Meta.SyncTo));
        bobSender.Tell(new MailboxReplies.Enqueued(toBob.MessageId, 5, Time.GetUtcNow(), false), Mailboxes.Ref);
        Mailboxes.Reply(new MailboxReplies.Enqueued(toSelf.MessageId, 9, Time.GetUtcNow(), false));

        var reply = await Connection.NextAsync();
        Assert.Equal((request, id), (reply.RequestId, reply.SendResult.MessageId));
        await NothingAskedOfTheAccountsAsync(); // nothing more asked of the accounts
    }

    [Fact]
    public async Task Pipelined_sends_hand_their_messages_and_sync_copies_over_in_frame_order()
    {
        await LoggedInAsync(1, 2);
        var (first, second) = (NewId(), NewId());
        Receive(Send(first, [1], self: [2]));
        Receive(Send(second, [1], self: [2]));
        // The second send's checks are answered first: its hand-over must still wait for the first one's.
        var asks = Enumerable.Range(0, 4).Select(_ => (Ask: Accounts.ExpectMsg<AccountCommands.GetDeliveryInfo>(Wait), Sender: Accounts.LastSender)).ToList();
        foreach (var (ask, sender) in asks.AsEnumerable().Reverse())
            sender.Tell(ask.User == Alice ? Info(false, 1, 2) : Info(false, 1), Accounts.Ref);

        var order = Enumerable.Range(0, 4).Select(_ => Mailboxes.ExpectMsg<MailboxCommands.Enqueue>(Wait)).Select(e => (e.MessageId, e.Owner)).ToList();
        Assert.Equal([(ToId(first), Bob), (ToId(first), Alice), (ToId(second), Bob), (ToId(second), Alice)], order);
    }

    private static MessageId ToId(ByteString id) => MessageId.TryFrom(id.Span, out var v) ? v : throw new ArgumentException("16 bytes");

    [Fact]
    public async Task Stale_devices_are_answered_from_the_account_lists_and_nothing_is_stored()
    {
        await LoggedInAsync(1, 2);
        var request = Receive(Send(NewId(), [1, 3]));
        AnswerDeliveryInfo([1, 2], [1, 2]);
        // Not accepted before: the recipient's mailbox says so, and the answer is STALE_DEVICES.
        Mailboxes.ExpectMsg<MailboxCommands.GetAccepted>(Wait);
        Mailboxes.Reply(new MailboxReplies.Rejected(MailboxError.NotFound, "no"));

        var reply = await Connection.NextAsync();
        Assert.Equal((request, ErrorCode.StaleDevices), (reply.RequestId, reply.Error.Code));
        var bob = reply.Error.StaleDevices.Single(s => s.UserId == Bob.Value);
        Assert.Equal([2u], bob.MissingDeviceIds);
        Assert.Equal([3u], bob.ExtraDeviceIds);
        var alice = reply.Error.StaleDevices.Single(s => s.UserId == Alice.Value);
        Assert.Equal([2u], alice.MissingDeviceIds);
    }

    [Fact]
    public async Task A_send_that_breaks_the_wire_rules_is_refused_without_asking_anyone()
    {
        await LoggedInAsync();
        var twice = Receive(Send(NewId(), [1, 1]));
        var shortId = Receive(new Frame { Send = new Send { MessageId = ByteString.CopyFrom(1, 2, 3), ToUserId = Bob.Value } });
        var system = Receive(new Frame { Send = new Send { MessageId = NewId(), ToUserId = Bob.Value, Kind = ContentKind.System } });

        var errors = new[] { await Connection.NextAsync(), await Connection.NextAsync(), await Connection.NextAsync() }.ToDictionary(f => f.RequestId, f => f.Error.Code);
        Assert.All(new[] { twice, shortId, system }, id => Assert.Equal(ErrorCode.InvalidArgument, errors[id]));
        await NothingAskedOfTheAccountsAsync();
    }
}

/// <summary>The per-connection send rate (a token bucket on injected time).</summary>
public sealed class SendRateSpec() : EdgeSpec(new EdgeSettings { SendsPerSecond = 2, SendBurst = 2 })
{
    private static Frame Send() => new()
    {
        Send = new Send
        {
            MessageId = NewId(), ToUserId = Bob.Value, Kind = ContentKind.Text,
            Ciphertexts = { new DeviceCiphertext { DeviceId = 1, Ciphertext = ByteString.CopyFromUtf8("c") } },
        },
    };

    [Fact]
    public async Task Sends_beyond_the_burst_are_refused_RATE_LIMITED_until_time_refills_the_bucket()
    {
        await LoggedInAsync();
        Receive(Send());
        Receive(Send());
        var refused = Receive(Send());
        var answer = await Connection.NextAsync();
        Assert.Equal((refused, ErrorCode.RateLimited), (answer.RequestId, answer.Error.Code));
        Assert.NotEqual(0ul, answer.Error.RetryAfterMs);

        Time.Advance(TimeSpan.FromSeconds(1)); // two sends' worth comes back
        Receive(Send());
        // Processed, not refused: its checks reach the accounts (the first two sends' checks came before).
        for (var i = 0; i < 3 * 2; i++)
            Accounts.ExpectMsg<AccountCommands.GetDeliveryInfo>(Wait);
        Assert.False(Connection.TryNext(out _), "nothing else was answered");
    }
}
