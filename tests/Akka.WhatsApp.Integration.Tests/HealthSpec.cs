using System.Net;
using System.Text.Json;
using Akka.WhatsApp.Host;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Akka.WhatsApp.Integration.Tests;

public sealed class HealthSpec
{
    [Theory]
    [InlineData(JournalKind.Sqlite)]
    [InlineData(JournalKind.Postgres)]
    public async Task Ready_reports_the_cluster_member_Up_and_the_journal_answering(JournalKind journal)
    {
        await using var node = await TestNodes.StartAsync(await TestNodes.SettingsAsync(journal));
        using var http = new HttpClient { BaseAddress = node.ManagementUri };

        // Akka.Hosting's checks through ASP.NET Core's: alive is the actor system's liveness alone, ready the cluster
        // readiness (this node Up) and our journal probe; each check is named with its status and why.
        var alive = await http.GetAsync("/health/alive");
        Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
        using var aliveBody = JsonDocument.Parse(await alive.Content.ReadAsStringAsync());
        var aliveChecks = aliveBody.RootElement.GetProperty("checks").EnumerateObject().ToList();
        Assert.Single(aliveChecks);
        Assert.Equal("Healthy", aliveChecks[0].Value.GetProperty("status").GetString());

        var ready = await http.GetAsync("/health/ready");
        var text = await ready.Content.ReadAsStringAsync();
        Assert.True(ready.StatusCode == HttpStatusCode.OK, text);
        using var body = JsonDocument.Parse(text);
        Assert.Equal("Healthy", body.RootElement.GetProperty("status").GetString());
        var checks = body.RootElement.GetProperty("checks").EnumerateObject().ToDictionary(c => c.Name, c => c.Value);
        Assert.Equal("ok", checks["journal"].GetProperty("description").GetString());
        Assert.Contains(checks, c => c.Key.Contains("cluster", StringComparison.OrdinalIgnoreCase) && c.Value.GetProperty("status").GetString() == "Healthy");
    }

    [Fact]
    public async Task Ready_is_503_when_the_journal_database_is_unreachable()
    {
        var settings = await TestNodes.SettingsAsync(JournalKind.Postgres) with
        {
            // A port where nothing listens: the node starts, but its journal cannot answer.
            PostgresConnectionString = "Host=127.0.0.1;Port=1;Username=postgres;Database=none;Timeout=2",
        };
        await using var node = WhatsAppNode.Create(settings, logging: l => l.ClearProviders());
        await node.StartAsync();
        using var http = new HttpClient { BaseAddress = node.ManagementUri };

        var ready = await http.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        using var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
        Assert.Equal("Unhealthy", body.RootElement.GetProperty("checks").GetProperty("journal").GetProperty("status").GetString());
        // Alive stays 200: a node waiting for its database is not dead, and an orchestrator must not restart it for that.
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/alive")).StatusCode);
    }
}
