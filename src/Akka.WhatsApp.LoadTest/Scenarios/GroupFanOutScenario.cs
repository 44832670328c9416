using System.Buffers.Binary;
using System.Diagnostics;
using Akka.WhatsApp.Client;
using Akka.WhatsApp.LoadTest.Core;

namespace Akka.WhatsApp.LoadTest.Scenarios;

/// <summary>One group of G online members; messages from random members at each rate in turn; time to the last member.</summary>
public sealed class GroupFanOutScenario : IScenario
{
    private const int HeaderBytes = 16;

    public string Name => "group-fanout";

    public string Usage => """
        One group of G online members, messages from random members at open-loop rates: time to each and to the last member.
          --members 1024  --rate 2 (or a list: 0.5,2,4)  --seconds 10 (messages per step = rate × seconds)  --size 100  --drain 30
        """;

    public async Task<ScenarioRun> RunAsync(LoadContext context, ScenarioArgs args, CancellationToken cancellationToken)
    {
        var members = args.Int("members", 1024);
        var rates = args.Doubles("rate", 2);
        var seconds = args.Double("seconds", 10);
        var size = Math.Max(HeaderBytes, args.Int("size", 100));
        var drain = TimeSpan.FromSeconds(args.Double("drain", 30));
        if (members < 2)
            throw new ArgumentException("--members must be at least 2");
        var started = DateTimeOffset.UtcNow;

        var clients = await context.OnlineUsersAsync(members, cancellationToken);
        try
        {
            var group = (await clients[0].CreateGroupAsync("load", clients.Skip(1).Select(c => c.Credentials.UserId), cancellationToken: cancellationToken))
                .Group.GroupId;
            // Let the CREATED event reach everyone before measuring.
            await Task.Delay(2000, cancellationToken);
            foreach (var c in clients)
                while (c.Events.TryRead(out _))
                {
                }
            var steps = new List<StepResult>();
            foreach (var rate in rates)
                steps.Add(await RunStepAsync(context, clients, group, rate, Math.Max(1, (int)Math.Round(rate * seconds)), size, drain, cancellationToken));
            return new ScenarioRun
            {
                Scenario = Name,
                Title = $"group-fanout: one group of {members} online members, {size} B messages from random members",
                StartedAt = started,
                Parameters = new(args.Used),
                Steps = steps,
                ChartLatency = "send → last member",
                Summary = $"missing {steps.Sum(s => s.Lost)}, duplicates {steps.Sum(s => s.Count("duplicates"))} of {steps.Sum(s => s.Count("expected"))} expected deliveries",
            };
        }
        finally
        {
            await LoadContext.DisposeAllAsync(clients);
        }
    }

    private static async Task<StepResult> RunStepAsync(LoadContext context, List<WhatsAppClient> clients, string group, double rate, int messages, int size,
        TimeSpan drain, CancellationToken cancellationToken)
    {
        context.Progress.WriteLine($"loadtest: {messages} group messages at {rate:0.##} msg/s to {clients.Count} members");
        var perMember = new LatencyRecorder("send → each member");
        var toLast = new LatencyRecorder("send → last member");
        var toAck = new LatencyRecorder("send → server ack");
        var remaining = new int[messages];
        Array.Fill(remaining, clients.Count - 1);
        var seen = new HashSet<(int Message, int Member)>();
        var errors = new Dictionary<string, long>();
        long delivered = 0, duplicates = 0, reached = 0;
        var everyone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var step = Random.Shared.Next();
        using var stop = new CancellationTokenSource();

        var readers = clients.Select((c, member) => Task.Run(async () =>
        {
            try
            {
                while (await c.Events.WaitToReadAsync(stop.Token))
                    while (c.Events.TryRead(out var e))
                    {
                        if (e is not MessageReceived { Deliver.GroupId: var g } m || g != group || m.Deliver.Ciphertext.Length < HeaderBytes)
                            continue;
                        var now = Stopwatch.GetTimestamp();
                        var span = m.Deliver.Ciphertext.Span;
                        if (BinaryPrimitives.ReadInt32LittleEndian(span[12..]) != step)
                            continue;
                        var due = BinaryPrimitives.ReadInt64LittleEndian(span);
                        var index = BinaryPrimitives.ReadInt32LittleEndian(span[8..]);
                        lock (seen)
                        {
                            if (!seen.Add((index, member)))
                            {
                                duplicates++;
                                continue;
                            }
                            delivered++;
                            if (--remaining[index] == 0)
                            {
                                toLast.RecordElapsed(due, now);
                                if (++reached == messages)
                                    everyone.TrySetResult();
                            }
                        }
                        perMember.RecordElapsed(due, now);
                    }
            }
            catch (OperationCanceledException)
            {
            }
        })).ToList();

        var cpuFrom = context.Stats.Take();
        var schedule = new OpenLoopSchedule(rate);
        var sends = new List<Task>();
        for (var i = 0; i < messages; i++)
        {
            var due = await schedule.WaitForAsync(i, cancellationToken);
            var payload = new byte[size];
            BinaryPrimitives.WriteInt64LittleEndian(payload, due);
            BinaryPrimitives.WriteInt32LittleEndian(payload.AsSpan(8), i);
            BinaryPrimitives.WriteInt32LittleEndian(payload.AsSpan(12), step);
            var sender = Random.Shared.Next(clients.Count);
            // The sending device gets no copy of its own message: count it as reached.
            lock (seen)
                seen.Add((i, sender));
            sends.Add(clients[sender].GroupSendAsync(group, payload, cancellationToken: cancellationToken).ContinueWith(t =>
            {
                if (t.IsCompletedSuccessfully)
                    toAck.RecordElapsed(due, Stopwatch.GetTimestamp());
                else
                    ErrorCodes.Count(errors, t.Exception!);
            }, TaskScheduler.Default));
        }
        await Task.WhenAll(sends);
        await Task.WhenAny(everyone.Task, Task.Delay(drain, cancellationToken));
        var cpuTo = context.Stats.Take();
        await stop.CancelAsync();
        await Task.WhenAll(readers);

        var cpu = context.Stats.Between(cpuFrom, cpuTo);
        var accepted = toAck.Count;
        var expected = accepted * (clients.Count - 1);
        lock (seen)
            return new StepResult
            {
                Label = $"{rate:0.##} msg/s",
                OfferedRate = rate,
                Seconds = Math.Round(cpu.WallSeconds, 2),
                Throughput = Math.Round(delivered / cpu.WallSeconds, 1),
                ThroughputUnit = "deliveries/s",
                Counts = new Dictionary<string, long>
                {
                    ["sent"] = messages,
                    ["accepted"] = accepted,
                    ["expected"] = expected,
                    ["delivered"] = delivered,
                    ["lost"] = Math.Max(0, expected - delivered),
                    ["duplicates"] = duplicates,
                    ["reached all"] = reached,
                },
                Errors = errors,
                Latencies = [toAck.Summarize(), perMember.Summarize(), toLast.Summarize()],
                Cpu = cpu,
            };
    }
}
