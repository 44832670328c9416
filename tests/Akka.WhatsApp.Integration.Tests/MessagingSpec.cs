using Akka.WhatsApp.Testing;
using Akka.WhatsApp.Client;
using Akka.WhatsApp.Host;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;
using Xunit;
using static Akka.WhatsApp.Integration.Tests.TestUsers;

namespace Akka.WhatsApp.Integration.Tests;

public sealed class SqliteMessagingNode() : MessagingNode(JournalKind.Sqlite);

public sealed class PostgresMessagingNode() : MessagingNode(JournalKind.Postgres);

/// <summary>One node per journal, shared by the messaging tests of that journal.</summary>
public abstract class MessagingNode(JournalKind journal) : IAsyncLifetime
{
    public WhatsAppNode Node { get; private set; } = null!;
    public HostSettings Settings { get; private set; } = null!;

    /// <summary>The node's clock: tests move it past rate limits instead of waiting.</summary>
    public ShiftedTime Time { get; } = new();

    public async Task InitializeAsync()
    {
        Settings = await TestNodes.SettingsAsync(journal);
        Node = await TestNodes.StartAsync(Settings, Time);
    }

    public async Task RestartAsync()
    {
        await Node.DisposeAsync();
        Node = await TestNodes.StartAsync(Settings, Time);
    }

    public async Task DisposeAsync() => await Node.DisposeAsync();
}

public sealed class SqliteMessagingSpec(SqliteMessagingNode node) : MessagingSpec(node), IClassFixture<SqliteMessagingNode>;

public sealed class PostgresMessagingSpec(PostgresMessagingNode node) : MessagingSpec(node), IClassFixture<PostgresMessagingNode>;

/// <summary>1:1 messaging end to end: real node, real TCP, the real SDK.</summary>
public abstract class MessagingSpec(MessagingNode fixture)
{
    private WhatsAppNode Node => fixture.Node;

    [Fact]
    public async Task Registering_a_number_again_keeps_the_user_id_and_replaces_the_token()
    {
        var phone = NewPhone();
        var first = await RegisterAsync(Node, phone);
        var options = await OptionsAsync(Node);

        // Codes are rate-limited per number: a second one within 30 s is refused with the time to wait.
        var limited = await Assert.ThrowsAsync<ServerErrorException>(() => WhatsAppClient.RequestCodeAsync(options, phone));
        Assert.Equal(ErrorCode.RateLimited, limited.Code);
        Assert.InRange(limited.Error.RetryAfterMs, 1ul, 30_000ul);
        fixture.Time.Advance(TimeSpan.FromMilliseconds(limited.Error.RetryAfterMs));
        var second = await RegisterAsync(Node, phone);

        Assert.Equal(first.UserId, second.UserId);
        Assert.Equal(1u, second.DeviceId);
        Assert.Equal(32, second.Token.Length);
        var e = await Assert.ThrowsAsync<ServerErrorException>(() => ConnectAsync(Node, first));
        Assert.Equal(ErrorCode.BadCredentials, e.Code);
    }

