using Akka.WhatsApp.Testing;
using System.Globalization;
using Akka.WhatsApp.Client;
using Akka.WhatsApp.Host;
using Xunit;
using static Akka.WhatsApp.Integration.Tests.TestUsers;

namespace Akka.WhatsApp.Integration.Tests;

/// <summary>GET /metrics of one real node: the counters move with real client traffic.</summary>
public sealed class MetricsSpec : IAsyncLifetime
{
    private WhatsAppNode _node = null!;

    public async Task InitializeAsync() => _node = await TestNodes.StartAsync(await TestNodes.SettingsAsync(JournalKind.Sqlite));

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task Metrics_count_connections_frames_bytes_messages_latencies_and_shards_in_prometheus_text()
    {
        const int sends = 7;
        var alice = await RegisterAsync(_node);
        var bob = await RegisterAsync(_node);
        // Registration used connections of its own: wait until they are closed, then take the counters as they stand.
        await EventuallyAsync(m => Value(m, "wa_connections") == 0, "the registration connections to close");
        var before = await ScrapeAsync();

        await using (var a = await ConnectAsync(_node, alice))
        await using (var b = await ConnectAsync(_node, bob))
        {
            for (var i = 0; i < sends; i++)
                await a.SendAsync(bob.UserId, Payload($"m{i}"));
            await b.NextAsync<MessageReceived>(sends);

            var m = await ScrapeAsync();
            Assert.Equal(2, Value(m, "wa_connections"));
            Assert.True(Value(m, "wa_messages_accepted_total{kind=\"direct\"}") - Value(before, "wa_messages_accepted_total{kind=\"direct\"}") >= sends, Dump(m));
            Assert.Equal(sends, Value(m, "wa_send_ack_seconds_count") - Value(before, "wa_send_ack_seconds_count"));
            Assert.True(Value(m, "wa_send_ack_seconds_sum") > 0, Dump(m));
            Assert.True(Value(m, "wa_messages_delivered_total") - Value(before, "wa_messages_delivered_total") >= sends, Dump(m));
            foreach (var counter in new[] { "wa_frames_received_total", "wa_frames_sent_total", "wa_received_bytes_total", "wa_sent_bytes_total" })
                Assert.True(Value(m, counter) > Value(before, counter), $"{counter} did not grow: {Dump(m)}");
            Assert.True(Value(m, "wa_received_bytes_total") > Value(m, "wa_frames_received_total"), "bytes are counted, not frames");
            Assert.True(Value(m, "wa_journal_write_seconds_count") >= sends, Dump(m));
            Assert.True(Value(m, "wa_shards{region=\"mailbox\"}") > 0, Dump(m));
            Assert.True(Value(m, "wa_entities{region=\"mailbox\"}") >= 2, Dump(m));
            Assert.Equal(1, Value(m, "wa_cluster_members{status=\"Up\"}"));
            Assert.True(m.ContainsKey("wa_mailbox_pending_entries"), Dump(m));
        }

        await EventuallyAsync(m => Value(m, "wa_connections") == 0, "wa_connections to drop to 0 after both clients disconnected");
    }

