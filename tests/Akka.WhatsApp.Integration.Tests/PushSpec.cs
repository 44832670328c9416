using System.Text;
using System.Text.Json.Nodes;
using Akka.WhatsApp.Client;
using Akka.WhatsApp.Cluster.Notifications;
using Akka.WhatsApp.Host;
using Akka.WhatsApp.Protocol;
using Akka.WhatsApp.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using static Akka.WhatsApp.Integration.Tests.TestUsers;

namespace Akka.WhatsApp.Integration.Tests;

/// <summary>A node on PostgreSQL whose push providers are the local APNs and FCM servers.</summary>
public sealed class PushNode : IAsyncLifetime
{
    public ProviderServers Providers { get; private set; } = null!;
    public WhatsAppNode Node { get; private set; } = null!;

    public PushMetrics Metrics => Node.App.Services.GetRequiredService<PushService>().Metrics;

    public async Task InitializeAsync()
    {
        Providers = await ProviderServers.StartAsync();
        Node = await TestNodes.StartAsync(await TestNodes.SettingsAsync(JournalKind.Postgres) with { Providers = Providers.Settings() });
    }

    public async Task DisposeAsync()
    {
        await Node.DisposeAsync();
        await Providers.DisposeAsync();
    }
}

/// <summary>
/// Pushes end to end (PROTOCOL.md §16): real TCP clients, a real node on PostgreSQL, and provider servers that check what
/// the node sends them as APNs and FCM would.
/// </summary>
public sealed class PushSpec(PushNode fixture) : IClassFixture<PushNode>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private WhatsAppNode Node => fixture.Node;
    private ProviderServers Providers => fixture.Providers;

    /// <summary>A user whose only device registered <paramref name="token"/> and then went offline.</summary>
    private async Task<Credentials> OfflineWithTokenAsync(string token, PushPlatform platform = PushPlatform.Apns)
    {
        var user = await RegisterAsync(Node);
        await using var device = await ConnectAsync(Node, user);
        Ok(await device.RequestAsync(new Frame { RegisterPushToken = new RegisterPushToken { Platform = platform, Token = token } }));
        return user;
    }

    private static string NewToken() => Convert.ToHexString(Guid.NewGuid().ToByteArray()).ToLowerInvariant();

    private static void Ok(Frame reply) => Assert.Equal(Frame.PacketOneofCase.Ok, reply.PacketCase);

    private static ReadOnlyMemory<byte> Payload(string text) => Encoding.UTF8.GetBytes(text);

    private async Task<IReadOnlyList<ProviderRequest>> PushesAsync(string service, string token, int atLeast = 1)
    {
        await Eventually.Until(() => Providers.For(service, token).Count(p => p.Status == 200) >= atLeast, Wait,
            $"{atLeast} {service} push(es) to {token}", () => $"requests {string.Join(", ", Providers.Requests.Select(r => $"{r.Service} {r.Path} {r.Status} {(r.Service == "oauth" ? r.Body : "")}"))}; " + PushMetricsText());
        return Providers.For(service, token);
    }

    /// <summary>The node's wa_push_* lines, for failure messages.</summary>
    private string PushMetricsText()
    {
        using var http = new HttpClient { BaseAddress = Node.ManagementUri };
        return string.Join("; ", http.GetStringAsync("/metrics").GetAwaiter().GetResult().Split('\n').Where(l => l.StartsWith("wa_push", StringComparison.Ordinal) && !l.Contains("_bucket", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_message_to_a_device_with_no_connection_wakes_it_with_one_APNs_push_that_carries_no_content()
    {
        var token = NewToken();
        var bob = await OfflineWithTokenAsync(token);
        await using var alice = await ConnectAsync(Node, await RegisterAsync(Node));

        var sent = await alice.SendAsync(bob.UserId, Payload("the secret plan"));

        var push = Assert.Single(await PushesAsync("apns", token));
        Assert.Equal("/3/device/" + token, push.Path);
        Assert.Equal(("alert", ProviderServers.Topic, "10", "new-messages"),
            (push.Header("apns-push-type"), push.Header("apns-topic"), push.Header("apns-priority"), push.Header("apns-collapse-id")));
        Assert.True(long.Parse(push.Header("apns-expiration"), System.Globalization.CultureInfo.InvariantCulture) > DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        var aps = JsonNode.Parse(push.Body)!["aps"]!;
        Assert.Equal("NEW_MESSAGES", aps["alert"]!["loc-key"]!.GetValue<string>());
        Assert.Equal(1, aps["badge"]!.GetValue<int>());
        // Nothing of the message: not its text, not who sent it, not its id.
        Assert.DoesNotContain("secret", push.Body, StringComparison.Ordinal);
        Assert.DoesNotContain(alice.Credentials.UserId, push.Body, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(sent.MessageId.ToByteArray()), push.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_burst_of_a_hundred_messages_wakes_the_device_once()
    {
        var token = NewToken();
        var bob = await OfflineWithTokenAsync(token);
        await using var alice = await ConnectAsync(Node, await RegisterAsync(Node));
        var coalescedBefore = fixture.Metrics.SkippedCount("coalesced");

        for (var i = 0; i < 100; i++)
            await alice.SendAsync(bob.UserId, Payload($"m{i}"));

        // All 100 went through the pipeline: one was pushed, 99 were coalesced (other tests add to the count, never take from it).
        await Eventually.Until(() => fixture.Metrics.SkippedCount("coalesced") - coalescedBefore >= 99, Wait, "99 coalesced candidates",
            () => $"{fixture.Metrics.SkippedCount("coalesced") - coalescedBefore} coalesced");
        Assert.Single(await PushesAsync("apns", token));
    }

    [Fact]
    public async Task A_connected_device_a_muted_chat_and_do_not_disturb_get_no_push()
    {
        var alice = await RegisterAsync(Node);
        await using var a = await ConnectAsync(Node, alice);

        var onlineToken = NewToken();
        var online = await RegisterAsync(Node);
        await using var connected = await ConnectAsync(Node, online);
        Ok(await connected.RequestAsync(new Frame { RegisterPushToken = new RegisterPushToken { Platform = PushPlatform.Apns, Token = onlineToken } }));

        var mutedToken = NewToken();
        var muted = await RegisterAsync(Node);
        await using (var m = await ConnectAsync(Node, muted))
        {
            Ok(await m.RequestAsync(new Frame { RegisterPushToken = new RegisterPushToken { Platform = PushPlatform.Apns, Token = mutedToken } }));
            Ok(await m.RequestAsync(new Frame { MuteChat = new MuteChat { Chat = new ChatRef { UserId = alice.UserId }, MutedUntil = ulong.MaxValue } }));
        }

        var quietToken = NewToken();
        var quiet = await RegisterAsync(Node);
        await using (var q = await ConnectAsync(Node, quiet))
        {
            Ok(await q.RequestAsync(new Frame { RegisterPushToken = new RegisterPushToken { Platform = PushPlatform.Apns, Token = quietToken } }));
            Ok(await q.RequestAsync(new Frame { SetDoNotDisturb = new SetDoNotDisturb { Enabled = true, AllowCalls = true } }));
        }
        var (mutedBefore, quietBefore) = (fixture.Metrics.SkippedCount("muted"), fixture.Metrics.SkippedCount("do_not_disturb"));

        await a.SendAsync(online.UserId, Payload("hi"));
        await connected.NextAsync<MessageReceived>();
        await a.SendAsync(muted.UserId, Payload("hi"));
        await a.SendAsync(quiet.UserId, Payload("hi"));
        // A marker behind them in the same pipeline: once it is pushed, anything queued before it was decided.
        var markerToken = NewToken();
        var marker = await OfflineWithTokenAsync(markerToken);
        await a.SendAsync(marker.UserId, Payload("hi"));
        await PushesAsync("apns", markerToken);

        await Eventually.Until(() => fixture.Metrics.SkippedCount("muted") > mutedBefore && fixture.Metrics.SkippedCount("do_not_disturb") > quietBefore,
            Wait, "the muted and do-not-disturb candidates to be skipped");
        Assert.Empty(Providers.For("apns", onlineToken));
        Assert.Empty(Providers.For("apns", mutedToken));
        Assert.Empty(Providers.For("apns", quietToken));
    }

    [Fact]
    public async Task A_token_the_provider_says_is_gone_is_removed_and_not_used_again()
    {
        var token = NewToken();
        Providers.GoneTokens[token] = true;
        var bob = await OfflineWithTokenAsync(token);
        await using var alice = await ConnectAsync(Node, await RegisterAsync(Node));
        var removedBefore = fixture.Metrics.SkippedCount("no_registration");

        await alice.SendAsync(bob.UserId, Payload("one"));
        await Eventually.Until(() => Providers.For("apns", token).Any(r => r.Status == 410), Wait, "APNs to answer 410");
        // The account drops the registration; the next candidate finds none (and is not merely coalesced with the first).
        await Eventually.Until(async () =>
        {
            await alice.SendAsync(bob.UserId, Payload("again"));
            return fixture.Metrics.SkippedCount("no_registration") > removedBefore;
        }, Wait, "a later message to find no registration");
        Assert.Single(Providers.For("apns", token));
    }

    [Fact]
    public async Task A_provider_outage_is_retried_and_the_send_is_acknowledged_without_waiting_for_it()
    {
        var token = NewToken();
        var bob = await OfflineWithTokenAsync(token);
        await using var alice = await ConnectAsync(Node, await RegisterAsync(Node));
        Providers.FailNext(2);

        await alice.SendAsync(bob.UserId, Payload("during the outage"));
        var acknowledged = DateTimeOffset.UtcNow;

        var push = Assert.Single(await PushesAsync("apns", token), r => r.Status == 200);
        var attempts = Providers.For("apns", token);
        Assert.Equal([503, 503, 200], attempts.Select(a => a.Status));
        // The provider said Retry-After: 1 twice, so the push is at least ~2 s after the send's answer: the send did not wait.
        Assert.True(push.At > acknowledged, $"the push ({push.At:O}) came before the send was acknowledged ({acknowledged:O})");
    }

    [Fact]
    public async Task An_Android_device_is_woken_through_FCM_with_a_data_only_high_priority_message()
    {
        var token = "fcm:" + NewToken();
        var dave = await OfflineWithTokenAsync(token, PushPlatform.Fcm);
        await using var alice = await ConnectAsync(Node, await RegisterAsync(Node));

        await alice.SendAsync(dave.UserId, Payload("for android"));

        var push = Assert.Single(await PushesAsync("fcm", token));
        Assert.Equal($"/v1/projects/{ProviderServers.Project}/messages:send", push.Path);
        var message = JsonNode.Parse(push.Body)!["message"]!;
        Assert.Equal(token, message["token"]!.GetValue<string>());
        Assert.Null(message["notification"]);
        Assert.Equal("new_messages", message["data"]!["type"]!.GetValue<string>());
        Assert.Equal(("HIGH", "new-messages"), (message["android"]!["priority"]!.GetValue<string>(), message["android"]!["collapse_key"]!.GetValue<string>()));
        Assert.DoesNotContain("for android", push.Body, StringComparison.Ordinal);
        // The access token came from the service account's signed assertion (the token endpoint checked it).
        Assert.Contains(Providers.Requests, r => r.Service == "oauth" && r.Status == 200);
    }
}
