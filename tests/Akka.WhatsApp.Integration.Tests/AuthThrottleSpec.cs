using System.Net;
using Akka.WhatsApp.Client;
using Akka.WhatsApp.Host;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Akka.WhatsApp.Integration.Tests;

/// <summary>A node at the default login and code-request limits, on a clock the tests move.</summary>
public sealed class ThrottledNodeFixture : IAsyncLifetime
{
    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    public WhatsAppNode Node { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var defaults = new HostSettings();
        Node = await TestNodes.StartAsync(await TestNodes.SettingsAsync(JournalKind.Sqlite) with
        {
            HeartbeatSeconds = 3600,
            LoginFailuresPerAddress = defaults.LoginFailuresPerAddress,
            CodeRequestsPerAddress = defaults.CodeRequestsPerAddress,
        }, Clock);
    }

    public async Task DisposeAsync() => await Node.DisposeAsync();
}

/// <summary>
/// Login brute force and code flooding (#21 item 4), over real TCP from distinct loopback addresses: wrong tokens for
/// one account lock that account for the window whatever the address and the token; wrong tokens from one address
/// lock that address whatever the account; code requests per address are capped. Each with RATE_LIMITED and a
/// retry_after_ms that is honoured, and nobody else is affected.
/// </summary>
public sealed class AuthThrottleSpec(ThrottledNodeFixture fixture) : IClassFixture<ThrottledNodeFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private static readonly HostSettings Defaults = new();

    private WhatsAppNode Node => fixture.Node;

    /// <summary>The server's answer to <paramref name="request"/> on a new connection from <paramref name="from"/>; an error answer as an Error frame.</summary>
    private async Task<Frame> AskAsync(IPAddress from, Frame request)
    {
        await using var connection = await WhatsAppConnection.ConnectAsync("127.0.0.1", (await Node.EdgeEndpoint).Port, localAddress: from);
        await connection.HelloAsync("throttle-spec", platform: Platform.Desktop).WaitAsync(Wait);
        try
        {
            return await connection.RequestAsync(request).WaitAsync(Wait);
        }
        catch (ServerErrorException e)
        {
            return new Frame { Error = e.Error };
        }
    }

    private Task<Frame> LoginAsync(IPAddress from, Credentials credentials, byte[]? token = null) => AskAsync(from, new Frame
    {
        Login = new Login { UserId = credentials.UserId, DeviceId = credentials.DeviceId, Token = ByteString.CopyFrom(token ?? credentials.Token) },
    });

    private static byte[] WrongToken() => System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);

    private static void AssertRateLimited(Frame reply, TimeSpan atMost)
    {
        Assert.Equal(Frame.PacketOneofCase.Error, reply.PacketCase);
        Assert.Equal(ErrorCode.RateLimited, reply.Error.Code);
        Assert.InRange(reply.Error.RetryAfterMs, 1UL, (ulong)atMost.TotalMilliseconds);
    }

    [Fact]
    public async Task Wrong_tokens_for_one_account_lock_it_for_the_window_from_every_address_then_it_logs_in_again()
    {
        var alice = await TestUsers.RegisterAsync(Node);
        var bob = await TestUsers.RegisterAsync(Node);
        for (var i = 0; i < Defaults.LoginFailuresPerAccount; i++)
        {
            var reply = await LoginAsync(IPAddress.Parse($"127.0.1.{i + 1}"), alice, WrongToken());
            Assert.Equal(ErrorCode.BadCredentials, reply.Error.Code);
        }

        // The next attempt, from a new address and with the right token, waits out the minute: guessing gains nothing.
        AssertRateLimited(await LoginAsync(IPAddress.Parse("127.0.1.100"), alice), TimeSpan.FromMinutes(1));
        // Another account from an address that took part is not affected.
        Assert.Equal(Frame.PacketOneofCase.LoginOk, (await LoginAsync(IPAddress.Parse("127.0.1.1"), bob)).PacketCase);

        fixture.Clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(Frame.PacketOneofCase.LoginOk, (await LoginAsync(IPAddress.Parse("127.0.1.100"), alice)).PacketCase);
    }

    [Fact]
    public async Task Wrong_tokens_from_one_address_lock_that_address_for_every_account_and_no_other_address()
    {
        var victims = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => TestUsers.RegisterAsync(Node)));
        var attacker = IPAddress.Parse("127.0.2.1");
        for (var i = 0; i < Defaults.LoginFailuresPerAddress; i++)
            Assert.Equal(ErrorCode.BadCredentials, (await LoginAsync(attacker, victims[i % victims.Length], WrongToken())).Error.Code);

        // Fewer than the per-account limit per victim, but the address is spent: even a right token waits.
        AssertRateLimited(await LoginAsync(attacker, victims[0]), TimeSpan.FromMinutes(1));
        foreach (var victim in victims)
            Assert.Equal(Frame.PacketOneofCase.LoginOk, (await LoginAsync(IPAddress.Parse("127.0.2.2"), victim)).PacketCase);

        fixture.Clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(Frame.PacketOneofCase.LoginOk, (await LoginAsync(attacker, victims[0])).PacketCase);
    }

    [Fact]
    public async Task Code_requests_from_one_address_are_capped_across_numbers_and_other_addresses_still_register()
    {
        Task<Frame> RequestCodeAsync(IPAddress from, string phone) => AskAsync(from, new Frame { RequestCode = new RequestCode { PhoneNumber = phone } });

        var flooder = IPAddress.Parse("127.0.3.1");
        for (var i = 0; i < Defaults.CodeRequestsPerAddress; i++)
            Assert.Equal(Frame.PacketOneofCase.CodeSent, (await RequestCodeAsync(flooder, TestUsers.NewPhone())).PacketCase);
        var phone = TestUsers.NewPhone();
        AssertRateLimited(await RequestCodeAsync(flooder, phone), TimeSpan.FromMinutes(10));
        Assert.Null(await Akka.WhatsApp.Client.DevelopmentCodes.FetchAsync(Node.ManagementUri, phone)); // no SMS went out for it

        Assert.Equal(Frame.PacketOneofCase.CodeSent, (await RequestCodeAsync(IPAddress.Parse("127.0.3.2"), phone)).PacketCase);
        fixture.Clock.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(Frame.PacketOneofCase.CodeSent, (await RequestCodeAsync(flooder, TestUsers.NewPhone())).PacketCase);
    }
}
