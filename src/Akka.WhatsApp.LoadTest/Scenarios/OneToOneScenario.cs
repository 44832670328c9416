using Akka.WhatsApp.LoadTest.Core;

namespace Akka.WhatsApp.LoadTest.Scenarios;

/// <summary>N online users, 1:1 messages to random peers at each offered rate in turn.</summary>
public sealed class OneToOneScenario : IScenario
{
    public string Name => "one-to-one";

    public string Usage => """
        1:1 messages between online users at open-loop rates: send→ack and send→receive latency, delivered/s, losses.
          --users 200  --rate 1000 (or a list: 500,1000,2000)  --warmup 5  --seconds 15  --size 100
          --late-ms 1000 (slower arrivals count as late)  --drain 10 (seconds to wait for stragglers)
          --encrypt off (on: every user encrypts end to end, as `wa` does)  --contacts 0 (each user talks to this many peers; 0 = anyone)
        """;

    public async Task<ScenarioRun> RunAsync(LoadContext context, ScenarioArgs args, CancellationToken cancellationToken)
    {
        var users = args.Int("users", 200);
        var rates = args.Doubles("rate", 1000);
        var warmup = TimeSpan.FromSeconds(args.Double("warmup", 5));
        var seconds = TimeSpan.FromSeconds(args.Double("seconds", 15));
        var size = args.Int("size", 100);
        var late = TimeSpan.FromMilliseconds(args.Double("late-ms", 1000));
        var drain = TimeSpan.FromSeconds(args.Double("drain", 10));
        var encrypt = args.String("encrypt", "off") switch
        {
            "on" => true,
            "off" => false,
            var other => throw new ArgumentException($"--encrypt is on or off, not '{other}'"),
        };
        var started = DateTimeOffset.UtcNow;

        var contacts = args.Int("contacts", 0);
        await using var load = await ConversationLoad.StartAsync(context, users, cancellationToken, encrypt, contacts);
        var steps = new List<StepResult>();
        foreach (var rate in rates)
            steps.Add(await load.RunStepAsync(rate, warmup, seconds, size, late, drain, cancellationToken));
        return new ScenarioRun
        {
            Scenario = Name,
            Title = $"one-to-one: {users} online users, {size} B messages to random {(contacts > 0 ? $"contacts ({contacts} each)" : "peers")}{(encrypt ? ", end-to-end encrypted" : "")}",
            StartedAt = started,
            Parameters = new(args.Used),
            Steps = steps,
            ChartLatency = "send → receive",
            Summary = $"lost {steps.Sum(s => s.Lost)}, duplicates {steps.Sum(s => s.Count("duplicates"))}, reordered {steps.Sum(s => s.Count("reordered"))} over {steps.Sum(s => s.Count("accepted"))} accepted messages",
        };
    }
}

/// <summary>Steps the one-to-one rate up until p99 passes a bound (or messages fail), and names the highest rate that held.</summary>
public sealed class RampScenario : IScenario
{
    public string Name => "ramp";

    public string Usage => """
        Steps the one-to-one rate until send→receive p99 exceeds the bound, a message is lost or fails, or the delivered rate falls behind.
          --users 200  --from 1000  --step 1000  --to 20000  --p99-ms 100  --warmup 3  --seconds 10  --size 100  --drain 10
        """;

    public async Task<ScenarioRun> RunAsync(LoadContext context, ScenarioArgs args, CancellationToken cancellationToken)
    {
        var users = args.Int("users", 200);
        var from = args.Double("from", 1000);
        var step = args.Double("step", 1000);
        var to = args.Double("to", 20000);
        var bound = args.Double("p99-ms", 100);
        var warmup = TimeSpan.FromSeconds(args.Double("warmup", 3));
        var seconds = TimeSpan.FromSeconds(args.Double("seconds", 10));
        var size = args.Int("size", 100);
        var drain = TimeSpan.FromSeconds(args.Double("drain", 10));
        if (!(from > 0) || !(step > 0) || to < from)
            throw new ArgumentException("ramp needs 0 < --from <= --to and --step > 0");
        var started = DateTimeOffset.UtcNow;

        await using var load = await ConversationLoad.StartAsync(context, users, cancellationToken);
        var steps = new List<StepResult>();
        StepResult? best = null;
        string? stop = null;
        for (var rate = from; rate <= to + 1e-9 && stop is null; rate += step)
        {
            var result = await load.RunStepAsync(rate, warmup, seconds, size, TimeSpan.FromMilliseconds(bound), drain, cancellationToken);
            steps.Add(result);
            stop = Verdict(result, bound);
            if (stop is null)
                best = result;
            else
                result.Notes.Add("stopped: " + stop);
        }
        var p99 = (StepResult s) => s.Latencies.First(l => l.Name == "send → receive").P99;
        return new ScenarioRun
        {
            Scenario = Name,
            Title = $"ramp: one-to-one with {users} online users until p99 > {bound:0.##} ms",
            StartedAt = started,
            Parameters = new(args.Used),
            Steps = steps,
            ChartLatency = "send → receive",
            Summary = (best is null
                          ? $"no step held: at {from:0.##} msg/s {stop}"
                          : $"highest sustainable rate {best.OfferedRate:0.##} msg/s (delivered {best.Throughput:0} msg/s, send→receive p99 {p99(best):0.#} ms)")
                      + (stop is null ? $"; every step up to {to:0.##} msg/s held" : best is null ? "" : $"; next step: {stop}"),
        };
    }

    /// <summary>Why a step does not count as sustained, or null when it does.</summary>
    public static string? Verdict(StepResult result, double p99Bound)
    {
        var receive = result.Latencies.FirstOrDefault(l => l.Name == "send → receive");
        if (result.Lost > 0)
            return $"{result.Lost} accepted messages never arrived";
        if (result.Errors.Values.Sum() > 0)
            return $"{result.Errors.Values.Sum()} sends failed ({string.Join(", ", result.Errors.Select(e => $"{e.Key} {e.Value}"))})";
        if (receive?.P99 is not { } p99)
            return "nothing was received";
        if (p99 > p99Bound)
            return $"p99 {p99:0.#} ms > {p99Bound:0.##} ms";
        if (result.Throughput < 0.95 * result.OfferedRate)
            return $"delivered {result.Throughput:0} msg/s, behind the offered {result.OfferedRate:0.##}";
        return null;
    }
}
