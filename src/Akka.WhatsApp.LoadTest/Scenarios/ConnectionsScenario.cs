using System.Diagnostics;
using System.Net;
using Akka.WhatsApp.Client;
using Akka.WhatsApp.LoadTest.Core;

namespace Akka.WhatsApp.LoadTest.Scenarios;

/// <summary>
/// N idle authenticated connections, opened and held: the connect rate, the connections that survived the hold,
/// and the server's resident memory per connection (with --server-pid). Connections are spread over the given
/// servers (a cluster) and over source addresses 127.0.0.2, 127.0.0.3, … so that one address pair's ~28,000
/// ephemeral ports are no limit.
/// </summary>
public sealed class ConnectionsScenario : IScenario
{
    public string Name => "connections";

    public string Usage => """
        N idle authenticated connections, opened and held: connect rate, survivors, server RSS per connection (needs --server-pid).
          --connections 1000  --hold 30 (seconds)  --concurrency 200 (logins in flight)
          Loopback servers are reached from 127.0.0.2.. (one source address per 15,000 connections) unless --sources is given.
        """;

    public async Task<ScenarioRun> RunAsync(LoadContext context, ScenarioArgs args, CancellationToken cancellationToken)
    {
        var count = args.Int("connections", 1000);
        var hold = TimeSpan.FromSeconds(args.Double("hold", 30));
        var concurrency = args.Int("concurrency", 200);
        var started = DateTimeOffset.UtcNow;
        if (context.SourceAddresses.Count == 0 && context.Servers.All(s => IPAddress.TryParse(s.Host, out var a) && IPAddress.IsLoopback(a)))
            context = context with
            {
                SourceAddresses = Enumerable.Range(2, Math.Max(1, (count + 14_999) / 15_000)).Select(i => IPAddress.Parse($"127.0.0.{i}")).ToList(),
            };
        context = context with { ConnectConcurrency = concurrency };

        var rssStart = context.Stats.ServerRss();
        context.Progress.WriteLine($"loadtest: provisioning {count} users");
        var users = await context.ProvisionAsync(count, cancellationToken);
        var rssProvisioned = context.Stats.ServerRss();

        context.Progress.WriteLine($"loadtest: opening {count} connections over {context.Servers.Count} server(s) from {Math.Max(1, context.SourceAddresses.Count)} source address(es)");
        var cpuFrom = context.Stats.Take();
        var connect = Stopwatch.StartNew();
        var errors = new Dictionary<string, long>();
        var clients = new WhatsAppClient?[count];
        var loginTime = new LatencyRecorder("connect + login");
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = cancellationToken }, async (i, ct) =>
        {
            var begin = Stopwatch.GetTimestamp();
            try
            {
                clients[i] = await WhatsAppClient.ConnectAsync(context.OptionsFor(i), users[i], cancellationToken: ct);
                loginTime.RecordElapsed(begin, Stopwatch.GetTimestamp());
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                ErrorCodes.Count(errors, e);
            }
        });
        var connectSeconds = connect.Elapsed.TotalSeconds;
        var connected = clients.Count(c => c is not null);
        var cpuTo = context.Stats.Take();
        context.Progress.WriteLine($"loadtest: {connected} connected in {connectSeconds:0.0} s; holding for {hold.TotalSeconds:0} s");

        await Task.Delay(hold, cancellationToken);
        var rssHeld = context.Stats.ServerRss();
        // A connection the server closed shows as a Disconnected event (the client would reconnect).
        var dropped = 0;
        foreach (var c in clients.OfType<WhatsAppClient>())
            while (c.Events.TryRead(out var e))
                if (e is Disconnected)
                {
                    dropped++;
                    break;
                }
        await LoadContext.DisposeAllAsync(clients.OfType<WhatsAppClient>());

        var figures = new Dictionary<string, double>
        {
            ["connect rate (/s)"] = Math.Round(connected / connectSeconds, 0),
        };
        if (rssStart is { } r0 && rssProvisioned is { } r1 && rssHeld is { } r2 && connected > 0)
        {
            figures["server RSS before (MiB)"] = Math.Round(r0 / 1048576.0, 1);
            figures["after provisioning (MiB)"] = Math.Round(r1 / 1048576.0, 1);
            figures["holding (MiB)"] = Math.Round(r2 / 1048576.0, 1);
            figures["RSS per connection (KiB)"] = Math.Round((r2 - r1) / 1024.0 / connected, 1);
            figures["incl. provisioning (KiB)"] = Math.Round((r2 - r0) / 1024.0 / connected, 1);
        }
        var step = new StepResult
        {
            Label = $"{count} connections",
            Seconds = Math.Round(connectSeconds, 2),
            Throughput = Math.Round(connected / connectSeconds, 0),
            ThroughputUnit = "logins/s",
            Counts = new Dictionary<string, long>
            {
                ["attempted"] = count,
                ["connected"] = connected,
                ["dropped while held"] = dropped,
                ["held"] = connected - dropped,
            },
            Errors = errors,
            Latencies = [loginTime.Summarize()],
            Figures = figures,
            Cpu = context.Stats.Between(cpuFrom, cpuTo),
            Notes = rssHeld is null ? ["server RSS not measured: give --server-pid (the server must run on this machine)"] : [],
        };
        return new ScenarioRun
        {
            Scenario = Name,
            Title = $"connections: {count} idle authenticated connections held for {hold.TotalSeconds:0} s",
            StartedAt = started,
            Parameters = new(args.Used),
            Steps = [step],
            Summary = $"{connected - dropped} of {count} held" +
                      (figures.TryGetValue("RSS per connection (KiB)", out var per) ? $", {per:0.0} KiB server RSS per connection" : ""),
        };
    }
}
