using System.Buffers.Binary;
using System.Diagnostics;
using Akka.WhatsApp.Client;
using Akka.WhatsApp.LoadTest.Core;

namespace Akka.WhatsApp.LoadTest.Scenarios;

/// <summary>
/// N online users sending 1:1 messages to random peers at an open-loop aggregate rate, one step at a time (the
/// engine behind one-to-one and ramp). Each payload carries its due time, step, sender and index, so the
/// receiving side measures send→receive latency and finds what was lost, shown twice or reordered per conversation.
/// </summary>
public sealed class ConversationLoad : IAsyncDisposable
{
    private const int HeaderBytes = 24;
    private readonly LoadContext _context;
    private readonly List<WhatsAppClient> _clients;
    private readonly Dictionary<string, int> _indexOf;
    private readonly List<Task> _readers;
    private readonly Dictionary<int, StepTracker> _steps = [];
    private int _nextStep;

    private ConversationLoad(LoadContext context, List<WhatsAppClient> clients)
    {
        _context = context;
        _clients = clients;
        _indexOf = clients.Select((c, i) => (c.Credentials.UserId, i)).ToDictionary(x => x.UserId, x => x.i);
        _readers = clients.Select((c, i) => Task.Run(() => ReadAsync(c, i))).ToList();
    }

    /// <param name="encrypt">
    /// Each user encrypts end to end as `wa` does (PROTOCOL.md §13a; its keys in memory, published at login): the
    /// server's work is the same apart from the bundle fetches and the first, larger, prekey message per conversation.
    /// </param>
    /// <param name="contacts">
    /// How many peers each user talks to (0: anyone): user i's contacts are i ± 1 … i ± contacts/2, so every
    /// conversation goes both ways, as chats do. Each conversation starts (one message each way) before the first step.
    /// </param>
    public static async Task<ConversationLoad> StartAsync(LoadContext context, int users, CancellationToken cancellationToken, bool encrypt = false,
        int contacts = 0)
    {
        if (users < 2)
            throw new ArgumentException("--users must be at least 2: messages go to a peer");
        if (contacts < 0 || contacts % 2 == 1 || contacts >= users)
            throw new ArgumentException("--contacts is 0 (anyone) or an even number below --users");
        context.Progress.WriteLine($"loadtest: provisioning {users} users{(encrypt ? " (end-to-end encrypted)" : "")}");
        var credentials = await context.ProvisionAsync(users, cancellationToken);
        context.Progress.WriteLine($"loadtest: connecting {users} users{(encrypt ? " and publishing their keys" : "")}");
        var load = new ConversationLoad(context, encrypt
            ? await context.ConnectAsync(credentials, cancellationToken, i => context.OptionsFor(i) with { Keys = Client.Crypto.KeyStore.InMemory() })
            : await context.ConnectAsync(credentials, cancellationToken))
        {
            _contacts = contacts,
        };
        // With or without encryption alike, so that both compare a server in the same state (entities started, code warm).
        if (contacts > 0)
            await load.StartConversationsAsync(cancellationToken);
        return load;
    }

    private int _contacts;

    /// <summary>
    /// Every pair of contacts exchanges a message each way, outside any step, so that the steps measure conversations
    /// under way (with encryption: ratchet messages) rather than their first (prekey) messages.
    /// </summary>
    private async Task StartConversationsAsync(CancellationToken cancellationToken)
    {
        var pairs = Enumerable.Range(0, _clients.Count).SelectMany(a => Enumerable.Range(1, _contacts / 2).Select(k => (A: a, B: (a + k) % _clients.Count))).ToList();
        _context.Progress.WriteLine($"loadtest: starting {pairs.Count} conversations");
        foreach (var (round, reverse) in new[] { (1, false), (2, true) })
        {
            var step = new StepTracker(Interlocked.Increment(ref _nextStep), TimeSpan.FromMinutes(1));
            lock (_steps)
                _steps[step.Id] = step;
            using var gate = new SemaphoreSlim(64);
            var sends = pairs.Select(async (pair, i) =>
            {
                var (from, to) = reverse ? (pair.B, pair.A) : (pair.A, pair.B);
                await gate.WaitAsync(cancellationToken);
                try
                {
                    var due = Stopwatch.GetTimestamp();
                    var payload = Payload(HeaderBytes, due, step.Id, from, i);
                    step.Sent();
                    await Send(step, _clients[from], _clients[to].Credentials.UserId, payload, i, due, cancellationToken);
                }
                finally
                {
                    gate.Release();
                }
            }).ToList();
            await Task.WhenAll(sends);
            var deadline = Stopwatch.GetTimestamp() + 60 * Stopwatch.Frequency;
            while (step.Missing() > 0 && Stopwatch.GetTimestamp() < deadline)
                await Task.Delay(50, cancellationToken);
            lock (_steps)
                _steps.Remove(step.Id);
            if (step.Missing() > 0)
                throw new InvalidOperationException($"{step.Missing()} of the conversations' first messages (round {round}) never arrived");
        }
    }

