using System.Globalization;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using Akka.WhatsApp.Client;
using Akka.WhatsApp.LoadTest.Core;
using Akka.WhatsApp.Protocol;

namespace Akka.WhatsApp.LoadTest.Scenarios;

/// <summary>
/// N devices registered for APNs and offline, one message each at an open-loop rate: how fast the server pushes them
/// and how long from the send's answer to the push reaching the APNs stand-in (`LoadTest push-sink`, which the server
/// must be configured to use: WA_APNS_URL and WA_PUSH_CA; ./build.sh bench does that).
/// </summary>
public sealed class PushScenario : IScenario
{
    public string Name => "push";

    public string Usage => """
        N offline devices registered for APNs get one message each: pushes per second and send → push latency, measured
        at the APNs stand-in (LoadTest push-sink) the server pushes to.
          --devices 10000  --rate 2000 (msg/s)  --sink https://127.0.0.1:18443  --sink-ca <dir>/ca.pem  --wait 60 (s)
        """;

    public async Task<ScenarioRun> RunAsync(LoadContext context, ScenarioArgs args, CancellationToken cancellationToken)
    {
        var devices = args.Int("devices", 10_000);
        var rate = args.Double("rate", 2000);
        var sink = new Uri(args.String("sink", "https://127.0.0.1:18443"));
        var ca = args.String("sink-ca", "");
        var wait = TimeSpan.FromSeconds(args.Double("wait", 60));
        var started = DateTimeOffset.UtcNow;
        using var http = SinkClient(ca);

        context.Progress.WriteLine($"loadtest: push: provisioning {devices + 1} users, registering {devices} APNs tokens");
        var users = await context.ProvisionAsync(devices + 1, cancellationToken);
        var tokens = new string[devices];
        var registering = System.Diagnostics.Stopwatch.StartNew();
        await Parallel.ForAsync(0, devices, new ParallelOptions { MaxDegreeOfParallelism = context.ConnectConcurrency, CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                tokens[i] = (i + 1).ToString("x16", CultureInfo.InvariantCulture) + Convert.ToHexString(Guid.NewGuid().ToByteArray()).ToLowerInvariant();
                // Logged in once (so the mailbox knows the device), registered, then offline.
                await using var device = await WhatsAppClient.ConnectAsync(context.OptionsFor(i + 1), users[i + 1], cancellationToken: ct);
                await device.RequestAsync(new Frame { RegisterPushToken = new RegisterPushToken { Platform = PushPlatform.Apns, Token = tokens[i] } }, ct);
            });
        var registerSeconds = registering.Elapsed.TotalSeconds;

        await using var sender = await WhatsAppClient.ConnectAsync(context.OptionsFor(0), users[0], cancellationToken: cancellationToken);
        var answered = new long[devices];
        var errors = new Dictionary<string, long>();
        var cpuFrom = context.Stats.Take();
        var schedule = new OpenLoopSchedule(rate);
        var sends = new List<Task>(devices);
        for (var i = 0; i < devices; i++)
        {
            await schedule.WaitForAsync(i, cancellationToken);
            var index = i;
            sends.Add(Task.Run(async () =>
            {
                try
                {
                    await sender.SendAsync(users[index + 1].UserId, new byte[100], cancellationToken: cancellationToken);
                    answered[index] = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                }
                catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    lock (errors)
                        ErrorCodes.Count(errors, e);
                }
            }, cancellationToken));
        }
        await Task.WhenAll(sends);
        var accepted = answered.Count(a => a > 0);

        var arrivals = new Dictionary<string, long>();
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (waited.Elapsed < wait)
        {
            arrivals = await http.GetFromJsonAsync<Dictionary<string, long>>(new Uri(sink, "/arrivals"), cancellationToken) ?? [];
            if (tokens.Count(arrivals.ContainsKey) >= accepted)
                break;
            await Task.Delay(500, cancellationToken);
        }
        var cpu = context.Stats.Between(cpuFrom, context.Stats.Take());

