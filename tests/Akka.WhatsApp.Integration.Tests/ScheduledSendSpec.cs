using Akka.WhatsApp.Client;
using Akka.WhatsApp.Host;
using Akka.WhatsApp.Protocol;
using Akka.WhatsApp.Testing;
using Google.Protobuf;
using Microsoft.Extensions.Time.Testing;
using Xunit;
using static Akka.WhatsApp.Integration.Tests.TestUsers;

using Device = Akka.WhatsApp.Integration.Tests.BareDevice;

namespace Akka.WhatsApp.Integration.Tests;

/// <summary>A node whose clock the scheduling tests move; heartbeats far apart so that moving it closes nothing.</summary>
public sealed class ScheduleNodeFixture : IAsyncLifetime
{
    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    public HostSettings Settings { get; private set; } = null!;

    public WhatsAppNode Node { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Settings = await TestNodes.SettingsAsync(JournalKind.Sqlite) with { HeartbeatSeconds = 3600 };
        Node = await TestNodes.StartAsync(Settings, Clock);
    }

    public async Task DisposeAsync() => await Node.DisposeAsync();
}

/// <summary>
/// Scheduled sends (PROTOCOL.md §8.8) over bare connections, so every push is visible: the server keeps the ciphertexts
/// until send_at and not a moment less (checked on the node's own clock, which the tests move), hands them over as a
/// normal message with the same id, tells the sender's devices what became of it, and names the recipient devices the
/// stored ciphertexts no longer fit. "Not before" is shown by order: a marker message sent after the clock reached
/// just before send_at arrives first.
/// </summary>
public sealed class ScheduledSendSpec(ScheduleNodeFixture fixture) : IClassFixture<ScheduleNodeFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly List<IAsyncDisposable> _open = [];

    private WhatsAppNode Node => fixture.Node;

    private FakeTimeProvider Clock => fixture.Clock;

    private async Task<Device> LoginAsync(Credentials credentials)
    {
        var device = await BareDevice.LoginAsync(Node, credentials, "schedule-spec");
        _open.Add(device.Connection);
        return device;
    }

    private async Task<Credentials> LinkAsync(Credentials primary, string name)
    {
        await using var client = await ConnectAsync(Node, primary);
        var key = Guid.NewGuid().ToByteArray();
        var (code, linked) = await WhatsAppClient.RequestLinkAsync(await OptionsAsync(Node), name, key);
        await client.ApproveLinkAsync(code, key);
        return await linked.WaitAsync(Wait);
    }

    private static ByteString NewId() => ByteString.CopyFrom(Guid.NewGuid().ToByteArray());

    private ulong InMinutes(double minutes) => (ulong)(Clock.GetUtcNow() + TimeSpan.FromMinutes(minutes)).ToUnixTimeMilliseconds();

    private static Frame Send(ByteString id, string to, string text, ulong sendAt = 0, uint[]? toDevices = null, (uint Device, string Text)[]? self = null)
    {
        var send = new Send { MessageId = id, ToUserId = to, Kind = ContentKind.Text, SendAt = sendAt };
        send.Ciphertexts.AddRange((toDevices ?? [1]).Select(d => new DeviceCiphertext
        {
            DeviceId = d, Ciphertext = ByteString.CopyFromUtf8($"{text} for {d}"), Type = CiphertextType.SignalMessage,
        }));
        send.SelfCiphertexts.AddRange((self ?? []).Select(s => new DeviceCiphertext
        {
            DeviceId = s.Device, Ciphertext = ByteString.CopyFromUtf8(s.Text), Type = CiphertextType.SignalMessage,
        }));
        return new Frame { Send = send };
    }

    private static async Task<ErrorCode?> ErrorOf(Device device, Frame frame)
    {
        try
        {
            await device.Connection.RequestAsync(frame);
            return null;
        }
        catch (ServerErrorException e)
        {
            return e.Code;
        }
    }

    private static async Task<Deliver> NextDeliverAsync(Device device)
    {
        using var timeout = new CancellationTokenSource(Wait);
        while (true)
            if (await device.Connection.Pushes.ReadAsync(timeout.Token) is { PacketCase: Frame.PacketOneofCase.Deliver } push)
                return push.Deliver;
    }

    /// <summary>The next non-SYSTEM Deliver (device-list and other server events are skipped).</summary>
    private static async Task<Deliver> NextMessageAsync(Device device)
    {
        while (true)
            if (await NextDeliverAsync(device) is { Kind: not ContentKind.System } d)
                return d;
    }

    private static async Task<ScheduledUpdate> NextUpdateAsync(Device device)
    {
        while (true)
            if ((await NextDeliverAsync(device)).System?.ScheduledUpdate is { } update)
                return update;
    }

    /// <summary>A message from a third user: when it arrives before a scheduled one, that one was not delivered before it was sent.</summary>
    private async Task<ByteString> MarkerAsync(Device to)
    {
        var carol = await LoginAsync(await RegisterAsync(Node));
        var id = NewId();
        await carol.Connection.RequestAsync(Send(id, to.User, "marker"));
        return id;
    }

    [Fact]
    public async Task A_scheduled_message_is_delivered_at_its_time_and_not_before_with_its_id_and_the_sender_s_devices_are_told()
    {
        var alicePrimary = await RegisterAsync(Node);
        var aliceCompanion = await LinkAsync(alicePrimary, "laptop");
        var alice = await LoginAsync(alicePrimary);
        var laptop = await LoginAsync(aliceCompanion);
        var bob = await LoginAsync(await RegisterAsync(Node));
        var id = NewId();
        var sendAt = InMinutes(10);

        var result = (await alice.Connection.RequestAsync(Send(id, bob.User, "happy birthday", sendAt, self: [(aliceCompanion.DeviceId, "sync copy")]))).SendResult;
        Assert.Equal((sendAt, false), (result.ScheduledFor, result.Duplicate));
        // The sender's other device sees the scheduled message at once, marked with its time.
        var copy = await NextMessageAsync(laptop);
        Assert.Equal((id, bob.User, sendAt, "sync copy"), (copy.MessageId, copy.ToUserId, copy.ScheduledFor, copy.Ciphertext.ToStringUtf8()));
        var listed = Assert.Single((await laptop.Connection.RequestAsync(new Frame { ListScheduled = new ListScheduled() })).ScheduledList.Messages);
        Assert.Equal((id, bob.User, sendAt, alice.Id), (listed.MessageId, listed.ToUserId, listed.SendAt, listed.FromDeviceId));

        // A retry of the scheduling request is the duplicate it is.
        var retry = (await alice.Connection.RequestAsync(Send(id, bob.User, "happy birthday", sendAt, self: [(aliceCompanion.DeviceId, "sync copy")]))).SendResult;
        Assert.Equal((sendAt, true), (retry.ScheduledFor, retry.Duplicate));

        Clock.Advance(TimeSpan.FromMinutes(10) - TimeSpan.FromSeconds(1));
        var marker = await MarkerAsync(bob);
        Assert.Equal(marker, (await NextMessageAsync(bob)).MessageId);

        Clock.Advance(TimeSpan.FromSeconds(1));
        var delivered = await NextMessageAsync(bob);
        Assert.Equal((id, alice.User, alice.Id, "happy birthday for 1"),
            (delivered.MessageId, delivered.FromUserId, delivered.FromDeviceId, delivered.Ciphertext.ToStringUtf8()));
        Assert.Equal(sendAt, delivered.ServerTimestamp);
        // Sent whole: the sender's devices are told nothing more (the DELIVERED receipt follows as for any message).
        Assert.Empty((await alice.Connection.RequestAsync(new Frame { ListScheduled = new ListScheduled() })).ScheduledList.Messages);

        // Retried after it was sent: still the duplicate, and not delivered again.
        var late = (await alice.Connection.RequestAsync(Send(id, bob.User, "happy birthday", sendAt, self: [(aliceCompanion.DeviceId, "sync copy")]))).SendResult;
        Assert.True(late.Duplicate);
        Assert.Equal(ErrorCode.NotFound, await ErrorOf(alice, new Frame { CancelScheduled = new CancelScheduled { MessageId = id } }));
        var after = await MarkerAsync(bob);
        Assert.Equal(after, (await NextMessageAsync(bob)).MessageId);
    }

    [Fact]
    public async Task A_cancelled_message_is_never_delivered_and_a_rescheduled_one_goes_at_its_new_time()
    {
        var alice = await LoginAsync(await RegisterAsync(Node));
        var bob = await LoginAsync(await RegisterAsync(Node));
        var (cancelled, moved, kept) = (NewId(), NewId(), NewId());
        await alice.Connection.RequestAsync(Send(cancelled, bob.User, "cancelled", InMinutes(5)));
        await alice.Connection.RequestAsync(Send(moved, bob.User, "moved", InMinutes(5)));
        await alice.Connection.RequestAsync(Send(kept, bob.User, "kept", InMinutes(6)));

        Assert.Null(await ErrorOf(alice, new Frame { CancelScheduled = new CancelScheduled { MessageId = cancelled } }));
        Assert.Equal(ErrorCode.NotFound, await ErrorOf(alice, new Frame { CancelScheduled = new CancelScheduled { MessageId = cancelled } }));
        Assert.Equal(ScheduledOutcome.Cancelled, (await NextUpdateAsync(alice)).Outcome);
        var newTime = InMinutes(20);
        Assert.Null(await ErrorOf(alice, new Frame { RescheduleMessage = new RescheduleMessage { MessageId = moved, SendAt = newTime } }));
        var rescheduled = await NextUpdateAsync(alice);
        Assert.Equal((moved, ScheduledOutcome.Rescheduled, newTime), (rescheduled.MessageId, rescheduled.Outcome, rescheduled.SendAt));
        Assert.Equal(ErrorCode.ScheduleTooFar,
            await ErrorOf(alice, new Frame { RescheduleMessage = new RescheduleMessage { MessageId = moved, SendAt = InMinutes(31 * 24 * 60) } }));
        var listed = (await alice.Connection.RequestAsync(new Frame { ListScheduled = new ListScheduled() })).ScheduledList.Messages;
        Assert.Equal([kept, moved], listed.Select(m => m.MessageId));

        Clock.Advance(TimeSpan.FromMinutes(6));
        Assert.Equal(kept, (await NextMessageAsync(bob)).MessageId);
        Clock.Advance(TimeSpan.FromMinutes(13));
        var marker = await MarkerAsync(bob);
        Assert.Equal(marker, (await NextMessageAsync(bob)).MessageId);
        Clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(moved, (await NextMessageAsync(bob)).MessageId);
        var end = await MarkerAsync(bob);
        Assert.Equal(end, (await NextMessageAsync(bob)).MessageId); // and the cancelled one never came
    }

    [Fact]
    public async Task A_device_the_recipient_linked_meanwhile_is_named_for_a_resend_and_gets_the_message_under_its_id()
    {
        var alice = await LoginAsync(await RegisterAsync(Node));
        var bobPrimary = await RegisterAsync(Node);
        var id = NewId();
        await alice.Connection.RequestAsync(Send(id, bobPrimary.UserId, "see you", InMinutes(3)));
        var tablet = await LoginAsync(await LinkAsync(bobPrimary, "tablet"));
        var bob = await LoginAsync(bobPrimary);

        Clock.Advance(TimeSpan.FromMinutes(3));
        Assert.Equal("see you for 1", (await NextMessageAsync(bob)).Ciphertext.ToStringUtf8());
        var update = await NextUpdateAsync(alice);
        Assert.Equal((ScheduledOutcome.Sent, true), (update.Outcome, update.Delivered));
        var resend = Assert.Single(update.Resend);
        Assert.Equal(bob.User, resend.UserId);
        Assert.Equal([tablet.Id], resend.MissingDeviceIds);

        // The scheduling device re-encrypts for the new device and resends under the same id (§8.4).
        var copy = Send(id, bob.User, "see you", toDevices: [tablet.Id]);
        copy.Send.Resend = true;
        await alice.Connection.RequestAsync(copy);
        var got = await NextMessageAsync(tablet);
        Assert.Equal((id, $"see you for {tablet.Id}"), (got.MessageId, got.Ciphertext.ToStringUtf8()));
    }

    [Fact]
    public async Task When_the_scheduling_device_was_removed_the_primary_is_named_to_re_encrypt()
    {
        var alicePrimary = await RegisterAsync(Node);
        var aliceLaptop = await LinkAsync(alicePrimary, "laptop");
        var bobPrimary = await RegisterAsync(Node);
        var laptop = await LoginAsync(aliceLaptop);
        var id = NewId();
        await laptop.Connection.RequestAsync(Send(id, bobPrimary.UserId, "from the laptop", InMinutes(3), self: [(alicePrimary.DeviceId, "sync copy")]));
        var alice = await LoginAsync(alicePrimary);
        Assert.Equal(id, (await NextMessageAsync(alice)).MessageId); // the sync copy: the primary has the text to re-encrypt
        await alice.Connection.RequestAsync(new Frame { RemoveDevice = new RemoveDevice { DeviceId = aliceLaptop.DeviceId } });
        var tablet = await LoginAsync(await LinkAsync(bobPrimary, "tablet"));

        Clock.Advance(TimeSpan.FromMinutes(3));
        var update = await NextUpdateAsync(alice);
        Assert.Equal((ScheduledOutcome.Sent, aliceLaptop.DeviceId, alicePrimary.DeviceId), (update.Outcome, update.FromDeviceId, update.ResendByDeviceId));
        Assert.Equal([tablet.Id], Assert.Single(update.Resend).MissingDeviceIds);
    }

    [Fact]
    public async Task A_message_to_a_user_the_sender_blocked_meanwhile_fails_and_the_sender_s_devices_are_told()
    {
        var alice = await LoginAsync(await RegisterAsync(Node));
        var bob = await LoginAsync(await RegisterAsync(Node));
        var id = NewId();
        await alice.Connection.RequestAsync(Send(id, bob.User, "never mind", InMinutes(2)));
        await alice.Connection.RequestAsync(new Frame { BlockUser = new BlockUser { UserId = bob.User } });

        Clock.Advance(TimeSpan.FromMinutes(2));
        var update = await NextUpdateAsync(alice);
        Assert.Equal((id, ScheduledOutcome.Failed, false), (update.MessageId, update.Outcome, update.Delivered));
        Assert.Contains("blocked", update.Reason);
        var marker = await MarkerAsync(bob);
        Assert.Equal(marker, (await NextMessageAsync(bob)).MessageId);
    }

    [Fact]
    public async Task Bad_schedules_are_refused_with_their_codes()
    {
        var alice = await LoginAsync(await RegisterAsync(Node));
        var bob = await LoginAsync(await RegisterAsync(Node));
        Assert.Equal(ErrorCode.ScheduleTooFar, await ErrorOf(alice, Send(NewId(), bob.User, "too far", InMinutes(30 * 24 * 60 + 5))));
        var resend = Send(NewId(), bob.User, "resend", InMinutes(5));
        resend.Send.Resend = true;
        Assert.Equal(ErrorCode.InvalidArgument, await ErrorOf(alice, resend));
        // Checked against the devices now: a stale list is refused before anything is kept.
        Assert.Equal(ErrorCode.StaleDevices, await ErrorOf(alice, Send(NewId(), bob.User, "stale", InMinutes(5), toDevices: [1, 7])));
        Assert.Equal(ErrorCode.NotFound, await ErrorOf(alice, new Frame { CancelScheduled = new CancelScheduled { MessageId = NewId() } }));
        Assert.Equal(ErrorCode.InvalidArgument, await ErrorOf(alice, new Frame { CancelScheduled = new CancelScheduled { MessageId = ByteString.CopyFromUtf8("short") } }));
        // Nobody else's schedule is reachable: bob lists his own (empty).
        await alice.Connection.RequestAsync(Send(NewId(), bob.User, "mine", InMinutes(5)));
        Assert.Empty((await bob.Connection.RequestAsync(new Frame { ListScheduled = new ListScheduled() })).ScheduledList.Messages);
    }

    [Fact]
    public async Task A_scheduled_group_message_is_posted_to_the_group_at_its_time()
    {
        var aliceCredentials = await RegisterAsync(Node);
        var bob = await LoginAsync(await RegisterAsync(Node));
        string group;
        await using (var client = await ConnectAsync(Node, aliceCredentials))
            group = (await client.CreateGroupAsync("plans", [bob.User])).Group.GroupId;
        var alice = await LoginAsync(aliceCredentials);
        var id = NewId();
        var sendAt = InMinutes(4);
        var result = (await alice.Connection.RequestAsync(new Frame
        {
            GroupSend = new GroupSend
            {
                GroupId = group, MessageId = id, Kind = ContentKind.Text, SenderKeyCiphertext = ByteString.CopyFromUtf8("dinner at 8"), SendAt = sendAt,
            },
        })).GroupSendResult;
        Assert.Equal((sendAt, 0ul), (result.ScheduledFor, result.GroupSeq));
        var outsider = await LoginAsync(await RegisterAsync(Node));
        Assert.Equal(ErrorCode.NotAMember, await ErrorOf(outsider, new Frame
        {
            GroupSend = new GroupSend { GroupId = group, MessageId = NewId(), SenderKeyCiphertext = ByteString.CopyFromUtf8("x"), SendAt = sendAt },
        }));

        Clock.Advance(TimeSpan.FromMinutes(4));
        var got = await NextMessageAsync(bob);
        Assert.Equal((id, group, "dinner at 8", alice.User), (got.MessageId, got.GroupId, got.Ciphertext.ToStringUtf8(), got.FromUserId));
        Assert.NotEqual(0ul, got.GroupSeq);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var open in _open)
            await open.DisposeAsync();
    }
}

