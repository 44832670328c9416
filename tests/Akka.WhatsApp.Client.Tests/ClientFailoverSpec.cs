using Akka.WhatsApp.Protocol;
using Xunit;

namespace Akka.WhatsApp.Client.Tests;

/// <summary>Heartbeats, dead-connection detection, the Reconnect hint and moving to another node (ClientOptions.Alternates).</summary>
public sealed class ClientFailoverSpec
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_logged_in_client_pings_at_the_interval_the_server_announced()
    {
        await using var server = new ScriptedServer(_ => new Frame { Ok = new Ok() }) { HeartbeatSeconds = 1 };
        await using var client = await WhatsAppClient.ConnectAsync(server.Options, ScriptedServer.Alice);
        var ping = await server.ReceiveAsync(f => f.PacketCase == Frame.PacketOneofCase.Ping);
        Assert.NotEqual(0u, ping.RequestId);
        await server.ReceiveAsync(f => f.PacketCase == Frame.PacketOneofCase.Ping);
        Assert.Equal(1, server.Logins);
    }

    [Fact]
    public async Task A_connection_that_answers_no_ping_for_two_intervals_is_dropped_and_the_client_logs_in_again()
    {
        await using var server = new ScriptedServer(_ => new Frame { Ok = new Ok() }) { HeartbeatSeconds = 1, AnswerPings = false };
        await using var client = await WhatsAppClient.ConnectAsync(server.Options, ScriptedServer.Alice);
        await UntilAsync(() => server.Logins >= 2, "a second login after the unanswered pings");
        Assert.Contains(await EventsAsync(client), e => e is Disconnected { WillReconnect: true });
    }

    [Fact]
    public async Task A_reconnect_hint_moves_the_client_to_the_next_node()
    {
        var hint = new Frame { Reconnect = new Reconnect { Reason = ReconnectReason.NodeDraining, DelayMs = 50 } };
        await using var draining = new ScriptedServer(_ => new Frame { Ok = new Ok() }) { PushAfterLogin = [hint] };
        await using var other = new ScriptedServer(_ => new Frame { Ok = new Ok() });
        var options = draining.Options with { Alternates = [new System.Net.DnsEndPoint("127.0.0.1", other.Port)] };
        await using var client = await WhatsAppClient.ConnectAsync(options, ScriptedServer.Alice);

        await UntilAsync(() => other.Logins == 1, "a login on the other node");
        Assert.Equal(other.Port, client.Endpoint.Port);
        Assert.Equal(1, draining.Logins);
        var events = await EventsAsync(client);
        Assert.Contains(events, e => e is Disconnected d && d.Reason.Contains("NodeDraining", StringComparison.Ordinal));
        Assert.Contains(events, e => e is Reconnected);
    }

    [Fact]
    public async Task When_its_node_dies_the_client_logs_in_on_an_alternate()
    {
        var dying = new ScriptedServer(_ => new Frame { Ok = new Ok() });
        await using var other = new ScriptedServer(_ => new Frame { Ok = new Ok() });
        var options = dying.Options with { Alternates = [new System.Net.DnsEndPoint("127.0.0.1", other.Port)] };
        await using var client = await WhatsAppClient.ConnectAsync(options, ScriptedServer.Alice);
        await dying.DisposeAsync();

        await UntilAsync(() => other.Logins == 1, "a login on the alternate");
        Assert.Equal(other.Port, client.Endpoint.Port);
        await client.SendReceiptAsync("bob", ReceiptType.Read, []).WaitAsync(Wait);
        Assert.Single(other.Requests(f => f.SendReceipt));
    }

    [Fact]
    public async Task While_its_only_node_is_down_the_client_says_when_it_tries_again_with_a_growing_delay()
    {
        var dying = new ScriptedServer(_ => new Frame { Ok = new Ok() });
        var options = dying.Options with { MinReconnectDelay = TimeSpan.FromMilliseconds(300), MaxReconnectDelay = TimeSpan.FromSeconds(4) };
        await using var client = await WhatsAppClient.ConnectAsync(options, ScriptedServer.Alice);
        var port = dying.Port;
        await dying.DisposeAsync();

        // Only waits a user would notice (≥ 1 s) are announced, each with its attempt and endpoint, never over the maximum delay.
        var announced = new List<Reconnecting>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await foreach (var e in client.Events.ReadAllAsync(timeout.Token))
            if (e is Reconnecting r && announced.Count < 2)
            {
                announced.Add(r);
                if (announced.Count == 2)
                    break;
            }
        Assert.All(announced, r => Assert.True(r.Delay >= TimeSpan.FromSeconds(1), $"announced a wait of {r.Delay}"));
        Assert.All(announced, r => Assert.Equal(port, r.Endpoint.Port));
        Assert.True(announced[1].Attempt == announced[0].Attempt + 1, $"attempts {announced[0].Attempt}, {announced[1].Attempt}");
        Assert.All(announced, r => Assert.True(r.Delay <= options.MaxReconnectDelay, $"announced {r.Delay}, over the maximum"));
    }

    private static async Task UntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException("not within 10 s: " + what);
            await Task.Delay(20);
        }
    }

    private static async Task<List<ClientEvent>> EventsAsync(WhatsAppClient client)
    {
        await Task.Delay(100);
        var events = new List<ClientEvent>();
        while (client.Events.TryRead(out var e))
            events.Add(e);
        return events;
    }
}
