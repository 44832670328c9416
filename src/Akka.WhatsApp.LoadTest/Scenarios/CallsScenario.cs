using System.Diagnostics;
using Akka.WhatsApp.Client;
using Akka.WhatsApp.Client.Calls;
using Akka.WhatsApp.LoadTest.Core;
using Akka.WhatsApp.Protocol;

namespace Akka.WhatsApp.LoadTest.Scenarios;

/// <summary>
/// Call signalling under load (PROTOCOL.md §15): many 1:1 calls set up at once (offer, ringing, answer, ICE both ways,
/// hangup) while 1:1 messages flow at a steady rate, timing each signal from the sending device's request to the
/// addressed device's event.
/// </summary>
public sealed class CallsScenario : IScenario
{
    public string Name => "calls";

    public string Usage => """
        Concurrent 1:1 calls set up and torn down through the SDK while a 1:1 message load runs: signal relay latency
        (requirement: as typing, p99 < 50 ms), call setup time, calls that failed.
          --calls 1000 (one pair of users each)  --start-rate 0 (calls started per second; 0: all at once)
          --ice 2 (candidates each way)  --hold-ms 2000 (connected time; with --start-rate, rate × hold calls are up at once)
          --message-rate 500 (1:1 messages/s alongside; 0: none)  --message-users 1000  --signal-timeout-ms 10000
        """;