/// <summary>Scheduled messages survive a full restart of the node: the Schedule entity comes back by itself and sends what fell due meanwhile.</summary>
public sealed class ScheduledRestartSpec
{
    [Theory]
    [InlineData(JournalKind.Sqlite)]
    [InlineData(JournalKind.Postgres)]
    public async Task A_message_due_while_the_node_was_down_is_delivered_after_it_restarts(JournalKind journal)
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var settings = await TestNodes.SettingsAsync(journal) with { HeartbeatSeconds = 3600 };
        Credentials alice, bob;
        var id = ByteString.CopyFrom(Guid.NewGuid().ToByteArray());
        var sendAt = (ulong)(clock.GetUtcNow() + TimeSpan.FromHours(2)).ToUnixTimeMilliseconds();
        await using (var first = await TestNodes.StartAsync(settings, clock))
        {
            alice = await RegisterAsync(first);
            bob = await RegisterAsync(first);
            await using var client = await ConnectAsync(first, alice);
            var send = new Send { MessageId = id, ToUserId = bob.UserId, Kind = ContentKind.Text, SendAt = sendAt };
            send.Ciphertexts.Add(new DeviceCiphertext { DeviceId = 1, Ciphertext = ByteString.CopyFromUtf8("while you were away"), Type = CiphertextType.SignalMessage });
            Assert.Equal(sendAt, (await client.RequestAsync(new Frame { Send = send })).SendResult.ScheduledFor);
        }

