using System.Diagnostics;
using System.Net;
using Akka.WhatsApp.Client;
using Akka.WhatsApp.Host;
using Akka.WhatsApp.Protocol;
using Akka.WhatsApp.Testing;
using Npgsql;
using Xunit;
using Xunit.Abstractions;
using static Akka.WhatsApp.Integration.Tests.TestUsers;

namespace Akka.WhatsApp.Integration.Tests;

/// <summary>
/// PostgreSQL away for 30 s under a steady sender (#21 item 1), through a proxy the test cuts: while the journal is
/// unreachable no send is acknowledged, each is answered (an error or the client's timeout) instead of hanging,
/// /health/ready says not ready; when the database is back the node recovers by itself, and every acknowledged
/// message is in the recipient's mailbox exactly once, in the order it was sent.
/// </summary>
public sealed class DatabaseOutageSpec(ITestOutputHelper output)
{
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task While_the_journal_is_unreachable_nothing_is_acknowledged_and_afterwards_every_acknowledged_message_arrives_once_in_order()
    {
        var database = new NpgsqlConnectionStringBuilder(await TestPostgres.CreateDatabaseAsync("wa_outage"));
        await using var proxy = new TcpProxy(new IPEndPoint(IPAddress.Loopback, database.Port));
        database.Host = "127.0.0.1";
        database.Port = proxy.Port;
        database.Timeout = 3; // connect timeout: a refused database fails a write in seconds
        var settings = await TestNodes.SettingsAsync(JournalKind.Sqlite) with { Journal = JournalKind.Postgres, PostgresConnectionString = database.ConnectionString };
        await using var node = await TestNodes.StartAsync(settings);
        var (alice, bob) = (await RegisterAsync(node), await RegisterAsync(node));
        // The SDK's default request timeout, longer than the edge's 10 s: the server's own answer is what the test sees.
        var options = await OptionsAsync(node) with { RequestTimeout = TimeSpan.FromSeconds(15), MaxSendAttempts = 1 };
        await using var sender = await WhatsAppClient.ConnectAsync(options, alice);

        var sent = new List<(string Id, bool Acked)>();
        async Task<(bool Acked, string Outcome, TimeSpan Took)> SendOneAsync(string phase)
        {
            var id = Guid.NewGuid().ToByteArray();
            var hex = Convert.ToHexString(id).ToLowerInvariant();
            var clock = Stopwatch.StartNew();
            try
            {
                // Bounded: a send that neither succeeds nor fails within the client's timeout and a margin has hung.
                await sender.SendAsync(bob.UserId, Payload(phase), messageId: id).WaitAsync(TimeSpan.FromSeconds(20));
                sent.Add((hex, true));
                return (true, "acknowledged", clock.Elapsed);
            }
            catch (Exception e) when (e is ServerErrorException or TimeoutException or IOException)
            {
                sent.Add((hex, false));
                // The SDK gives up after its attempts with an IOException around the server's last answer.
                var answer = e as ServerErrorException ?? e.InnerException as ServerErrorException;
                return (false, answer is not null ? answer.Code.ToString() : e.GetType().Name, clock.Elapsed);
            }
        }

        for (var i = 0; i < 20; i++)
            Assert.True((await SendOneAsync("before")).Acked);

        proxy.Cut();
        var cutAt = Stopwatch.StartNew();
        var during = new List<(bool Acked, string Outcome, TimeSpan Took)>();
        using var http = new HttpClient { BaseAddress = node.ManagementUri };
        var readyDuring = new List<int>();
        while (cutAt.Elapsed < Outage)
        {
            during.Add(await SendOneAsync("during"));
            readyDuring.Add((int)(await http.GetAsync("/health/ready")).StatusCode);
        }
        proxy.Restore();
        var restoredAt = Stopwatch.StartNew();
        (bool Acked, string Outcome, TimeSpan Took) first;
        var retries = 0;
        do
        {
            first = await SendOneAsync("after");
            retries++;
        }
        while (!first.Acked && restoredAt.Elapsed < TimeSpan.FromSeconds(90));
        var recovered = restoredAt.Elapsed;
        for (var i = 0; i < 20; i++)
            Assert.True((await SendOneAsync("after")).Acked, "a send failed after the node had recovered");

        output.WriteLine($"outage {Outage.TotalSeconds:F0} s: {during.Count} sends, {during.Count(d => d.Acked)} acknowledged; answers " +
            string.Join(", ", during.GroupBy(d => d.Outcome).Select(g => $"{g.Key} ×{g.Count()} (max {g.Max(d => d.Took).TotalSeconds:F1} s)")) +
            $"; /health/ready {string.Join("/", readyDuring.Distinct())}; first acknowledged send {recovered.TotalSeconds:F1} s after the database returned ({retries} tries)");

        Assert.NotEmpty(during);
        Assert.DoesNotContain(during, d => d.Acked);
        Assert.All(during, d => Assert.True(d.Outcome is "Timeout" or "Unavailable", $"a send during the outage was answered {d.Outcome}"));
        Assert.Contains(503, readyDuring);
        Assert.True(first.Acked, $"no send was acknowledged within 90 s of the database's return (last: {first.Outcome})");

        // The mailbox holds every acknowledged message once, in send order; an unacknowledged one at most once.
        var stored = (await RawBacklogAsync(node, bob)).Select(d => Convert.ToHexString(d.MessageId.Span).ToLowerInvariant()).ToList();
        var acked = sent.Where(s => s.Acked).Select(s => s.Id).ToList();
        Assert.Equal(acked, stored.Where(acked.Contains).ToList());
        Assert.Equal(stored.Count, stored.Distinct().Count());
        output.WriteLine($"sent {sent.Count}, acknowledged {acked.Count}, in the mailbox {stored.Count} " +
            $"({stored.Count - acked.Count} of the unacknowledged ones), lost 0, duplicated 0, reordered 0");
    }
}