    private static byte[] Payload(int size, long due, int step, int from, long index)
    {
        var payload = new byte[Math.Max(HeaderBytes, size)];
        BinaryPrimitives.WriteInt64LittleEndian(payload, due);
        BinaryPrimitives.WriteInt32LittleEndian(payload.AsSpan(8), step);
        BinaryPrimitives.WriteInt32LittleEndian(payload.AsSpan(12), from);
        BinaryPrimitives.WriteInt64LittleEndian(payload.AsSpan(16), index);
        return payload;
    }

    public int Users => _clients.Count;

    /// <summary>
    /// Offers <paramref name="rate"/> msg/s for warm-up + measured time, then waits up to <paramref name="drain"/>
    /// for every accepted message to arrive. Latencies and the delivered rate cover the measured part only;
    /// losses, duplicates and reorders cover the whole step.
    /// </summary>
    public async Task<StepResult> RunStepAsync(double rate, TimeSpan warmup, TimeSpan measured, int size, TimeSpan lateAfter, TimeSpan drain,
        CancellationToken cancellationToken)
    {
        var step = new StepTracker(Interlocked.Increment(ref _nextStep), lateAfter);
        lock (_steps)
            _steps[step.Id] = step;
        var schedule = new OpenLoopSchedule(rate, start: Stopwatch.GetTimestamp() + Stopwatch.Frequency / 10);
        var warmupItems = schedule.ItemsIn(warmup);
        var total = warmupItems + schedule.ItemsIn(measured);
        step.MeasureFrom = schedule.DueOf(warmupItems);
        _context.Progress.WriteLine($"loadtest: {rate:0.##} msg/s for {warmup.TotalSeconds:0} s warm-up + {measured.TotalSeconds:0} s");

        ProcessStats.Sample? cpuFrom = null;
        var sends = new List<Task>();
        for (long i = 0; i < total; i++)
        {
            var due = await schedule.WaitForAsync(i, cancellationToken);
            if (i == warmupItems)
                cpuFrom = _context.Stats.Take();
            var from = Random.Shared.Next(_clients.Count);
            int to;
            if (_contacts > 0)
            {
                var offset = 1 + Random.Shared.Next(_contacts / 2);
                to = (from + (Random.Shared.Next(2) == 0 ? offset : _clients.Count - offset)) % _clients.Count;
            }
            else
            {
                to = Random.Shared.Next(_clients.Count - 1);
                if (to >= from)
                    to++;
            }
            var payload = Payload(size, due, step.Id, from, i);
            step.Sent();
            sends.Add(Send(step, _clients[from], _clients[to].Credentials.UserId, payload, i, due, cancellationToken));
            if (sends.Count > 50_000)
                sends.RemoveAll(t => t.IsCompleted);
        }
        // Ctrl-C or the run's timeout stops the step at once, not after the sends still in flight have timed out.
        await Task.WhenAll(sends).WaitAsync(cancellationToken);
        var cpuTo = _context.Stats.Take();
        var measuredSeconds = (cpuTo.Timestamp - step.MeasureFrom) / (double)Stopwatch.Frequency;

        var deadline = Stopwatch.GetTimestamp() + (long)(drain.TotalSeconds * Stopwatch.Frequency);
        while (step.Missing() > 0 && Stopwatch.GetTimestamp() < deadline)
            await Task.Delay(50, cancellationToken);
        lock (_steps)
            _steps.Remove(step.Id);
        return step.Result(rate, measured.TotalSeconds, measuredSeconds, cpuFrom is null ? null : _context.Stats.Between(cpuFrom, cpuTo));
    }

