using System.Diagnostics;
using Akka.WhatsApp.Client;
using Akka.WhatsApp.LoadTest.Core;
using Google.Protobuf;

namespace Akka.WhatsApp.LoadTest.Scenarios;

/// <summary>
/// Scheduled sends under load (PROTOCOL.md §8.8): many messages scheduled for the same second, each from a random
/// online user to another, then timed from their send time to their arrival at the recipient's SDK, while a 1:1
/// message load runs through that second (the figure: 10,000 due at once, all delivered within a few seconds).
/// </summary>
public sealed class ScheduledScenario : IScenario
{
    public string Name => "scheduled";

    public string Usage => """
        Messages scheduled for one instant, then timed from that instant to their arrival (lateness), with 1:1 messages alongside.
          --messages 10000  --users 1000 (senders and recipients)  --lead 10 (seconds between the last schedule and the due time)
          --message-rate 500 (1:1 messages/s through the due time; 0: none)  --message-users 200  --drain 30 (seconds to wait for arrivals)
        """;

    public async Task<ScenarioRun> RunAsync(LoadContext context, ScenarioArgs args, CancellationToken cancellationToken)
    {
        var messages = args.Int("messages", 10_000);
        var users = args.Int("users", 1000);
        var lead = TimeSpan.FromSeconds(args.Double("lead", 10));
        var messageRate = args.Double("message-rate", 500);
        var messageUsers = args.Int("message-users", 200);
        var drain = TimeSpan.FromSeconds(args.Double("drain", 30));
        if (messages < 1 || users < 2)
            throw new ArgumentException("--messages must be at least 1 and --users at least 2");
        var started = DateTimeOffset.UtcNow;

        await using var load = messageRate > 0 ? await ConversationLoad.StartAsync(context, messageUsers, cancellationToken) : null;
        context.Progress.WriteLine($"loadtest: connecting {users} users for {messages} scheduled messages");
        var clients = await context.OnlineUsersAsync(users, cancellationToken);
        try
        {
            var expected = new System.Collections.Concurrent.ConcurrentDictionary<ByteString, int>(); // message id → recipient index
            var arrivals = new System.Collections.Concurrent.ConcurrentDictionary<ByteString, DateTimeOffset>();
            var duplicates = 0L;
            using var listening = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var readers = clients.Select(client => Task.Run(async () =>
            {
                try
                {
                    await foreach (var e in client.Events.ReadAllAsync(listening.Token))
                        if (e is MessageReceived { Deliver: { Kind: Protocol.ContentKind.Text, ScheduledFor: 0 } d } && expected.ContainsKey(d.MessageId)
                            && !arrivals.TryAdd(d.MessageId, DateTimeOffset.UtcNow))
                            Interlocked.Increment(ref duplicates);
                }
                catch (OperationCanceledException)
                {
                }
            })).ToList();

            // Scheduling runs at its own pace (bounded in flight); the due time is set once all are handed over.
            var random = new Random(17);
            var plan = Enumerable.Range(0, messages).Select(i =>
            {
                var from = i % users;
                var to = (from + 1 + random.Next(users - 1)) % users;
                return (From: from, To: to);
            }).ToList();
            var scheduleLatency = new LatencyRecorder("schedule request → SendResult");
            var errors = new Dictionary<string, long>();
            // The due time must be known before the first request: a generous estimate of the scheduling time plus the lead.
            var dueAt = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(messages / 500.0) + lead;
            var scheduling = Stopwatch.StartNew();
            using (var gate = new SemaphoreSlim(256))
            {
                await Task.WhenAll(plan.Select(async p =>
                {
                    await gate.WaitAsync(cancellationToken);
                    try
                    {
                        var id = Guid.NewGuid().ToByteArray();
                        var begun = Stopwatch.GetTimestamp();
                        var result = await clients[p.From].SendAsync(clients[p.To].Credentials.UserId, "a message scheduled for later, 100 bytes long ............................"u8.ToArray(),
                            messageId: id, cancellationToken: cancellationToken, sendAt: dueAt);
                        lock (scheduleLatency)
                            scheduleLatency.RecordElapsed(begun, Stopwatch.GetTimestamp());
                        expected[result.MessageId] = p.To;
                    }
                    catch (Exception e) when (e is ServerErrorException or TimeoutException or IOException && !cancellationToken.IsCancellationRequested)
                    {
                        lock (errors)
                            ErrorCodes.Count(errors, e);
                    }
                    finally
                    {
                        gate.Release();
                    }
                }));
            }
            scheduling.Stop();
            var untilDue = dueAt - DateTimeOffset.UtcNow;
            context.Progress.WriteLine($"loadtest: {expected.Count} scheduled in {scheduling.Elapsed.TotalSeconds:0.0} s; due in {untilDue.TotalSeconds:0.0} s");
            if (untilDue < TimeSpan.FromSeconds(1))
                throw new InvalidOperationException($"scheduling took {scheduling.Elapsed.TotalSeconds:0.0} s, past the due time: raise --lead");

            // The 1:1 load runs from a few seconds before the due time until well after it.
            var warmup = TimeSpan.FromSeconds(3);
            var during = load is null ? null : Task.Run(async () =>
            {
                var start = untilDue - warmup - TimeSpan.FromSeconds(2);
                if (start > TimeSpan.Zero)
                    await Task.Delay(start, cancellationToken);
                return await load.RunStepAsync(messageRate, warmup, TimeSpan.FromSeconds(12), 100, TimeSpan.FromMilliseconds(1000), TimeSpan.FromSeconds(10),
                    cancellationToken);
            }, cancellationToken);
            var cpuFrom = context.Stats.Take();
            var deadline = dueAt + drain;
            while (arrivals.Count < expected.Count && DateTimeOffset.UtcNow < deadline)
                await Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken);
            var cpu = context.Stats.Between(cpuFrom, context.Stats.Take());
            var ones = during is null ? null : await during;
            await listening.CancelAsync();
            await Task.WhenAll(readers);

            var lateness = new LatencyRecorder("send_at → arrival");
            var early = 0L;
            foreach (var at in arrivals.Values)
            {
                var late = (at - dueAt).TotalMilliseconds;
                if (late < 0)
                    early++;
                lateness.RecordMilliseconds(Math.Max(0, late));
            }
            var lastArrival = arrivals.IsEmpty ? (DateTimeOffset?)null : arrivals.Values.Max();
            var lost = expected.Count - arrivals.Count;
            var steps = new List<StepResult>
            {
                new()
                {
                    Label = $"{messages} messages due at the same instant" + (ones is null ? "" : $" beside {messageRate:0} msg/s"),
                    Seconds = Math.Round(((lastArrival ?? dueAt) - dueAt).TotalSeconds, 2),
                    Throughput = lastArrival is { } last && last > dueAt ? Math.Round(arrivals.Count / (last - dueAt).TotalSeconds, 0) : null,
                    Counts = new Dictionary<string, long>
                    {
                        ["scheduled"] = expected.Count, ["received"] = arrivals.Count, ["lost"] = lost, ["duplicates"] = duplicates,
                        ["early (before send_at)"] = early,
                    },
                    Errors = errors,
                    Latencies = [lateness.Summarize(), scheduleLatency.Summarize()],
                    Figures = new Dictionary<string, double>
                    {
                        ["scheduling seconds"] = Math.Round(scheduling.Elapsed.TotalSeconds, 2),
                        ["last arrival after send_at (s)"] = lastArrival is { } l ? Math.Round((l - dueAt).TotalSeconds, 2) : -1,
                    },
                    Cpu = cpu,
                    Notes =
                    [
                        "each message from a random online user to another, not encrypted (the server keeps the same bytes either way); " +
                        "lateness is the recipient SDK's arrival time minus send_at on this machine's clock (the server's too)",
                    ],
                },
            };
            if (ones is not null)
                steps.Add(ones with { Label = $"1:1 messages at {messageRate:0} msg/s through the due time" });
            var p99 = lateness.Summarize().P99;
            return new ScenarioRun
            {
                Scenario = Name,
                Title = $"scheduled: {messages} messages from {users} users due at one instant" + (ones is null ? "" : $", 1:1 at {messageRate:0} msg/s alongside"),
                StartedAt = started,
                Parameters = new(args.Used),
                Steps = steps,
                Summary = $"{arrivals.Count} of {expected.Count} delivered ({lost} lost, {duplicates} duplicates, {early} early); send_at → arrival p99 {p99:0} ms, " +
                          $"the last {(lastArrival is { } x ? $"{(x - dueAt).TotalSeconds:0.0} s" : "never")} after send_at",
            };
        }
        finally
        {
            await LoadContext.DisposeAllAsync(clients);
        }
    }
}
