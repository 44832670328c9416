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

        var alive = await http.GetAsync("/health/alive");
        Assert.Equal(HttpStatusCode.OK, alive.StatusCode);

        var ready = await http.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
        Assert.Equal("Up", body.RootElement.GetProperty("checks").GetProperty("cluster").GetString());
        Assert.Equal("ok", body.RootElement.GetProperty("checks").GetProperty("journal").GetString());
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
        Assert.Contains("journal", await ready.Content.ReadAsStringAsync());
    }
}