    [Fact]
    public async Task Messages_for_an_offline_user_arrive_in_order_when_they_connect()
    {
        var alice = await RegisterAsync(Node);
        var bob = await RegisterAsync(Node);
        await using (var a = await ConnectAsync(Node, alice))
            for (var i = 0; i < 20; i++)
                await a.SendAsync(bob.UserId, Payload($"m{i}"));

        await using var b = await ConnectAsync(Node, bob);
        var got = await b.NextAsync<MessageReceived>(20);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"m{i}"), got.Select(m => m.Text()));
        Assert.All(got, m => Assert.Equal(alice.UserId, m.Deliver.FromUserId));
        Assert.True(got.Zip(got.Skip(1)).All(p => p.Item1.Deliver.Seq < p.Item2.Deliver.Seq), "seqs must increase");
        await b.NextAsync<BacklogDone>();
    }

    [Fact]
    public async Task Sends_pipelined_by_one_device_arrive_in_the_order_they_were_made()
    {
        // 300 sends without waiting for answers: more than the 64 a connection may have in flight, so the client
        // queues some, and the server checks many at once. Order is the order of the calls.
        var alice = await RegisterAsync(Node);
        var bob = await RegisterAsync(Node);
        await using var a = await ConnectAsync(Node, alice);
        await using var b = await ConnectAsync(Node, bob);
        await b.NextAsync<BacklogDone>();
        await Task.WhenAll(Enumerable.Range(0, 300).Select(i => a.SendAsync(bob.UserId, Payload($"p{i}"))).ToList());
        var got = await b.NextAsync<MessageReceived>(300);
        Assert.Equal(Enumerable.Range(0, 300).Select(i => $"p{i}"), got.Select(m => m.Text()));
    }

    [Fact]
    public async Task A_send_retried_after_a_lost_reply_is_stored_and_shown_once()
    {
        var alice = await RegisterAsync(Node);
        var bob = await RegisterAsync(Node);
        await using var a = await ConnectAsync(Node, alice);
        var id = Guid.NewGuid().ToByteArray();

        var first = await a.SendAsync(bob.UserId, Payload("once"), messageId: id);
        var retry = await a.SendAsync(bob.UserId, Payload("once"), messageId: id);
        Assert.False(first.Duplicate);
        Assert.True(retry.Duplicate);
        Assert.Equal(first.ServerTimestamp, retry.ServerTimestamp);
        await a.SendAsync(bob.UserId, Payload("after"));

        await using var b = await ConnectAsync(Node, bob);
        var got = await b.NextAsync<MessageReceived>(2);
        Assert.Equal(["once", "after"], got.Select(m => m.Text()));
        Assert.DoesNotContain(await b.DrainAsync(TimeSpan.FromMilliseconds(500)), e => e is MessageReceived);
    }

    [Fact]
    public async Task Delivered_and_read_receipts_reach_a_sender_who_was_offline()
    {
        var alice = await RegisterAsync(Node);
        var bob = await RegisterAsync(Node);
        SendResult sent;
        ulong aliceAcked;
        await using (var a = await ConnectAsync(Node, alice))
        {
            sent = await a.SendAsync(bob.UserId, Payload("hello"));
            aliceAcked = a.LastAckedSeq;
        }

        await using (var b = await ConnectAsync(Node, bob))
        {
            var message = (await b.NextAsync<MessageReceived>()).Single();
            await b.SendReceiptAsync(alice.UserId, ReceiptType.Read, [message.Deliver.MessageId]);
        }

        await using var a2 = await ConnectAsync(Node, alice, aliceAcked);
        var receipts = await a2.NextAsync<ReceiptReceived>(2);
        Assert.Equal([ReceiptType.Delivered, ReceiptType.Read], receipts.Select(r => r.Receipt.Type).Order());
        Assert.All(receipts, r => Assert.Equal(bob.UserId, r.Receipt.FromUserId));
        Assert.All(receipts, r => Assert.Equal(sent.MessageId, Assert.Single(r.Receipt.MessageIds)));
    }

    [Fact]
    public async Task A_receipt_for_messages_never_received_from_that_user_is_refused()
    {
        var alice = await RegisterAsync(Node);
        var bob = await RegisterAsync(Node);
        var mallory = await RegisterAsync(Node);
        await using (var a = await ConnectAsync(Node, alice))
            await a.SendAsync(bob.UserId, Payload("for bob only"));
        await using var b = await ConnectAsync(Node, bob);
        var message = (await b.NextAsync<MessageReceived>()).Single();

        // Mallory cannot mark Bob's message read for Alice, and Bob cannot attribute it to someone else.
        await using var m = await ConnectAsync(Node, mallory);
        var forged = await Assert.ThrowsAsync<ServerErrorException>(() => m.SendReceiptAsync(alice.UserId, ReceiptType.Read, [message.Deliver.MessageId]));
        Assert.Equal(ErrorCode.NotFound, forged.Code);
        var misattributed = await Assert.ThrowsAsync<ServerErrorException>(() => b.SendReceiptAsync(mallory.UserId, ReceiptType.Read, [message.Deliver.MessageId]));
        Assert.Equal(ErrorCode.NotFound, misattributed.Code);
        await b.SendReceiptAsync(alice.UserId, ReceiptType.Read, [message.Deliver.MessageId]);
    }

    [Fact]
    public async Task A_second_connection_of_the_same_device_wins_and_the_older_is_closed_DEVICE_REPLACED()
    {
        var alice = await RegisterAsync(Node);
        var bob = await RegisterAsync(Node);
        await using var older = await ConnectAsync(Node, alice);
        await older.NextAsync<BacklogDone>();
        await using var newer = await ConnectAsync(Node, alice);

        var closed = (await older.NextAsync<Disconnected>()).Single();
        Assert.Equal("DEVICE_REPLACED", closed.Reason);
        Assert.False(closed.WillReconnect);

        await using (var b = await ConnectAsync(Node, bob))
            await b.SendAsync(alice.UserId, Payload("to the newer connection"));
        Assert.Equal("to the newer connection", (await newer.NextAsync<MessageReceived>()).Single().Text());
    }

    [Fact]
    public async Task Edits_travel_as_messages_within_the_window_and_only_from_the_sender()
    {
        var alice = await RegisterAsync(Node);
        var bob = await RegisterAsync(Node);
        var carol = await RegisterAsync(Node);
        await using var a = await ConnectAsync(Node, alice);
        var original = await a.SendAsync(bob.UserId, Payload("helo"));
        await a.SendAsync(bob.UserId, Payload("hello"), ContentKind.Edit, targetMessageId: original.MessageId.ToByteArray());

        await using var c = await ConnectAsync(Node, carol);
        var forged = await Assert.ThrowsAsync<ServerErrorException>(() =>
            c.SendAsync(bob.UserId, Payload("pwned"), ContentKind.Edit, targetMessageId: original.MessageId.ToByteArray()));
        Assert.Equal(ErrorCode.EditWindowExpired, forged.Code);

        await using var b = await ConnectAsync(Node, bob);
        var got = await b.NextAsync<MessageReceived>(2);
        Assert.Equal(ContentKind.Edit, got[1].Deliver.Kind);
        Assert.Equal(original.MessageId, got[1].Deliver.TargetMessageId);
        Assert.Equal("hello", got[1].Text());
    }

    [Fact]
    public async Task A_linked_companion_gets_a_copy_of_what_the_primary_sends()
    {
        var alice = await RegisterAsync(Node);
        var bob = await RegisterAsync(Node);
        var options = await OptionsAsync(Node);
        await using var primary = await ConnectAsync(Node, alice);

        var key = Guid.NewGuid().ToByteArray();
        var (code, linked) = await WhatsAppClient.RequestLinkAsync(options, "laptop", key);
        var devices = await primary.ApproveLinkAsync(code, key);
        Assert.Equal([1u, 2u], devices.Devices.Select(d => d.DeviceId));
        var companion = await linked.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(alice.UserId, companion.UserId);
        Assert.Equal(2u, companion.DeviceId);

        await using var laptop = await ConnectAsync(Node, companion);
        await primary.SendAsync(bob.UserId, Payload("from the phone"));

        var copy = (await laptop.NextAsync<MessageReceived>()).Single();
        Assert.Equal("from the phone", copy.Text());
        Assert.Equal(bob.UserId, copy.Deliver.ToUserId);
        Assert.Equal(alice.UserId, copy.Deliver.FromUserId);
    }

    [Fact]
    public async Task A_rejected_link_is_reported_to_the_waiting_device_as_FORBIDDEN()
    {
        var alice = await RegisterAsync(Node);
        await using var primary = await ConnectAsync(Node, alice);
        var (code, linked) = await WhatsAppClient.RequestLinkAsync(await OptionsAsync(Node), "stranger's laptop", Guid.NewGuid().ToByteArray());
        await primary.RequestAsync(new Frame { RejectDeviceLink = new RejectDeviceLink { LinkCode = code } });

        var refused = await Assert.ThrowsAsync<ServerErrorException>(() => linked.WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.Equal(ErrorCode.Forbidden, refused.Code);
        var devices = await primary.RequestAsync(new Frame { ListDevices = new ListDevices() });
        Assert.Equal([1u], devices.DeviceList.Devices.Select(d => d.DeviceId));
    }

    [Fact]
    public async Task A_send_without_a_ciphertext_for_every_device_is_refused_STALE_DEVICES()
    {
        var alice = await RegisterAsync(Node);
        var bob = await RegisterAsync(Node);
        await using var a = await ConnectAsync(Node, alice);
        var send = new Send { MessageId = ByteString.CopyFrom(Guid.NewGuid().ToByteArray()), ToUserId = bob.UserId, Kind = ContentKind.Text };
        send.Ciphertexts.Add(new DeviceCiphertext { DeviceId = 7, Ciphertext = ByteString.CopyFromUtf8("x") });

        var e = await Assert.ThrowsAsync<ServerErrorException>(() => a.RequestAsync(new Frame { Send = send }));
        Assert.Equal(ErrorCode.StaleDevices, e.Code);
        var stale = Assert.Single(e.Error.StaleDevices);
        Assert.Equal(bob.UserId, stale.UserId);
        Assert.Equal([1u], stale.MissingDeviceIds);
        Assert.Equal([7u], stale.ExtraDeviceIds);
    }

    [Fact]
    public async Task A_blocked_users_messages_and_typing_never_arrive()
    {
        var alice = await RegisterAsync(Node);
        var bob = await RegisterAsync(Node);
        var carol = await RegisterAsync(Node);
        await using var b = await ConnectAsync(Node, bob);
        await b.NextAsync<BacklogDone>();
        await b.BlockAsync(alice.UserId);

        await using var a = await ConnectAsync(Node, alice);
        await a.TypingAsync(bob.UserId, TypingState.Composing);
        var accepted = await a.SendAsync(bob.UserId, Payload("blocked"));
        Assert.NotEqual(0ul, accepted.ServerTimestamp);
        await using var c = await ConnectAsync(Node, carol);
        await c.SendAsync(bob.UserId, Payload("from carol"));

        var got = await b.NextAsync<MessageReceived>();
        Assert.Equal("from carol", got.Single().Text());
        var rest = await b.DrainAsync(TimeSpan.FromSeconds(1));
        Assert.DoesNotContain(rest, e => e is MessageReceived or TypingChanged);
    }

    [Fact]
    public async Task Typing_is_relayed_to_the_online_recipient()
    {
        var alice = await RegisterAsync(Node);
        var bob = await RegisterAsync(Node);
        await using var b = await ConnectAsync(Node, bob);
        await b.NextAsync<BacklogDone>();
        await using var a = await ConnectAsync(Node, alice);

        await a.TypingAsync(bob.UserId, TypingState.Composing);
        var typing = (await b.NextAsync<TypingChanged>()).Single();
        Assert.Equal(alice.UserId, typing.Typing.FromUserId);
        Assert.Equal(TypingState.Composing, typing.Typing.State);
    }

    [Fact]
    public async Task Presence_is_shown_to_subscribers_that_privacy_allows_and_hidden_from_others()
    {
        var alice = await RegisterAsync(Node);
        var bob = await RegisterAsync(Node);
        var carol = await RegisterAsync(Node);
        await using var b = await ConnectAsync(Node, bob);
        await b.RequestAsync(new Frame { SetPrivacy = new SetPrivacy { Settings = new PrivacySettings { LastSeen = Visibility.Nobody } } });
        await using var c = await ConnectAsync(Node, carol);
        var hidden = await c.SubscribePresenceAsync([bob.UserId]);
        Assert.Equal(PresenceState.Unspecified, Assert.Single(hidden.Presences).State);

        await using var a = await ConnectAsync(Node, alice);
        var visible = await a.SubscribePresenceAsync([carol.UserId]);
        Assert.Equal(PresenceState.Online, Assert.Single(visible.Presences).State);
        await c.DisposeAsync();
        var offline = (await a.NextAsync<PresenceChanged>()).Single();
        Assert.Equal(carol.UserId, offline.Presence.UserId);
        Assert.Equal(PresenceState.Offline, offline.Presence.State);
        Assert.NotEqual(0ul, offline.Presence.LastSeen);
    }

    [Fact]
    public async Task A_user_whose_only_device_goes_to_the_background_is_shown_offline_and_back_online()
    {
        var alice = await RegisterAsync(Node);
        var bob = await RegisterAsync(Node);
        await using var b = await ConnectAsync(Node, bob);
        await using var a = await ConnectAsync(Node, alice);
        Assert.Equal(PresenceState.Online, Assert.Single((await a.SubscribePresenceAsync([bob.UserId])).Presences).State);

        await b.RequestAsync(new Frame { SetAvailability = new SetAvailability { Available = false } });
        var away = (await a.NextAsync<PresenceChanged>()).Single().Presence;
        Assert.Equal(PresenceState.Offline, away.State);
        Assert.NotEqual(0ul, away.LastSeen);

        await b.RequestAsync(new Frame { SetAvailability = new SetAvailability { Available = true } });
        Assert.Equal(PresenceState.Online, (await a.NextAsync<PresenceChanged>()).Single().Presence.State);
    }

    [Fact]
    public async Task Contact_discovery_answers_only_which_numbers_are_registered()
    {
        var bobPhone = NewPhone();
        var bob = await RegisterAsync(Node, bobPhone);
        var alice = await RegisterAsync(Node);
        await using var a = await ConnectAsync(Node, alice);

        var result = await a.SyncContactsAsync([bobPhone, NewPhone(), "not a number"]);
        var found = Assert.Single(result.Registered);
        Assert.Equal(bobPhone, found.PhoneNumber);
        Assert.Equal(bob.UserId, found.UserId);
    }

    [Fact]
    public async Task A_restart_of_the_node_loses_no_accepted_message_and_duplicates_none()
    {
        var alice = await RegisterAsync(Node);
        var bob = await RegisterAsync(Node);
        await using (var a = await ConnectAsync(Node, alice))
            for (var i = 0; i < 30; i++)
                await a.SendAsync(bob.UserId, Payload($"r{i}"));

        await fixture.RestartAsync();

        await using var b = await ConnectAsync(Node, bob);
        var got = await b.NextAsync<MessageReceived>(30);
        Assert.Equal(Enumerable.Range(0, 30).Select(i => $"r{i}"), got.Select(m => m.Text()));
        Assert.DoesNotContain(await b.DrainAsync(TimeSpan.FromMilliseconds(500)), e => e is MessageReceived);
    }
}
