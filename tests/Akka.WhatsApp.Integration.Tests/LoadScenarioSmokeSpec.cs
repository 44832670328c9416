using System.Net;
using System.Net.Http.Json;
using Akka.WhatsApp.Client;
using Akka.WhatsApp.Host;
using Akka.WhatsApp.LoadTest.Core;
using Xunit;

namespace Akka.WhatsApp.Integration.Tests;

/// <summary>A node on PostgreSQL with bulk provisioning enabled, shared by the load-scenario smoke runs.</summary>
public sealed class LoadTestNode : IAsyncLifetime
{
    public const string Token = "smoke-test-provisioning-token";

    public WhatsAppNode Node { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Node = await TestNodes.StartAsync(await TestNodes.SettingsAsync(JournalKind.Postgres) with { LoadTestToken = Token, SendRate = 100_000 });

    public async Task DisposeAsync() => await Node.DisposeAsync();

    public async Task<LoadContext> ContextAsync() => new()
    {
        Servers = [new DnsEndPoint("127.0.0.1", (await Node.EdgeEndpoint).Port)],
        Management = Node.ManagementUri,
        ProvisioningToken = Token,
        // The node runs in this process: its memory and CPU are this process's.
        Stats = new ProcessStats([Environment.ProcessId]),
        Progress = TextWriter.Null,
    };
}

/// <summary>
/// Each load scenario, small and short, against a real node over TCP: it must complete with nothing lost or
/// shown twice and no failed request. Times are reported by the scenarios, never asserted here.
/// </summary>
public sealed class LoadScenarioSmokeSpec(LoadTestNode fixture) : IClassFixture<LoadTestNode>
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(3);

    private async Task<ScenarioRun> RunAsync(string scenario, params string[] options) =>
        await RunAsync(scenario, await fixture.ContextAsync(), options);

    private static async Task<ScenarioRun> RunAsync(string scenario, LoadContext context, params string[] options)
    {
        var args = new ScenarioArgs(LoadTest.Program.ParseOptions(options));
        using var timeout = new CancellationTokenSource(Limit);
        var run = await ScenarioCatalog.Find(scenario)!.RunAsync(context, args, timeout.Token);
        Assert.Empty(args.Unused([]));
        Assert.Equal(scenario, run.Scenario);
        foreach (var step in run.Steps)
        {
            Assert.True(step.Lost == 0, $"{scenario} {step.Label}: {step.Lost} lost");
            Assert.Equal(0, step.Count("duplicates"));
            Assert.Empty(step.Errors);
        }
        // The report of a real run renders and keeps its figures.
        var dir = Directory.CreateTempSubdirectory("wa-smoke-").FullName;
        var report = ReportWriter.Append(dir, run);
        Assert.Single(report.Runs);
        Assert.Contains(run.Title, File.ReadAllText(Path.Combine(dir, "report.md")));
        return run;
    }

    [Fact]
    public async Task One_to_one_delivers_every_accepted_message_once_in_conversation_order()
    {
        var run = await RunAsync("one-to-one", "--users", "20", "--rate", "100,200", "--warmup", "1", "--seconds", "2");
        Assert.Equal(2, run.Steps.Count);
        foreach (var step in run.Steps)
        {
            Assert.Equal(step.Count("sent"), step.Count("accepted"));
            Assert.Equal(step.Count("accepted"), step.Count("received"));
            Assert.Equal(0, step.Count("reordered"));
            Assert.Equal((long)(step.OfferedRate!.Value * 3), step.Count("sent"));
            Assert.Equal(step.OfferedRate * 2, step.Latencies.Single(l => l.Name == "send → receive").Count);
            Assert.NotNull(step.Cpu?.Server);
        }
    }