    public async Task<ScenarioRun> RunAsync(LoadContext context, ScenarioArgs args, CancellationToken cancellationToken)
    {
        var calls = args.Int("calls", 1000);
        var ice = args.Int("ice", 2);
        var hold = TimeSpan.FromMilliseconds(args.Double("hold-ms", 2000));
        var startRate = args.Double("start-rate", 0);
        var messageRate = args.Double("message-rate", 500);
        var messageUsers = args.Int("message-users", 1000);
        var signalTimeout = TimeSpan.FromMilliseconds(args.Double("signal-timeout-ms", 10_000));
        if (calls < 1)
            throw new ArgumentException("--calls must be at least 1");
        var started = DateTimeOffset.UtcNow;

        await using var load = messageRate > 0 ? await ConversationLoad.StartAsync(context, messageUsers, cancellationToken) : null;
        context.Progress.WriteLine($"loadtest: connecting {2 * calls} users for {calls} calls");
        var clients = await context.OnlineUsersAsync(2 * calls, cancellationToken);
        try
        {
            var relay = new LatencyRecorder("signal relay (any signal)");
            var offers = new LatencyRecorder("offer → callee rings");
            var answers = new LatencyRecorder("answer → caller connected");
            var candidates = new LatencyRecorder("ICE candidate → peer");
            var hangups = new LatencyRecorder("hangup → peer ended");
            var setup = new LatencyRecorder("call setup (offer sent → connected)");
            var errors = new Dictionary<string, long>();
            var completed = 0L;
            var connected = 0L;
            var peak = 0L;

            async Task OneCallAsync(WhatsAppClient caller, WhatsAppClient callee)
            {
                try
                {
                    var began = Stopwatch.GetTimestamp();
                    var call = await caller.StartCallAsync(callee.Credentials.UserId, CallMedia.Audio, "v=0 load offer"u8.ToArray(), cancellationToken: cancellationToken);
                    await NextAsync<CallChanged>(callee, c => c.Call.Id == call.Id && c.Call.State == Client.Calls.CallState.Incoming);
                    Record(offers, began);

                    var answered = Stopwatch.GetTimestamp();
                    await callee.AnswerCallAsync(call.Id, "v=0 load answer"u8.ToArray(), cancellationToken);
                    await NextAsync<CallChanged>(caller, c => c.Call.Id == call.Id && c.Call.State == Client.Calls.CallState.Connected);
                    Record(answers, answered);
                    lock (setup)
                        setup.RecordElapsed(began, Stopwatch.GetTimestamp());
                    var up = Interlocked.Increment(ref connected);
                    long seen;
                    while (up > (seen = Interlocked.Read(ref peak)) && Interlocked.CompareExchange(ref peak, up, seen) != seen)
                    {
                    }

                    for (var i = 0; i < ice; i++)
                    {
                        foreach (var (from, to) in new[] { (caller, callee), (callee, caller) })
                        {
                            var sent = Stopwatch.GetTimestamp();
                            await from.SendIceCandidateAsync(call.Id, "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host"u8.ToArray(), cancellationToken: cancellationToken);
                            await NextAsync<CallPeerMessage>(to, m => m.CallId == call.Id && m.Kind == CallPeerMessageKind.IceCandidate);
                            Record(candidates, sent);
                        }
                    }
                    await Task.Delay(hold, cancellationToken);
                    var hungUp = Stopwatch.GetTimestamp();
                    await caller.HangupAsync(call.Id, cancellationToken: cancellationToken);
                    Interlocked.Decrement(ref connected);
                    await NextAsync<CallChanged>(callee, c => c.Call.Id == call.Id && c.Call.IsEnded);
                    Record(hangups, hungUp);
                    Interlocked.Increment(ref completed);
                }
                catch (Exception e) when (e is ServerErrorException or TimeoutException or IOException or InvalidOperationException && !cancellationToken.IsCancellationRequested)
                {
                    lock (errors)
                        ErrorCodes.Count(errors, e);
                }
            }

            void Record(LatencyRecorder recorder, long from)
            {
                var to = Stopwatch.GetTimestamp();
                lock (recorder)
                    recorder.RecordElapsed(from, to);
                lock (relay)
                    relay.RecordElapsed(from, to);
            }

            async Task<T> NextAsync<T>(WhatsAppClient client, Func<T, bool> wanted) where T : ClientEvent
            {
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                wait.CancelAfter(signalTimeout);
                try
                {
                    while (true)
                        if (await client.Events.ReadAsync(wait.Token) is T e && wanted(e))
                            return e;
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new TimeoutException($"no {typeof(T).Name} within {signalTimeout.TotalMilliseconds:0} ms");
                }
            }

            // The message load runs for the whole call phase (its warm-up first), so that the calls meet it at full rate.
            var warmup = TimeSpan.FromSeconds(3);
            var callPhase = hold + TimeSpan.FromSeconds(10 + ice + (startRate > 0 ? calls / startRate : 0));
            var messages = load?.RunStepAsync(messageRate, warmup, callPhase, 100, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(10), cancellationToken);
            if (messages is not null)
                await Task.Delay(warmup, cancellationToken);
            var cpuFrom = context.Stats.Take();
            var wall = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, calls).Select(async i =>
            {
                if (startRate > 0)
                    await Task.Delay(TimeSpan.FromSeconds(i / startRate), cancellationToken); // open loop: on schedule, whatever the others do
                await OneCallAsync(clients[2 * i], clients[2 * i + 1]);
            }));
            wall.Stop();
            var cpu = context.Stats.Between(cpuFrom, context.Stats.Take());
            var steps = new List<StepResult>
            {
                new()
                {
                    Label = $"{calls} calls" + (startRate > 0 ? $" started at {startRate:0}/s" : " started at once") + (messages is null ? "" : $" beside {messageRate:0} msg/s"),
                    OfferedRate = startRate > 0 ? startRate : null,
                    Seconds = Math.Round(wall.Elapsed.TotalSeconds, 2),
                    Throughput = Math.Round(completed / wall.Elapsed.TotalSeconds, 1),
                    ThroughputUnit = "calls/s",
                    Counts = new Dictionary<string, long> { ["calls"] = calls, ["completed"] = completed, ["failed"] = calls - completed, ["connected at once (peak)"] = peak },
                    Errors = errors,
                    Latencies = [relay.Summarize(), offers.Summarize(), answers.Summarize(), candidates.Summarize(), hangups.Summarize(), setup.Summarize()],
                    Cpu = cpu,
                    Notes =
                    [
                        $"each call: offer, automatic ringing, answer, {ice} ICE candidates each way, {hold.TotalMilliseconds:0} ms held, hangup; " +
                        "a signal is timed from the sending device's request to the addressed device's SDK event (both in this process)",
                        "the calls are not end-to-end encrypted here (no key stores): the server relays the same bytes either way",
                    ],
                },
            };
            if (messages is not null)
                steps.Add(await messages with { Label = $"1:1 messages at {messageRate:0} msg/s during the calls" });
            var p99 = relay.Summarize().P99;
            return new ScenarioRun
            {
                Scenario = Name,
                Title = $"calls: {calls} 1:1 calls set up and torn down ({(startRate > 0 ? $"{startRate:0} started per second" : "all at once")})" +
                        (messages is null ? "" : $" while 1:1 messages run at {messageRate:0}/s"),
                StartedAt = started,
                Parameters = new(args.Used),
                Steps = steps,
                Summary = $"{completed} of {calls} calls completed, {peak} connected at once at the peak; signal relay p99 {p99:0.0} ms (requirement < 50 ms: {(p99 < 50 ? "met" : "NOT met")})",
            };
        }
        finally
        {
            await LoadContext.DisposeAllAsync(clients);
        }
    }
}