        var latency = new LatencyRecorder("send answered → push at APNs");
        long pushed = 0, firstSend = long.MaxValue, lastArrival = 0;
        for (var i = 0; i < devices; i++)
        {
            if (answered[i] == 0 || !arrivals.TryGetValue(tokens[i], out var at))
                continue;
            pushed++;
            latency.RecordMilliseconds(Math.Max(0, at - answered[i]));
            firstSend = Math.Min(firstSend, answered[i]);
            lastArrival = Math.Max(lastArrival, at);
        }
        var span = pushed > 0 ? Math.Max(1, lastArrival - firstSend) / 1000.0 : double.NaN;
        var (serverMean, serverP99) = await ServerLatencyAsync(context, cancellationToken);
        var summary = latency.Summarize();
        var step = new StepResult
        {
            Label = $"{devices} offline devices at {rate:0} msg/s",
            OfferedRate = rate,
            Seconds = Math.Round(span, 3),
            Throughput = Math.Round(pushed / span, 0),
            ThroughputUnit = "pushes/s",
            Counts = new Dictionary<string, long>
            {
                ["devices"] = devices,
                ["accepted"] = accepted,
                ["pushed"] = pushed,
                ["not pushed"] = accepted - pushed,
            },
            Errors = errors,
            Latencies = [summary],
            Figures = new Dictionary<string, double>
            {
                ["register tokens (s)"] = Math.Round(registerSeconds, 1),
                ["server store → provider answer, mean (ms)"] = Math.Round(serverMean * 1000, 1),
                ["server store → provider answer, p99 bucket (ms)"] = Math.Round(serverP99 * 1000, 1),
            },
            Cpu = cpu,
            Notes = ["Pushes are best effort: a device not pushed still has its message waiting; \"not pushed\" is not \"lost\"."],
        };
        return new ScenarioRun
        {
            Scenario = Name,
            Title = $"push: {devices} offline APNs devices, one message each",
            StartedAt = started,
            Parameters = new(args.Used),
            Steps = [step],
            Summary = $"{pushed} of {accepted} pushed at {pushed / span:0}/s; send → push p50 {summary.P50:0.#} ms, p99 {summary.P99:0.#} ms (goal < 1,000 ms)",
        };
    }

    private static HttpClient SinkClient(string ca)
    {
        var handler = new SocketsHttpHandler();
        if (ca.Length > 0)
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(ca);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
            {
                if (errors == System.Net.Security.SslPolicyErrors.None)
                    return true;
                if (certificate is null || chain is null)
                    return false;
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.AddRange(roots);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(new X509Certificate2(certificate));
            };
        }
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>The server's own wa_push_latency_seconds (mailbox write → provider answer): mean, and the bucket holding p99.</summary>
    private static async Task<(double Mean, double P99)> ServerLatencyAsync(LoadContext context, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = context.Management, Timeout = TimeSpan.FromSeconds(10) };
        var lines = (await http.GetStringAsync("/metrics", cancellationToken)).Split('\n');
        double Value(string line) => double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
        var sum = lines.Where(l => l.StartsWith("wa_push_latency_seconds_sum", StringComparison.Ordinal)).Sum(Value);
        var count = lines.Where(l => l.StartsWith("wa_push_latency_seconds_count", StringComparison.Ordinal)).Sum(Value);
        var buckets = lines.Where(l => l.StartsWith("wa_push_latency_seconds_bucket", StringComparison.Ordinal) && l.Contains("provider=\"apns\"", StringComparison.Ordinal))
            .Select(l => (Le: l[(l.IndexOf("le=\"", StringComparison.Ordinal) + 4)..l.IndexOf("\"}", StringComparison.Ordinal)], Count: Value(l)))
            .Where(b => b.Le != "+Inf")
            .Select(b => (Le: double.Parse(b.Le, CultureInfo.InvariantCulture), b.Count))
            .OrderBy(b => b.Le)
            .ToList();
        var p99 = buckets.FirstOrDefault(b => b.Count >= 0.99 * count).Le;
        return (count > 0 ? sum / count : double.NaN, count > 0 && p99 > 0 ? p99 : double.NaN);
    }
}