    [Fact]
    public async Task Search_fills_a_device_store_and_times_every_kind_of_search()
    {
        var run = await RunAsync("search", "--messages", "3000", "--chats", "10", "--queries", "5");
        Assert.Equal(3000, run.Steps[0].Count("stored"));
        Assert.True(run.Steps[0].Figures["messages.db MB"] > 0);
        var searches = run.Steps.Skip(1).ToList();
        Assert.Equal(11, searches.Count);
        Assert.All(searches, s => Assert.Equal(5, s.Latencies.Single().Count));
        // Every shape finds something in a store of 3,000 (the common words are in a quarter of the messages each).
        Assert.All(searches.Where(s => !s.Label.Contains("rare", StringComparison.Ordinal)), s => Assert.True(s.Count("hits") > 0, s.Label));
    }

    [Fact]
    public async Task Ramp_steps_the_rate_and_names_the_highest_that_held()
    {
        // A bound no step can miss on a working server: the ramp must run every step and say so.
        var run = await RunAsync("ramp", "--users", "10", "--from", "50", "--step", "50", "--to", "150", "--warmup", "1", "--seconds", "1",
            "--p99-ms", "60000");
        Assert.Equal([50.0, 100, 150], run.Steps.Select(s => s.OfferedRate!.Value));
        Assert.StartsWith("highest sustainable rate 150 msg/s", run.Summary);
    }

    [Fact]
    public async Task Group_fan_out_reaches_every_member_once()
    {
        var run = await RunAsync("group-fanout", "--members", "30", "--rate", "5", "--seconds", "2");
        var step = Assert.Single(run.Steps);
        Assert.Equal(10, step.Count("accepted"));
        Assert.Equal(10 * 29, step.Count("expected"));
        Assert.Equal(step.Count("expected"), step.Count("delivered"));
        Assert.Equal(10, step.Count("reached all"));
    }

    [Fact]
    public async Task Offline_sync_delivers_the_whole_backlog()
    {
        var run = await RunAsync("offline-sync", "--messages", "500");
        var step = Assert.Single(run.Steps);
        Assert.Equal(500, step.Count("accepted"));
        Assert.Equal(500, step.Count("received"));
        Assert.Equal(500, step.Count("acked up to seq"));
    }

    [Fact]
    public async Task Typing_signals_are_all_relayed()
    {
        var run = await RunAsync("typing", "--signals", "20");
        Assert.Equal(20, Assert.Single(run.Steps).Latencies.Single().Count);
    }

    [Fact]
    public async Task Concurrent_calls_are_all_set_up_and_torn_down_beside_a_message_load()
    {
        var run = await RunAsync("calls", "--calls", "20", "--ice", "1", "--hold-ms", "100", "--message-rate", "50", "--message-users", "20");
        var calls = run.Steps[0];
        Assert.Equal((20, 20, 0), (calls.Count("calls"), calls.Count("completed"), calls.Count("failed")));
        Assert.Equal(20 * (1 + 1 + 2 + 1), calls.Latencies.Single(l => l.Name.StartsWith("signal relay", StringComparison.Ordinal)).Count);
        Assert.Equal(2, run.Steps.Count); // the messages alongside, checked for losses above
    }

    [Fact]
    public async Task Connections_are_held_from_several_source_addresses_and_their_memory_is_measured()
    {
        var context = await fixture.ContextAsync() with { SourceAddresses = [IPAddress.Parse("127.0.0.2"), IPAddress.Parse("127.0.0.3"), IPAddress.Parse("127.0.0.4")] };
        var run = await RunAsync("connections", context, "--connections", "300", "--hold", "1", "--concurrency", "50");
        var step = Assert.Single(run.Steps);
        Assert.Equal(300, step.Count("connected"));
        Assert.Equal(300, step.Count("held"));
        Assert.True(step.Figures.ContainsKey("RSS per connection (KiB)"), string.Join(", ", step.Figures.Keys));
    }

