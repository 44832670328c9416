using Akka.WhatsApp.Host;
using Akka.WhatsApp.Testing;
using Microsoft.Extensions.Logging;

namespace Akka.WhatsApp.Integration.Tests;

/// <summary>Starts real nodes on free loopback ports, on SQLite (a temp folder) or PostgreSQL (a fresh database).</summary>
public static class TestNodes
{
    public static async Task<HostSettings> SettingsAsync(JournalKind journal) => new HostSettings
    {
        ActorSystemName = "whatsapp",
        EdgeHost = "127.0.0.1",
        EdgePort = 0,
        ManagementHost = "127.0.0.1",
        ManagementPort = 0,
        RemoteHost = "127.0.0.1",
        RemotePort = 0,
        Journal = journal,
        DataDirectory = Directory.CreateTempSubdirectory("wa-test-").FullName,
        PostgresConnectionString = journal == JournalKind.Postgres ? await TestPostgres.CreateDatabaseAsync("wa_it") : null,
        NumberOfShards = 10,
        HeartbeatSeconds = 30,
        Media = new Host.Media.MediaStoreSettings { Host = "127.0.0.1", Port = 0 },
        // Tests stop nodes with raw connections open, which never answer the Reconnect hint: a short drain.
        DrainSeconds = 2,
        // Every test client is 127.0.0.1 and registers through RequestCode: the address limits would cut a test class
        // short. AuthThrottleSpec tests them at their defaults, each case from its own loopback address.
        LoginFailuresPerAddress = 100_000,
        CodeRequestsPerAddress = 100_000,
    };

    public static async Task<WhatsAppNode> StartAsync(HostSettings settings, TimeProvider? time = null)
    {
        var node = WhatsAppNode.Create(settings, logging: l => l.SetMinimumLevel(LogLevel.Warning), time: time);
        await node.StartAsync();
        await WaitUntilReadyAsync(node);
        return node;
    }

    /// <summary>The node's cluster address, as the management API spells it.</summary>
    public static string AddressOf(WhatsAppNode node) => ((Akka.Actor.ExtendedActorSystem)node.System).Provider.DefaultAddress.ToString();

    /// <summary>GET /cluster/shards/mailbox of <paramref name="node"/> (with its operator token): the shards it hosts and their entities.</summary>
    public static async Task<(int Shards, int Entities)> MailboxShardsAsync(WhatsAppNode node, string operatorToken)
    {
        using var http = new HttpClient { BaseAddress = node.ManagementUri };
        http.DefaultRequestHeaders.Authorization = new("Bearer", operatorToken);
        var body = await System.Net.Http.Json.HttpClientJsonExtensions.GetFromJsonAsync<System.Text.Json.JsonElement>(http, "/cluster/shards/mailbox");
        var regions = body.GetProperty("regions").EnumerateArray().ToList();
        return (regions.Count, regions.Sum(r => r.GetProperty("numEntities").GetInt32()));
    }

    /// <summary>The entities of <paramref name="region"/> alive on <paramref name="node"/>, as its /metrics tells (wa_entities).</summary>
    public static async Task<double> EntitiesAsync(WhatsAppNode node, string region)
    {
        using var http = new HttpClient { BaseAddress = node.ManagementUri };
        var text = await http.GetStringAsync("/metrics");
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith($"wa_entities{{region=\"{region}\"}}", StringComparison.Ordinal))
                   ?? throw new InvalidOperationException($"/metrics has no wa_entities for {region}");
        return double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Polls /health/ready until it answers 200, failing with the last answer after a minute.</summary>
    public static async Task WaitUntilReadyAsync(WhatsAppNode node)
    {
        using var http = new HttpClient { BaseAddress = node.ManagementUri, Timeout = TimeSpan.FromSeconds(10) };
        var last = "";
        await Eventually.Until(async () =>
        {
            var response = await http.GetAsync("/health/ready");
            last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
            return response.IsSuccessStatusCode;
        }, TimeSpan.FromSeconds(60), "the node to be ready", () => last);
    }
}