    [Fact]
    public async Task Metrics_are_open_and_in_the_prometheus_text_format()
    {
        using var http = new HttpClient { BaseAddress = _node.ManagementUri };
        using var response = await http.GetAsync("/metrics");
        Assert.True(response.IsSuccessStatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("# TYPE wa_send_ack_seconds histogram", text);
        Assert.Contains("# TYPE wa_messages_accepted_total counter", text);
        Assert.Contains("# TYPE wa_connections gauge", text);
        Assert.Contains("# HELP wa_journal_write_seconds ", text);
    }

    [Fact]
    public async Task Metrics_show_the_process_and_the_runtime_and_count_error_answers_by_code()
    {
        var alice = await RegisterAsync(_node);
        var before = await ScrapeAsync();
        Assert.Equal(0, Value(before, "wa_errors_total{code=\"STALE_DEVICES\"}")); // every code shows from the start
        // Two refusals with a known code: a wrong token (BAD_CREDENTIALS) and a message to oneself (INVALID_ARGUMENT).
        await Assert.ThrowsAnyAsync<Exception>(() => ConnectAsync(_node, alice with { Token = new byte[32] }));
        await using (var a = await ConnectAsync(_node, alice))
            await Assert.ThrowsAsync<ServerErrorException>(() => a.SendAsync(alice.UserId, Payload("to myself")));

        var m = await ScrapeAsync();
        Assert.True(Value(m, "wa_errors_total{code=\"BAD_CREDENTIALS\"}") - Value(before, "wa_errors_total{code=\"BAD_CREDENTIALS\"}") >= 1, Dump(m));
        Assert.True(Value(m, "wa_errors_total{code=\"INVALID_ARGUMENT\"}") - Value(before, "wa_errors_total{code=\"INVALID_ARGUMENT\"}") >= 1, Dump(m));

        // The process (prometheus-net) and the .NET runtime's own meter (GC pauses, allocation, thread pool).
        Assert.True(Value(m, "process_cpu_seconds_total") > 0);
        Assert.True(Value(m, "process_working_set_bytes") > 0);
        Assert.True(Value(m, "process_open_handles") > 0);
        Assert.Contains(m.Keys, k => k.StartsWith("dotnet_collection_count_total", StringComparison.Ordinal));
        Assert.True(Value(m, "dotnet_gc_allocated_bytes_total") > Value(before, "dotnet_gc_allocated_bytes_total"), "allocation did not grow");
        Assert.True(Value(m, "dotnet_thread_pool_work_items_total") > Value(before, "dotnet_thread_pool_work_items_total"), "no thread-pool work counted");
        Assert.True(Value(m, "dotnet_thread_pool_threads") > 0);
        Assert.True(m.ContainsKey("dotnet_gc_pause_seconds_total") && m.ContainsKey("dotnet_thread_pool_queue_length"));
    }

    /// <summary>
    /// deploy/'s Prometheus scrape files and Grafana dashboard (#20): the scrape targets are the management port's
    /// /metrics, the Kubernetes pods carry the annotations the Kubernetes file follows, and every metric a dashboard
    /// query names is one a real node serves, so a renamed metric breaks this test rather than an operator's graph.
    /// </summary>
    [Fact]
    public async Task The_grafana_dashboard_and_prometheus_files_name_only_metrics_a_node_serves()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Akka.WhatsApp.sln")))
            root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("the repository root was not found");
        string Read(string file) => File.ReadAllText(Path.Combine(root, file));

        var compose = new YamlDotNet.RepresentationModel.YamlStream();
        compose.Load(new StringReader(Read("deploy/prometheus/prometheus.yml")));
        var job = (YamlDotNet.RepresentationModel.YamlMappingNode)((YamlDotNet.RepresentationModel.YamlSequenceNode)((YamlDotNet.RepresentationModel.YamlMappingNode)compose.Documents[0].RootNode)["scrape_configs"])[0];
        Assert.Equal("/metrics", job["metrics_path"].ToString());
        var targets = ((YamlDotNet.RepresentationModel.YamlSequenceNode)((YamlDotNet.RepresentationModel.YamlMappingNode)((YamlDotNet.RepresentationModel.YamlSequenceNode)job["static_configs"])[0])["targets"])
            .Select(t => t.ToString()).ToList();
        Assert.Equal(["node1:8558", "node2:8558", "node3:8558"], targets);
        var k8s = Read("deploy/k8s/whatsapp.yaml");
        foreach (var annotation in new[] { "prometheus.io/scrape: \"true\"", "prometheus.io/port: \"8558\"", "prometheus.io/path: /metrics" })
            Assert.Contains(annotation, k8s);
        Assert.Contains("__meta_kubernetes_pod_annotation_prometheus_io_scrape", Read("deploy/prometheus/prometheus-kubernetes.yml"));

        using var dashboard = System.Text.Json.JsonDocument.Parse(Read("deploy/grafana/whatsapp-dashboard.json"));
        var expressions = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.GetProperty("targets").EnumerateArray()).Select(t => t.GetProperty("expr").GetString()!).ToList();
        Assert.True(expressions.Count >= 8, "the dashboard has fewer queries than its panels need");
        var served = (await new HttpClient { BaseAddress = _node.ManagementUri }.GetStringAsync("/metrics"))
            .Split('\n').Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal)).Select(l => l.Split(' ')[2]).ToHashSet();
        var named = expressions.SelectMany(e => System.Text.RegularExpressions.Regex.Matches(e, @"\b(?:wa|process|dotnet)_[a-z0-9_]+").Select(m => m.Value))
            .Select(n => System.Text.RegularExpressions.Regex.Replace(n, "_(bucket|sum|count)$", "")).Distinct().ToList();
        Assert.Contains("wa_send_ack_seconds", named);
        var missing = named.Where(n => !served.Contains(n)).ToList();
        Assert.True(missing.Count == 0, $"the dashboard queries {string.Join(", ", missing)}, which /metrics does not serve");
    }

    private async Task<Dictionary<string, double>> ScrapeAsync()
    {
        using var http = new HttpClient { BaseAddress = _node.ManagementUri };
        var text = await http.GetStringAsync("/metrics");
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (line.StartsWith('#'))
                continue;
            var space = line.LastIndexOf(' ');
            samples[line[..space]] = double.Parse(line[(space + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture);
        }
        return samples;
    }

    private async Task EventuallyAsync(Func<Dictionary<string, double>, bool> condition, string what)
    {
        Dictionary<string, double> last = [];
        await Eventually.Until(async () => condition(last = await ScrapeAsync()), TimeSpan.FromSeconds(15), what, () => Dump(last));
    }

    private static double Value(Dictionary<string, double> samples, string name) =>
        samples.TryGetValue(name, out var value) ? value : throw new Xunit.Sdk.XunitException($"/metrics has no sample {name}: {Dump(samples)}");

    private static string Dump(Dictionary<string, double> samples) =>
        string.Join("; ", samples.Where(s => s.Key.StartsWith("wa_", StringComparison.Ordinal) && !s.Key.Contains("_bucket")).Select(s => $"{s.Key}={s.Value}"));
}