    private static Task Send(StepTracker step, WhatsAppClient from, string to, byte[] payload, long index, long due, CancellationToken cancellationToken) =>
        from.SendAsync(to, payload, cancellationToken: cancellationToken).ContinueWith(t =>
        {
            if (t.IsCompletedSuccessfully)
                step.Accepted(index, due, Stopwatch.GetTimestamp());
            else if (!t.IsCanceled)
                ErrorCodes.Count(step.Errors, t.Exception!);
        }, TaskScheduler.Default);

    private async Task ReadAsync(WhatsAppClient client, int me)
    {
        await foreach (var e in client.Events.ReadAllAsync())
        {
            if (e is not MessageReceived m || m.Deliver.Ciphertext.Length < HeaderBytes)
                continue;
            var now = Stopwatch.GetTimestamp();
            var span = m.Deliver.Ciphertext.Span;
            StepTracker? step;
            lock (_steps)
                _steps.TryGetValue(BinaryPrimitives.ReadInt32LittleEndian(span[8..]), out step);
            step?.Received(BinaryPrimitives.ReadInt64LittleEndian(span[16..]), BinaryPrimitives.ReadInt32LittleEndian(span[12..]), me,
                BinaryPrimitives.ReadInt64LittleEndian(span), now);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await LoadContext.DisposeAllAsync(_clients);
        await Task.WhenAll(_readers);
        foreach (var client in _clients)
            client.Encryption?.Keys.Dispose();
    }

    /// <summary>One step's bookkeeping, fed by the send continuations and by every receiving client.</summary>
    private sealed class StepTracker(int id, TimeSpan lateAfter)
    {
        private readonly object _gate = new();
        private readonly HashSet<long> _accepted = [];
        private readonly HashSet<long> _received = [];
        private readonly Dictionary<(int From, int To), long> _lastInConversation = [];
        private readonly LatencyRecorder _toAck = new("send → server ack");
        private readonly LatencyRecorder _toReceive = new("send → receive");
        private readonly long _lateTicks = (long)(lateAfter.TotalSeconds * Stopwatch.Frequency);
        private long _sent, _receivedMeasured, _duplicates, _reordered, _late;

        public int Id { get; } = id;

        public long MeasureFrom { get; set; }

        public Dictionary<string, long> Errors { get; } = [];

        public void Sent() => Interlocked.Increment(ref _sent);

        public void Accepted(long index, long due, long now)
        {
            lock (_gate)
                _accepted.Add(index);
            if (due >= MeasureFrom)
                _toAck.RecordElapsed(due, now);
        }

        public void Received(long index, int from, int to, long due, long now)
        {
            lock (_gate)
            {
                if (!_received.Add(index))
                {
                    _duplicates++;
                    return;
                }
                // Indexes grow in send order, so within one conversation they must arrive increasing.
                if (_lastInConversation.TryGetValue((from, to), out var last) && last > index)
                    _reordered++;
                else
                    _lastInConversation[(from, to)] = index;
                if (now - due > _lateTicks)
                    _late++;
                if (due >= MeasureFrom)
                    _receivedMeasured++;
            }
            if (due >= MeasureFrom)
                _toReceive.RecordElapsed(due, now);
        }

        /// <summary>Accepted but not (yet) received.</summary>
        public long Missing()
        {
            lock (_gate)
                return _accepted.Count(i => !_received.Contains(i));
        }

        public StepResult Result(double rate, double plannedSeconds, double measuredSeconds, CpuSplit? cpu)
        {
            lock (_gate)
            {
                var stray = _received.Count(i => !_accepted.Contains(i));
                return new StepResult
                {
                    Label = $"{rate:0.##} msg/s",
                    OfferedRate = rate,
                    Seconds = Math.Round(measuredSeconds, 2),
                    Throughput = Math.Round(_receivedMeasured / plannedSeconds, 1),
                    ThroughputUnit = "delivered msg/s",
                    Counts = new Dictionary<string, long>
                    {
                        ["sent"] = _sent,
                        ["accepted"] = _accepted.Count,
                        ["received"] = _received.Count,
                        ["lost"] = _accepted.Count(i => !_received.Contains(i)),
                        ["late"] = _late,
                        ["duplicates"] = _duplicates,
                        ["reordered"] = _reordered,
                    },
                    Errors = new Dictionary<string, long>(Errors),
                    Latencies = [_toAck.Summarize(), _toReceive.Summarize()],
                    Cpu = cpu,
                    Notes = stray > 0
                        ? [$"{stray} messages arrived whose send had failed (e.g. timed out after the server stored them)"]
                        : [],
                };
            }
        }
    }
}