    [Fact]
    public async Task Media_uploads_come_back_byte_for_byte_and_are_measured_against_the_disk_and_a_plain_put()
    {
        var run = await RunAsync("media", "--uploaders", "3", "--size", "100000", "--seconds", "2");
        var upload = run.Steps.Single(s => s.Label == "upload");
        var download = run.Steps.Single(s => s.Label == "download");
        Assert.True(upload.Count("done") > 0, "nothing was uploaded");
        Assert.Equal(upload.Count("done"), download.Count("verified"));
        Assert.Equal(0, download.Count("corrupt"));
        Assert.All(run.Steps, s => Assert.True(s.Count("done") > 0, $"{s.Label}: nothing done"));
        Assert.True(upload.Figures.ContainsKey("MB/s ÷ plain PUT MB/s"), string.Join(", ", upload.Figures.Keys));
        Assert.StartsWith("100,000 B upload p95 ", run.Summary);
    }
}

/// <summary>The bulk provisioning route: off unless configured, and only for callers with the token.</summary>
public sealed class LoadTestProvisioningSpec(LoadTestNode fixture) : IClassFixture<LoadTestNode>
{
    [Fact]
    public async Task Provisioned_users_are_real_accounts_that_log_in_and_message_each_other()
    {
        var context = await fixture.ContextAsync();
        var users = await context.ProvisionAsync(3, CancellationToken.None);
        Assert.Equal(3, users.Select(u => u.UserId).Distinct().Count());
        var clients = await context.ConnectAsync(users, CancellationToken.None);
        try
        {
            await clients[0].SendAsync(users[2].UserId, "hello"u8.ToArray());
            var received = await NextMessageAsync(clients[2]);
            Assert.Equal(users[0].UserId, received.Deliver.FromUserId);
        }
        finally
        {
            await LoadContext.DisposeAllAsync(clients);
        }
        // A wrong token does not log in.
        await Assert.ThrowsAsync<ServerErrorException>(() =>
            WhatsAppClient.ConnectAsync(context.OptionsFor(0), users[0] with { Token = new byte[32] }));
    }

    [Fact]
    public async Task Without_the_token_or_with_a_wrong_one_or_a_bad_count_nothing_is_created()
    {
        using var http = new HttpClient { BaseAddress = fixture.Node.ManagementUri };
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.PostAsJsonAsync("/loadtest/users", new { count = 1 })).StatusCode);
        using var wrong = new HttpRequestMessage(HttpMethod.Post, "/loadtest/users") { Content = JsonContent.Create(new { count = 1 }) };
        wrong.Headers.Authorization = new("Bearer", LoadTestNode.Token + "x");
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(wrong)).StatusCode);
        foreach (var count in new[] { 0, 5_001 })
        {
            using var bad = new HttpRequestMessage(HttpMethod.Post, "/loadtest/users") { Content = JsonContent.Create(new { count }) };
            bad.Headers.Authorization = new("Bearer", LoadTestNode.Token);
            var response = await http.SendAsync(bad);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains("count must be between 1 and 5000", await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task The_route_does_not_exist_unless_configured_and_a_short_token_is_refused()
    {
        await using var node = await TestNodes.StartAsync(await TestNodes.SettingsAsync(JournalKind.Sqlite));
        using var http = new HttpClient { BaseAddress = node.ManagementUri };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/loadtest/users") { Content = JsonContent.Create(new { count = 1 }) };
        request.Headers.Authorization = new("Bearer", LoadTestNode.Token);
        Assert.Equal(HttpStatusCode.NotFound, (await http.SendAsync(request)).StatusCode);

        var error = Assert.Throws<InvalidOperationException>(() => new HostSettings { LoadTestToken = "short" }.Validated());
        Assert.Contains("WA_LOADTEST_TOKEN must be at least 16 characters", error.Message);
    }

    private static async Task<MessageReceived> NextMessageAsync(WhatsAppClient client)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await foreach (var e in client.Events.ReadAllAsync(timeout.Token))
            if (e is MessageReceived m)
                return m;
        throw new TimeoutException("no message arrived");
    }
}