        clock.Advance(TimeSpan.FromHours(3));
        await using var second = await TestNodes.StartAsync(settings, clock);
        List<Deliver> backlog = [];
        await Eventually.Until(async () =>
        {
            backlog = await RawBacklogAsync(second, bob);
            return backlog.Any(d => d.MessageId == id);
        }, TimeSpan.FromSeconds(60), "the scheduled message in bob's mailbox after the restart", () => $"{backlog.Count} entries");
        var delivered = Assert.Single(backlog, d => d.MessageId == id);
        Assert.Equal("while you were away", delivered.Ciphertext.ToStringUtf8());
        // Due while the node was down: sent when the entity came back, at its clock's time then.
        Assert.True(delivered.ServerTimestamp >= sendAt);
    }
}

/// <summary>
/// A scheduled message between SDK clients with end-to-end encryption on (§8.8 with §13a): it decrypts when it arrives
/// after messages encrypted later (its key was skipped and kept), and a device the recipient linked meanwhile gets a copy
/// the scheduling device encrypts for it by itself when the server names it.
/// </summary>
public sealed class ScheduledEndToEndSpec(ScheduleNodeFixture fixture) : IClassFixture<ScheduleNodeFixture>, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("wa-scheduled-e2e-").FullName;
    private readonly List<IDisposable> _stores = [];

    private sealed record Device(WhatsAppClient Client, Client.Storage.MessageStore Store) : IAsyncDisposable
    {
        public string User => Client.Credentials.UserId;

        public async ValueTask DisposeAsync() => await Client.DisposeAsync();
    }

    private async Task<Device> DeviceAsync(Credentials credentials, Client.Crypto.KeyStore? keys = null)
    {
        var name = $"{credentials.UserId}-{credentials.DeviceId}";
        var store = Client.Storage.MessageStore.Open(Path.Combine(_folder, name + "-messages.db"));
        keys ??= Client.Crypto.KeyStore.Open(Path.Combine(_folder, name + "-keys.db"));
        _stores.Add(store);
        _stores.Add(keys);
        var client = await WhatsAppClient.ConnectAsync(await OptionsAsync(fixture.Node) with { Store = store, Keys = keys }, credentials);
        return new Device(client, store);
    }

    private static async Task<MessageReceived> NextTextAsync(Device device)
    {
        while (true)
            if ((await device.Client.NextAsync<MessageReceived>(timeout: TimeSpan.FromSeconds(30))).Single() is { Deliver.Kind: ContentKind.Text } message)
                return message;
    }

    [Fact]
    public async Task An_encrypted_scheduled_message_decrypts_after_later_ones_and_reaches_a_device_linked_meanwhile()
    {
        await using var alice = await DeviceAsync(await RegisterAsync(fixture.Node));
        await using var bob = await DeviceAsync(await RegisterAsync(fixture.Node));
        var sendAt = fixture.Clock.GetUtcNow() + TimeSpan.FromMinutes(5);
        var scheduled = await alice.Client.SendAsync(bob.User, Payload("see you at 8"), sendAt: sendAt);
        Assert.Equal((ulong)sendAt.ToUnixTimeMilliseconds(), scheduled.ScheduledFor);
        alice.Store.RecordSent(alice.User, alice.Client.Credentials.DeviceId, Client.Storage.ChatId.User(bob.User), scheduled.MessageId, scheduled.ScheduledFor,
            ContentKind.Text, Payload("see you at 8"));
        await alice.Client.SendAsync(bob.User, Payload("sent later, arrives first"));
        Assert.Equal("sent later, arrives first", (await NextTextAsync(bob)).Text());

        var keys = Client.Crypto.KeyStore.Open(Path.Combine(_folder, "laptop-keys.db"));
        _stores.Add(keys);
        var (code, linked) = await WhatsAppClient.RequestLinkAsync(await OptionsAsync(fixture.Node) with { Keys = keys }, "laptop", identityKey: null);
        await bob.Client.ApproveLinkAsync(code, keys.Identity.PublicKey);
        await using var laptop = await DeviceAsync(await linked, keys);
        await Eventually.Until(async () => (await alice.Client.GetIdentityKeysAsync(bob.User)).Devices.Any(d => d.DeviceId == laptop.Client.Credentials.DeviceId),
            TimeSpan.FromSeconds(30), "the laptop's published keys");

        fixture.Clock.Advance(TimeSpan.FromMinutes(5));
        var onPhone = await NextTextAsync(bob);
        Assert.Equal(("see you at 8", scheduled.MessageId), (onPhone.Text(), onPhone.Deliver.MessageId));
        var onLaptop = await NextTextAsync(laptop);
        Assert.Equal(("see you at 8", scheduled.MessageId, alice.User), (onLaptop.Text(), onLaptop.Deliver.MessageId, onLaptop.Deliver.FromUserId));
    }

    public void Dispose()
    {
        foreach (var store in _stores)
            store.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }
}
