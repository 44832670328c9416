using Akka.WhatsApp.Client;
using Akka.WhatsApp.Host;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;
using Xunit;
using Akka.WhatsApp.Testing;
using static Akka.WhatsApp.Integration.Tests.TestUsers;

namespace Akka.WhatsApp.Integration.Tests;

public sealed class PostgresDevicesNode() : MessagingNode(JournalKind.Postgres);

/// <summary>
/// A user's devices (PROTOCOL.md §6, §7): a removed device loses every right at once and its open connection is
/// closed with DEVICE_REMOVED; so is every earlier device when the number is registered again; the device list
/// tells each device's platform, whether it is connected and when it last was.
/// </summary>
public sealed class DevicesSpec(PostgresDevicesNode fixture) : IClassFixture<PostgresDevicesNode>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private WhatsAppNode Node => fixture.Node;

    /// <summary>A bare logged-in connection: every push and error is visible, nothing is acked or retried.</summary>
    private async Task<WhatsAppConnection> LoginAsync(Credentials device)
    {
        var connection = await WhatsAppConnection.ConnectAsync("127.0.0.1", (await Node.EdgeEndpoint).Port);
        await connection.HelloAsync("devices-spec", platform: Platform.Desktop);
        await connection.RequestAsync(new Frame
        {
            Login = new Login { UserId = device.UserId, DeviceId = device.DeviceId, Token = ByteString.CopyFrom(device.Token) },
        });
        return connection;
    }

    private async Task<Credentials> LinkCompanionAsync(WhatsAppClient primary, string name = "laptop")
    {
        var key = Guid.NewGuid().ToByteArray();
        var (code, linked) = await WhatsAppClient.RequestLinkAsync(await OptionsAsync(Node), name, key);
        await primary.ApproveLinkAsync(code, key);
        return await linked.WaitAsync(Wait);
    }

    /// <summary>Reads pushes until the server's closing error, then asserts that the connection ends.</summary>
    private static async Task<Error> ClosingErrorAsync(WhatsAppConnection connection)
    {
        using var timeout = new CancellationTokenSource(Wait);
        Error? error = null;
        await foreach (var push in connection.Pushes.ReadAllAsync(timeout.Token))
            if (push.PacketCase == Frame.PacketOneofCase.Error)
                error = push.Error;
        await connection.Closed.WaitAsync(Wait);
        return error ?? throw new Xunit.Sdk.XunitException("the connection closed without an error");
    }

    /// <summary>A message to <paramref name="user"/>'s primary, with a sync copy for the sender's primary (sent from a companion).</summary>
    private static Frame FromCompanion(string user, string text) => new()
    {
        Send = new Send
        {
            MessageId = ByteString.CopyFrom(Guid.NewGuid().ToByteArray()), ToUserId = user, Kind = ContentKind.Text,
            Ciphertexts = { new DeviceCiphertext { DeviceId = 1, Ciphertext = ByteString.CopyFromUtf8(text) } },
            SelfCiphertexts = { new DeviceCiphertext { DeviceId = 1, Ciphertext = ByteString.CopyFromUtf8(text) } },
        },
    };

    [Fact]
    public async Task Every_device_of_the_user_is_told_when_a_device_is_linked_or_removed()
    {
        var alice = await RegisterAsync(Node);
        await using var primary = await ConnectAsync(Node, alice);
        var companion = await LinkCompanionAsync(primary);

        var linked = Assert.Single(await primary.NextAsync<MessageReceived>(1, Wait)).Deliver;
        Assert.Equal((ContentKind.System, alice.UserId, 0u), (linked.Kind, linked.FromUserId, linked.FromDeviceId));
        Assert.Equal([1u, companion.DeviceId], linked.System.DeviceListChanged.DeviceIds);
        Assert.Equal([companion.DeviceId], linked.System.DeviceListChanged.Added);
        Assert.Empty(linked.System.DeviceListChanged.Removed);

        await primary.RequestAsync(new Frame { RemoveDevice = new RemoveDevice { DeviceId = companion.DeviceId } });
        var removed = Assert.Single(await primary.NextAsync<MessageReceived>(1, Wait)).Deliver.System.DeviceListChanged;
        Assert.Equal([1u], removed.DeviceIds);
        Assert.Equal([companion.DeviceId], removed.Removed);
        Assert.Empty(removed.Added);
    }

    [Fact]
    public async Task A_removed_companion_is_closed_with_DEVICE_REMOVED_at_once_and_can_no_longer_log_in()
    {
        var (alice, bob) = (await RegisterAsync(Node), await RegisterAsync(Node));
        await using var primary = await ConnectAsync(Node, alice);
        var companion = await LinkCompanionAsync(primary);
        await using var laptop = await LoginAsync(companion);

        var after = await primary.RequestAsync(new Frame { RemoveDevice = new RemoveDevice { DeviceId = companion.DeviceId } });
        Assert.Equal([1u], after.DeviceList.Devices.Select(d => d.DeviceId));

        Assert.Equal(ErrorCode.DeviceRemoved, (await ClosingErrorAsync(laptop)).Code);
        var relogin = await Assert.ThrowsAsync<ServerErrorException>(() => LoginAsync(companion));
        Assert.Equal(ErrorCode.BadCredentials, relogin.Code);

        // Bob got nothing in the removed device's name, and the primary still sends.
        await using var b = await ConnectAsync(Node, bob);
        await primary.SendAsync(bob.UserId, Payload("still here"));
        var got = Assert.Single(await b.NextAsync<MessageReceived>(1, Wait));
        Assert.Equal((alice.UserId, 1u, "still here"), (got.Deliver.FromUserId, got.Deliver.FromDeviceId, got.Text()));
    }

    [Fact]
    public async Task A_companion_removed_while_sending_gets_nothing_accepted_after_the_removal()
    {
        var (alice, bob) = (await RegisterAsync(Node), await RegisterAsync(Node));
        await using var primary = await ConnectAsync(Node, alice);
        var companion = await LinkCompanionAsync(primary);
        await using var laptop = await LoginAsync(companion);
        await laptop.RequestAsync(FromCompanion(bob.UserId, "before"));

        await primary.RequestAsync(new Frame { RemoveDevice = new RemoveDevice { DeviceId = companion.DeviceId } });
        // Whatever the companion sends after the removal was answered is refused or never answered: the connection closes.
        var late = await Record.ExceptionAsync(() => laptop.RequestAsync(FromCompanion(bob.UserId, "after")));
        Assert.True(late is IOException or ServerErrorException { Code: ErrorCode.DeviceRemoved }, $"the late send got {late?.Message ?? "a SendResult"}");
        await laptop.Closed.WaitAsync(Wait);

        var backlog = await RawBacklogAsync(Node, bob);
        Assert.Equal(["before"], backlog.Select(d => d.Ciphertext.ToStringUtf8()));
    }

    [Fact]
    public async Task Registering_the_number_again_closes_the_old_primary_and_every_companion_with_DEVICE_REMOVED()
    {
        var phone = NewPhone();
        var alice = await RegisterAsync(Node, phone);
        var bob = await RegisterAsync(Node);
        var companion = await LinkCompanionAsync(await ConnectAsync(Node, alice));
        await using var oldPrimary = await LoginAsync(alice);
        await using var laptop = await LoginAsync(companion);
        await using (var b = await ConnectAsync(Node, bob))
            await b.SendAsync(alice.UserId, Payload("for the old phone")); // encrypted for keys that are about to be gone

        var options = await OptionsAsync(Node);
        var limited = await Assert.ThrowsAsync<ServerErrorException>(() => WhatsAppClient.RequestCodeAsync(options, phone));
        fixture.Time.Advance(TimeSpan.FromMilliseconds(limited.Error.RetryAfterMs)); // past the number's code rate limit
        var again = await RegisterAsync(Node, phone);
        Assert.Equal(alice.UserId, again.UserId);

        Assert.Equal(ErrorCode.DeviceRemoved, (await ClosingErrorAsync(oldPrimary)).Code);
        Assert.Equal(ErrorCode.DeviceRemoved, (await ClosingErrorAsync(laptop)).Code);
        Assert.Equal(ErrorCode.BadCredentials, (await Assert.ThrowsAsync<ServerErrorException>(() => LoginAsync(companion))).Code);

        // The new primary starts with an empty queue, then gets what is sent to it.
        await using (var b = await ConnectAsync(Node, bob))
            await b.SendAsync(alice.UserId, Payload("for the new phone"));
        var backlog = await RawBacklogAsync(Node, again);
        Assert.Equal(["for the new phone"], backlog.Select(d => d.Ciphertext.ToStringUtf8()));
    }

    [Fact]
    public async Task The_device_list_tells_each_devices_platform_whether_it_is_online_and_when_it_was_last_seen()
    {
        var alice = await RegisterAsync(Node);
        await using var primary = await LoginAsync(alice);

        // A companion linked from a raw connection: DeviceLinked carries the account's phone number.
        var key = Guid.NewGuid().ToByteArray();
        await using var waiting = await WhatsAppConnection.ConnectAsync("127.0.0.1", (await Node.EdgeEndpoint).Port);
        await waiting.HelloAsync("devices-spec");
        var code = (await waiting.RequestAsync(new Frame
        {
            RequestDeviceLink = new RequestDeviceLink { DeviceName = "tablet", Platform = Platform.Android, IdentityKey = ByteString.CopyFrom(key) },
        })).DeviceLinkCode.LinkCode;
        await primary.RequestAsync(new Frame { ApproveDeviceLink = new ApproveDeviceLink { LinkCode = code, IdentityKey = ByteString.CopyFrom(key) } });
        using var timeout = new CancellationTokenSource(Wait);
        var linked = (await waiting.Pushes.ReadAsync(timeout.Token)).DeviceLinked;
        Assert.False(string.IsNullOrEmpty(linked.PhoneNumber), "DeviceLinked.phone_number is the account's number");
        var companion = new Credentials(linked.UserId, linked.DeviceId, linked.Token.ToByteArray());
        var before = (ulong)fixture.Time.GetUtcNow().ToUnixTimeMilliseconds();
        await (await LoginAsync(companion)).DisposeAsync();

        // The companion's connection ended: it is offline and was last seen then; the primary asking is online now.
        DeviceList list = null!;
        await Eventually.Until(async () =>
        {
            list = (await primary.RequestAsync(new Frame { ListDevices = new ListDevices() })).DeviceList;
            return list.Devices.Single(d => d.DeviceId == companion.DeviceId) is { Online: false, LastSeenAt: > 0 };
        }, Wait, "the companion's disconnect to show in the device list");
        var (phone, tablet) = (list.Devices.Single(d => d.DeviceId == 1), list.Devices.Single(d => d.DeviceId == companion.DeviceId));
        Assert.True(phone.Online);
        Assert.NotEqual(0ul, phone.LastSeenAt);
        Assert.Equal(Platform.Other, phone.Platform); // what the SDK that registered it told in Hello
        Assert.Equal((Platform.Android, "tablet"), (tablet.Platform, tablet.Name));
        Assert.InRange(tablet.LastSeenAt, before, (ulong)fixture.Time.GetUtcNow().ToUnixTimeMilliseconds());
    }
}
