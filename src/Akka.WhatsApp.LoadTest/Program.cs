using System.Globalization;
using System.Net;
using Akka.WhatsApp.LoadTest.Core;

namespace Akka.WhatsApp.LoadTest;

/// <summary>
/// The load generator's command line: `LoadTest &lt;scenario&gt; [options]`, `LoadTest list` for the scenarios and
/// their options. Exit codes: 0 done, 1 messages were lost or shown twice, 2 bad usage or the run failed.
/// </summary>
public static class Program
{
    private static readonly string[] Common = ["server", "management", "token", "server-pid", "sources", "out", "timeout"];

    private const string CommonUsage = """
        usage: LoadTest <scenario> [options]      LoadTest list      LoadTest push-sink --dir D [--port 18443]
          --server host:port[,host:port…]   edges to load, connections spread over them in turn (default 127.0.0.1:5222)
          --management http://host:port      management HTTP of the first server (default http://127.0.0.1:8558)
          --token T                          the server's WA_LOADTEST_TOKEN: users are created in bulk (else by SMS code, dev gateway)
          --server-pid P[,P…]                server processes on this machine: their CPU and RSS go in the report
          --sources N                        connect from 127.0.0.2 … 127.0.0.(N+1) (loopback servers only)
          --out DIR                          add this run to DIR/report.json, report.md and charts
          --timeout S                        give up after S seconds (default 900)
        """;

    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help" or "list")
        {
            Console.WriteLine(CommonUsage);
            foreach (var s in ScenarioCatalog.All)
                Console.WriteLine($"{s.Name}\n  {s.Usage.Replace("\n", "\n  ", StringComparison.Ordinal)}\n");
            return args.Length == 0 ? 2 : 0;
        }
        if (args[0] == "push-sink")
            return await PushSink.RunAsync(ParseOptions(args.AsSpan(1)));
        if (ScenarioCatalog.Find(args[0]) is not { } scenario)
        {
            Console.Error.WriteLine($"unknown scenario '{args[0]}'; scenarios: {string.Join(", ", ScenarioCatalog.All.Select(s => s.Name))}");
            return 2;
        }
        try
        {
            var options = ParseOptions(args.AsSpan(1));
            var context = Context(options);
            var scenarioArgs = new ScenarioArgs(options);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(double.Parse(options.GetValueOrDefault("timeout", "900"), CultureInfo.InvariantCulture)));
            using var interrupt = new CancellationTokenSource();
            Console.CancelKeyPress += (_, e) =>
            {
                e.Cancel = true;
                interrupt.Cancel();
            };
            using var both = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, interrupt.Token);
            var run = await scenario.RunAsync(context, scenarioArgs, both.Token);
            if (scenarioArgs.Unused(Common).ToList() is { Count: > 0 } unused)
                Console.Error.WriteLine($"loadtest: {scenario.Name} ignored --{string.Join(", --", unused)}");
            Console.WriteLine(ReportWriter.Markdown(run));
            if (options.TryGetValue("out", out var dir))
            {
                ReportWriter.Append(dir, run);
                Console.Error.WriteLine($"loadtest: added to {Path.Combine(dir, "report.md")}");
            }
            return run.Steps.Any(s => s.Lost > 0 || s.Count("duplicates") > 0) ? 1 : 0;
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"loadtest: {e.Message}");
            return 2;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("loadtest: stopped (timeout or Ctrl-C) before the run finished");
            return 2;
        }
        catch (Exception e) when (e is InvalidOperationException or HttpRequestException or IOException or System.Net.Sockets.SocketException or TimeoutException)
        {
            Console.Error.WriteLine($"loadtest: {scenario.Name} failed: {e.Message}");
            return 2;
        }
    }

    public static Dictionary<string, string> ParseOptions(ReadOnlySpan<string> args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
                throw new ArgumentException($"expected --option value pairs, not '{args[i]}'");
            options[args[i][2..]] = args[++i];
        }
        return options;
    }

    public static LoadContext Context(IReadOnlyDictionary<string, string> options)
    {
        var servers = options.GetValueOrDefault("server", "127.0.0.1:5222").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => s.LastIndexOf(':') is > 0 and var colon && int.TryParse(s[(colon + 1)..], CultureInfo.InvariantCulture, out var port)
                ? new DnsEndPoint(s[..colon], port)
                : throw new ArgumentException($"--server takes host:port, not '{s}'"))
            .ToList();
        var pids = options.TryGetValue("server-pid", out var p)
            ? p.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(x => int.TryParse(x, CultureInfo.InvariantCulture, out var pid)
                ? pid
                : throw new ArgumentException($"--server-pid takes process ids, not '{x}'")).ToList()
            : [];
        var sources = options.TryGetValue("sources", out var n)
            ? Enumerable.Range(2, int.TryParse(n, CultureInfo.InvariantCulture, out var k) && k is > 0 and < 250
                ? k
                : throw new ArgumentException($"--sources takes a count from 1 to 249, not '{n}'")).Select(i => IPAddress.Parse($"127.0.0.{i}")).ToList()
            : [];
        return new LoadContext
        {
            Servers = servers,
            Management = new Uri(options.GetValueOrDefault("management", "http://127.0.0.1:8558")),
            ProvisioningToken = options.GetValueOrDefault("token"),
            SourceAddresses = sources,
            Stats = new ProcessStats(pids),
        };
    }
}
