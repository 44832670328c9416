using Akka.WhatsApp.Testing;
using System.Net.Http.Json;
using System.Text.Json;
using Akka.Actor;
using Akka.Cluster;
using Akka.WhatsApp.Client;
using Akka.WhatsApp.Host;
using Xunit;
using Xunit.Abstractions;
using static Akka.WhatsApp.Integration.Tests.TestUsers;

namespace Akka.WhatsApp.Integration.Tests;

/// <summary>
/// The live dashboard of a 3-node cluster on one PostgreSQL database, rendered by headless Chromium (through
/// chromedriver: a missing driver fails the test). The page is opened on node 1 with the operator token in its URL.
/// </summary>
public sealed class DashboardSpec(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Token = "dashboard-operator-token";
    private readonly List<WhatsAppNode> _nodes = [];
    private readonly List<WhatsAppClient> _clients = [];

    /// <summary>The DOM as the test reads it: rows by node, with their data-* attributes and the text shown.</summary>
    private const string ReadPage = """
        const field = (root, name) => root.querySelector('[data-field="' + name + '"]').textContent;
        return JSON.stringify({
          polls: Number(document.body.dataset.polls),
          marker: window.__marker === undefined ? null : window.__marker,
          error: document.getElementById('error').textContent,
          acceptedRate: Number(field(document.getElementById('summary'), 'accepted-rate')),
          rows: Array.from(document.querySelectorAll('#nodes tr')).map(tr => ({
            node: tr.dataset.node, status: tr.dataset.status, statusText: field(tr, 'status'), self: tr.dataset.self, leader: tr.dataset.leader,
            connections: tr.dataset.connections === '' || tr.dataset.connections === undefined ? null : Number(tr.dataset.connections),
            connectionsText: field(tr, 'connections'),
            acceptedRate: tr.dataset.acceptedRate === undefined ? 0 : Number(tr.dataset.acceptedRate),
            regions: Array.from(tr.querySelectorAll('[data-region]')).map(s => ({ region: s.dataset.region, shards: Number(s.dataset.shards), entities: Number(s.dataset.entities) }))
          }))
        });
        """;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var client in _clients)
            await client.DisposeAsync();
        foreach (var node in Enumerable.Reverse(_nodes))
        {
            try
            {
                await node.DisposeAsync();
            }
            catch (Exception e)
            {
                output.WriteLine($"stopping a node: {e.Message}");
            }
        }
    }

    [Fact]
    public async Task Dashboard_shows_three_nodes_with_their_shards_connections_and_message_rates_and_updates_without_reload()
    {
        // Fails here, before any node starts, when chromedriver is missing.
        WebDriver.DriverPath();
        var settings = await TestNodes.SettingsAsync(JournalKind.Postgres) with { ManagementToken = Token };
        var first = await StartAsync(settings);
        var seed = TestNodes.AddressOf(first).ToString();
        await StartAsync(settings with { SeedNodes = [seed] });
        await StartAsync(settings with { SeedNodes = [seed] });
        await UntilAsync(() => Akka.Cluster.Cluster.Get(first.System).State.Members.Count(m => m.Status == MemberStatus.Up) == 3,
            "three members Up", TimeSpan.FromSeconds(60));

        // 1, 2 and 3 clients on nodes 1, 2 and 3.
        var users = new List<Credentials>();
        for (var i = 0; i < 6; i++)
            users.Add(await RegisterInClusterAsync(first));
        int[] perNode = [1, 2, 3];
        var next = 0;
        for (var n = 0; n < 3; n++)
            for (var c = 0; c < perNode[n]; c++)
                _clients.Add(await ConnectAsync(_nodes[n], users[next++]));

        await using var browser = await WebDriver.StartChromiumAsync();
        await browser.NavigateAsync(new Uri(first.ManagementUri, $"/dashboard?token={Token}"));

        // Three rows, Up, with the nodes' real addresses and the clients each one holds.
        var page = await PageUntilAsync(browser, p => p.Rows.Count == 3 && p.Rows.All(r => r.Status == "Up")
                && Enumerable.Range(0, 3).All(n => p.Row(TestNodes.AddressOf(_nodes[n]))?.Connections == perNode[n]),
            "three Up rows with 1, 2 and 3 connections");
        for (var n = 0; n < 3; n++)
        {
            var row = page.Row(TestNodes.AddressOf(_nodes[n]))!;
            Assert.Equal("Up", row.StatusText);
            Assert.Equal(perNode[n].ToString(System.Globalization.CultureInfo.InvariantCulture), row.ConnectionsText);
            Assert.Equal(n == 0 ? "true" : "false", row.Self);
        }
        Assert.Single(page.Rows, r => r.Leader == "true");
        Assert.Equal("", page.Error);

        // A message rate shows while messages flow (from the client on node 2 to the one on node 1).
        using (var sending = new CancellationTokenSource())
        {
            var sender = _clients[1];
            var load = Task.Run(async () =>
            {
                var i = 0;
                while (!sending.IsCancellationRequested)
                {
                    await sender.SendAsync(users[0].UserId, Payload($"rate {i++}"));
                    await Task.Delay(50);
                }
            });
            page = await PageUntilAsync(browser, p => p.AcceptedRate > 0 && p.Row(TestNodes.AddressOf(_nodes[1]))?.AcceptedRate > 0,
                "a message rate above 0 on node 2 while it accepts messages");
            output.WriteLine($"accepted rate: {page.AcceptedRate} msg/s");
            await sending.CancelAsync();
            await load;
        }

        // Shards and entities per node: what each node's own /cluster/shards/mailbox says (read once traffic stopped;
        // compared until they agree, since both are live numbers).
        await UntilAsync(async () =>
        {
            var shown = await ReadAsync(browser);
            for (var n = 0; n < 3; n++)
            {
                var mailbox = shown.Row(TestNodes.AddressOf(_nodes[n]))?.Regions.SingleOrDefault(r => r.Region == "mailbox");
                var (shards, entities) = await TestNodes.MailboxShardsAsync(_nodes[n], Token);
                if (mailbox is null || mailbox.Shards != shards || mailbox.Entities != entities)
                {
                    output.WriteLine($"node {n + 1}: page {mailbox}, /cluster/shards/mailbox {shards} shards, {entities} entities");
                    return false;
                }
            }
            return shown.Rows.Sum(r => r.Regions.Single(g => g.Region == "mailbox").Entities) >= users.Count;
        }, "the page's mailbox shards and entities to match /cluster/shards/mailbox of every node", TimeSpan.FromSeconds(20));

        // No reload: a marker set in the page survives while node 3 leaves and its row changes.
        await browser.ExecuteAsync("window.__marker = 1; return null;");
        var polls = (await ReadAsync(browser)).Polls;
        var third = TestNodes.AddressOf(_nodes[2]);
        Akka.Cluster.Cluster.Get(first.System).Leave(Akka.Actor.Address.Parse(third));
        page = await PageUntilAsync(browser, p => p.Row(third) is null || p.Row(third)!.Status != "Up",
            "node 3's row to leave Up (or disappear) after it left the cluster", TimeSpan.FromSeconds(60));
        Assert.Equal(1, page.Marker);
        Assert.True(page.Polls > polls, $"the page polled {polls} then {page.Polls} times");
        page = await PageUntilAsync(browser, p => p.Rows.Count == 2 && p.Rows.All(r => r.Status == "Up"), "two Up rows once node 3 is gone",
            TimeSpan.FromSeconds(60));
        Assert.Equal(1, page.Marker);
    }

    private async Task<WhatsAppNode> StartAsync(HostSettings settings)
    {
        var node = await TestNodes.StartAsync(settings);
        _nodes.Add(node);
        return node;
    }

    /// <summary>
    /// Registers through <paramref name="via"/>; the code is sent by whichever node hosts the number's verification
    /// entity, so every node's development gateway is asked for it.
    /// </summary>
    private async Task<Credentials> RegisterInClusterAsync(WhatsAppNode via)
    {
        var phone = NewPhone();
        var options = await OptionsAsync(via);
        await WhatsAppClient.RequestCodeAsync(options, phone);
        string? code = null;
        await UntilAsync(async () =>
        {
            foreach (var node in _nodes)
                code ??= await DevelopmentCodes.FetchAsync(node.ManagementUri, phone);
            return code is not null;
        }, $"a verification code for {phone} on any node", TimeSpan.FromSeconds(20));
        return (await WhatsAppClient.VerifyAsync(options, phone, code!)).Credentials;
    }

    private sealed record Row(string Node, string Status, string StatusText, string Self, string Leader, int? Connections, string ConnectionsText,
        double AcceptedRate, IReadOnlyList<RegionLoad> Regions);

    private sealed record RegionLoad(string Region, int Shards, int Entities);

    private sealed record Page(int Polls, int? Marker, string Error, double AcceptedRate, IReadOnlyList<Row> Rows)
    {
        public Row? Row(string node) => Rows.SingleOrDefault(r => r.Node == node);
    }

    private static async Task<Page> ReadAsync(WebDriver browser)
    {
        var json = (await browser.ExecuteAsync(ReadPage)).GetString()!;
        return JsonSerializer.Deserialize<Page>(json, new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
    }

    private async Task<Page> PageUntilAsync(WebDriver browser, Func<Page, bool> condition, string what, TimeSpan? timeout = null)
    {
        Page? last = null;
        await Eventually.Until(async () => condition(last = await ReadAsync(browser)), timeout ?? TimeSpan.FromSeconds(30), what,
            () => "the page showed " + JsonSerializer.Serialize(last));
        return last!;
    }

    private static Task UntilAsync(Func<bool> condition, string what, TimeSpan timeout) => Eventually.Until(condition, timeout, what);

    private static Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan timeout) => Eventually.Until(condition, timeout, what);
}
