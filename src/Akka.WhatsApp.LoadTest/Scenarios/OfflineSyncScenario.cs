using System.Diagnostics;
using Akka.WhatsApp.Client;
using Akka.WhatsApp.LoadTest.Core;

namespace Akka.WhatsApp.LoadTest.Scenarios;

/// <summary>M messages queued for an offline device; then it logs in: time until all are delivered and acknowledged.</summary>
public sealed class OfflineSyncScenario : IScenario
{
    public string Name => "offline-sync";

    public string Usage => """
        M messages queued for an offline device, which then logs in: time until all are delivered and acknowledged.
          --messages 10000  --size 100  --in-flight 300 (sends in flight while queueing)  --timeout 60
        """;

    public async Task<ScenarioRun> RunAsync(LoadContext context, ScenarioArgs args, CancellationToken cancellationToken)
    {
        var messages = args.Int("messages", 10_000);
        var size = args.Int("size", 100);
        var inFlight = args.Int("in-flight", 300);
        var timeout = TimeSpan.FromSeconds(args.Double("timeout", 60));
        var started = DateTimeOffset.UtcNow;

        var users = await context.ProvisionAsync(2, cancellationToken);
        var receiverCredentials = users[1];
        await using var sender = await WhatsAppClient.ConnectAsync(context.OptionsFor(0), users[0], cancellationToken: cancellationToken);
        // The receiver logs in once so that its device is known, then goes offline.
        await (await WhatsAppClient.ConnectAsync(context.OptionsFor(1), receiverCredentials, cancellationToken: cancellationToken)).DisposeAsync();

        var errors = new Dictionary<string, long>();
        var fill = Stopwatch.StartNew();
        var accepted = 0L;
        await Parallel.ForAsync(0, messages, new ParallelOptions { MaxDegreeOfParallelism = inFlight, CancellationToken = cancellationToken }, async (_, ct) =>
        {
            try
            {
                await sender.SendAsync(receiverCredentials.UserId, new byte[size], cancellationToken: ct);
                Interlocked.Increment(ref accepted);
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                ErrorCodes.Count(errors, e);
            }
        });
        var fillSeconds = fill.Elapsed.TotalSeconds;

        var cpuFrom = context.Stats.Take();
        var login = Stopwatch.StartNew();
        await using var receiver = await WhatsAppClient.ConnectAsync(context.OptionsFor(1), receiverCredentials, cancellationToken: cancellationToken);
        var loggedIn = login.Elapsed.TotalSeconds;
        long received = 0;
        double? backlogDone = null;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await foreach (var e in receiver.Events.ReadAllAsync(deadline.Token))
            {
                if (e is MessageReceived)
                    received++;
                else if (e is BacklogDone)
                    backlogDone = login.Elapsed.TotalSeconds;
                if (received >= accepted && backlogDone is not null)
                    break;
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
        }
        var drained = login.Elapsed.TotalSeconds;
        var cpu = context.Stats.Between(cpuFrom, context.Stats.Take());
        // Acknowledged: the client acks what it handed out; the server's view of it is what the next login resumes from.
        var acked = receiver.LastAckedSeq;

        var step = new StepResult
        {
            Label = $"{messages} queued",
            Seconds = Math.Round(drained, 3),
            Throughput = Math.Round(received / drained, 0),
            ThroughputUnit = "msg/s drained",
            Counts = new Dictionary<string, long>
            {
                ["sent"] = messages,
                ["accepted"] = accepted,
                ["received"] = received,
                ["lost"] = Math.Max(0, accepted - received),
                ["acked up to seq"] = (long)acked,
            },
            Errors = errors,
            Figures = new Dictionary<string, double>
            {
                ["queue fill (s)"] = Math.Round(fillSeconds, 2),
                ["login (s)"] = Math.Round(loggedIn, 3),
                ["all delivered (s)"] = Math.Round(drained, 3),
                ["backlog done (s)"] = Math.Round(backlogDone ?? double.NaN, 3),
            },
            Cpu = cpu,
        };
        return new ScenarioRun
        {
            Scenario = Name,
            Title = $"offline-sync: {messages} messages of {size} B queued for an offline device",
            StartedAt = started,
            Parameters = new(args.Used),
            Steps = [step],
            Summary = $"{received} of {accepted} delivered {drained:0.00} s after the login began (queued at {accepted / fillSeconds:0} msg/s)",
        };
    }
}

/// <summary>Typing signals relayed one at a time to an online recipient (ephemeral: nothing is stored).</summary>
public sealed class TypingScenario : IScenario
{
    public string Name => "typing";

    public string Usage => """
        Typing signals relayed one at a time to an online recipient: relay latency.
          --signals 500  --timeout-ms 2000 (a signal not relayed within it counts as lost)
        """;

    public async Task<ScenarioRun> RunAsync(LoadContext context, ScenarioArgs args, CancellationToken cancellationToken)
    {
        var signals = args.Int("signals", 500);
        var timeout = TimeSpan.FromMilliseconds(args.Double("timeout-ms", 2000));
        var started = DateTimeOffset.UtcNow;
        var pair = await context.OnlineUsersAsync(2, cancellationToken);
        try
        {
            var (typist, reader) = (pair[0], pair[1]);
            await Task.Delay(500, cancellationToken);
            while (reader.Events.TryRead(out _))
            {
            }
            var latency = new LatencyRecorder("typing → notification");
            var lost = 0;
            var cpuFrom = context.Stats.Take();
            for (var i = 0; i < signals; i++)
            {
                var start = Stopwatch.GetTimestamp();
                await typist.TypingAsync(reader.Credentials.UserId, i % 2 == 0 ? Protocol.TypingState.Composing : Protocol.TypingState.Paused, cancellationToken);
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                wait.CancelAfter(timeout);
                try
                {
                    while (await reader.Events.WaitToReadAsync(wait.Token))
                        if (reader.Events.TryRead(out var e) && e is TypingChanged)
                            break;
                    latency.RecordElapsed(start, Stopwatch.GetTimestamp());
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    lost++;
                }
            }
            var cpu = context.Stats.Between(cpuFrom, context.Stats.Take());
            return new ScenarioRun
            {
                Scenario = Name,
                Title = $"typing: {signals} signals relayed one at a time to an online recipient",
                StartedAt = started,
                Parameters = new(args.Used),
                Steps =
                [
                    new StepResult
                    {
                        Label = $"{signals} signals",
                        Seconds = Math.Round(cpu.WallSeconds, 2),
                        Throughput = Math.Round(signals / cpu.WallSeconds, 0),
                        ThroughputUnit = "signals/s",
                        Counts = new Dictionary<string, long> { ["sent"] = signals, ["lost"] = lost },
                        Latencies = [latency.Summarize()],
                        Cpu = cpu,
                    },
                ],
            };
        }
        finally
        {
            await LoadContext.DisposeAllAsync(pair);
        }
    }
}
