using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using Akka.WhatsApp.Client;
using HdrHistogram;

// A first load generator (the load-testing issue grows it into scenarios, steps and charts):
//   one-to-one   N online users, open-loop aggregate rate R of 1:1 messages to random peers
//   offline-sync M messages queued for an offline device, then it connects
//   group-fanout one group of G online members; M messages at R msg/s from random members; time to the last member
// usage: LoadTest <scenario> [--server host:port] [--management url] [--users N] [--rate R] [--seconds S] [--messages M] [--out file.md]
var opts = Args.Parse(args);
var scenario = args.Where((a, i) => !a.StartsWith("--", StringComparison.Ordinal) && (i == 0 || !args[i - 1].StartsWith("--", StringComparison.Ordinal)))
    .FirstOrDefault() ?? "one-to-one";
var server = opts.GetValueOrDefault("server", "127.0.0.1:5222");
var options = new ClientOptions(server.Split(':')[0], int.Parse(server.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture))
{
    ClientName = "loadtest",
    RequestTimeout = TimeSpan.FromSeconds(30),
};
var management = new Uri(opts.GetValueOrDefault("management", "http://127.0.0.1:8558"));
var report = new StringBuilder();

switch (scenario)
{
    case "one-to-one":
        await OneToOne(Args.Int(opts, "users", 200), Args.Int(opts, "rate", 2000), Args.Int(opts, "seconds", 20), Args.Int(opts, "warmup", 5));
        break;
    case "offline-sync":
        await OfflineSync(Args.Int(opts, "messages", 10_000));
        break;
    case "typing":
        await TypingRelay(Args.Int(opts, "signals", 500));
        break;
    case "group-fanout":
        await GroupFanOut(Args.Int(opts, "members", 1024), Args.Int(opts, "messages", 50), Args.Double(opts, "rate", 5), Args.Int(opts, "size", 100));
        break;
    default:
        Console.Error.WriteLine($"unknown scenario '{scenario}': one-to-one | offline-sync | typing | group-fanout");
        return 2;
}

Console.WriteLine(report);
if (opts.TryGetValue("out", out var outFile))
    await File.AppendAllTextAsync(outFile, report.ToString());
return 0;

async Task<List<WhatsAppClient>> ConnectUsers(int count)
{
    var clients = new List<WhatsAppClient>();
    var prefix = Random.Shared.Next(100, 999);
    foreach (var chunk in Enumerable.Range(0, count).Chunk(50))
    {
        clients.AddRange(await Task.WhenAll(chunk.Select(async i =>
        {
            var phone = $"+1{prefix}{Environment.ProcessId % 1000:D3}{i:D5}";
            await WhatsAppClient.RequestCodeAsync(options, phone);
            var code = await DevelopmentCodes.FetchAsync(management, phone) ?? throw new InvalidOperationException($"no development code for {phone}");
            var (credentials, _) = await WhatsAppClient.VerifyAsync(options, phone, code);
            return await WhatsAppClient.ConnectAsync(options, credentials);
        })));
    }
    return clients;
}

async Task OneToOne(int users, int rate, int seconds, int warmup)
{
    var clients = await ConnectUsers(users);
    var toAck = new LongHistogram(TimeStamp.Minutes(10), 3);
    var toReceive = new LongHistogram(TimeStamp.Minutes(10), 3);
    long sent = 0, acked = 0, received = 0, errors = 0;
    var measureFrom = Stopwatch.GetTimestamp() + Stopwatch.Frequency * warmup;
    var clock = Stopwatch.StartNew();
    var start = Stopwatch.GetTimestamp();

    var readers = clients.Select(c => Task.Run(async () =>
    {
        await foreach (var e in c.Events.ReadAllAsync())
        {
            if (e is not MessageReceived m)
                continue;
            var scheduled = BinaryPrimitives.ReadInt64LittleEndian(m.Deliver.Ciphertext.Span);
            var now = Stopwatch.GetTimestamp();
            if (scheduled < measureFrom)
                continue;
            Interlocked.Increment(ref received);
            lock (toReceive)
                toReceive.RecordValue(Math.Max(0, now - scheduled));
        }
    })).ToList();

    var total = (long)rate * (seconds + warmup);
    var inFlight = new List<Task>();
    for (long i = 0; i < total; i++)
    {
        // Open loop: message i is due at start + i / rate, and latency counts from that due time.
        var due = start + (long)(i * (double)Stopwatch.Frequency / rate);
        var wait = due - Stopwatch.GetTimestamp();
        if (wait > Stopwatch.Frequency / 1000)
            await Task.Delay(TimeSpan.FromTicks(wait * TimeSpan.TicksPerSecond / Stopwatch.Frequency));
        var from = clients[Random.Shared.Next(clients.Count)];
        var to = clients[Random.Shared.Next(clients.Count)];
        if (to == from)
            to = clients[(clients.IndexOf(from) + 1) % clients.Count];
        var payload = new byte[100];
        BinaryPrimitives.WriteInt64LittleEndian(payload, due);
        Interlocked.Increment(ref sent);
        inFlight.Add(from.SendAsync(to.Credentials.UserId, payload).ContinueWith(t =>
        {
            if (!t.IsCompletedSuccessfully)
            {
                Interlocked.Increment(ref errors);
                return;
            }
            if (due < measureFrom)
                return;
            Interlocked.Increment(ref acked);
            lock (toAck)
                toAck.RecordValue(Math.Max(0, Stopwatch.GetTimestamp() - due));
        }));
        if (inFlight.Count > 10_000)
            inFlight.RemoveAll(t => t.IsCompleted);
    }
    await Task.WhenAll(inFlight);
    await Task.Delay(3000);
    var measured = (long)rate * seconds;
    report.AppendLine($"## one-to-one: {users} users, offered {rate} msg/s, {seconds} s measured after {warmup} s warm-up");
    report.AppendLine();
    report.AppendLine($"sent {sent}, accepted (measured) {acked}, received (measured) {Interlocked.Read(ref received)} of {measured}, errors {errors}, " +
                      $"delivered rate {Interlocked.Read(ref received) / (double)seconds:F0} msg/s, wall {clock.Elapsed.TotalSeconds:F1} s");
    report.AppendLine();
    report.AppendLine("| latency (ms) | p50 | p90 | p99 | p99.9 | max |");
    report.AppendLine("|---|---|---|---|---|---|");
    report.AppendLine(Row("send → server ack", toAck));
    report.AppendLine(Row("send → receive", toReceive));
    report.AppendLine();
    foreach (var c in clients)
        await c.DisposeAsync();
    await Task.WhenAll(readers);
}

async Task OfflineSync(int messages)
{
    var pair = await ConnectUsers(2);
    var (sender, receiver) = (pair[0], pair[1]);
    var credentials = receiver.Credentials;
    await receiver.DisposeAsync();
    var fill = Stopwatch.StartNew();
    var gate = new SemaphoreSlim(300);
    await Task.WhenAll(Enumerable.Range(0, messages).Select(async i =>
    {
        await gate.WaitAsync();
        try
        {
            await sender.SendAsync(credentials.UserId, new byte[100]);
        }
        finally
        {
            gate.Release();
        }
    }));
    var fillTime = fill.Elapsed;

    var drain = Stopwatch.StartNew();
    await using var back = await WhatsAppClient.ConnectAsync(options, credentials);
    var got = 0;
    TimeSpan? backlogDone = null;
    await foreach (var e in back.Events.ReadAllAsync())
    {
        if (e is MessageReceived)
            got++;
        if (e is BacklogDone)
            backlogDone = drain.Elapsed;
        if (got == messages && backlogDone is not null)
            break;
    }
    report.AppendLine($"## offline-sync: {messages} messages queued for an offline device");
    report.AppendLine();
    report.AppendLine($"queued in {fillTime.TotalSeconds:F2} s ({messages / fillTime.TotalSeconds:F0} msg/s with 300 sends in flight); " +
                      $"drained after login in {drain.Elapsed.TotalSeconds:F2} s (QueueEmpty at {backlogDone?.TotalSeconds:F2} s), {got} received");
    report.AppendLine();
    await sender.DisposeAsync();
}

async Task TypingRelay(int signals)
{
    // One typist, one online recipient: each signal is timed from send to arrival before the next is sent.
    var pair = await ConnectUsers(2);
    var (typist, reader) = (pair[0], pair[1]);
    await Task.Delay(500);
    while (reader.Events.TryRead(out _))
    {
    }
    var latency = new LongHistogram(TimeStamp.Minutes(1), 3);
    var lost = 0;
    for (var i = 0; i < signals; i++)
    {
        var start = Stopwatch.GetTimestamp();
        await typist.TypingAsync(reader.Credentials.UserId, i % 2 == 0 ? Akka.WhatsApp.Protocol.TypingState.Composing : Akka.WhatsApp.Protocol.TypingState.Paused);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            while (await reader.Events.WaitToReadAsync(timeout.Token))
                if (reader.Events.TryRead(out var e) && e is TypingChanged)
                    break;
            latency.RecordValue(Stopwatch.GetTimestamp() - start);
        }
        catch (OperationCanceledException)
        {
            lost++;
        }
    }
    report.AppendLine($"## typing: {signals} signals relayed one at a time to an online recipient, {lost} not relayed within 2 s");
    report.AppendLine();
    report.AppendLine("| latency (ms) | p50 | p90 | p99 | p99.9 | max |");
    report.AppendLine("|---|---|---|---|---|---|");
    report.AppendLine(Row("typing → notification", latency));
    report.AppendLine();
    foreach (var c in pair)
        await c.DisposeAsync();
}

async Task GroupFanOut(int members, int messages, double rate, int size)
{
    var clients = await ConnectUsers(members);
    var group = (await clients[0].CreateGroupAsync("load", clients.Skip(1).Select(c => c.Credentials.UserId))).Group.GroupId;
    // Let the CREATED event reach everyone before measuring.
    await Task.Delay(2000);
    foreach (var c in clients)
        while (c.Events.TryRead(out _))
        {
        }

    var perDelivery = new LongHistogram(TimeStamp.Minutes(10), 3);
    var toLast = new LongHistogram(TimeStamp.Minutes(10), 3);
    var toAck = new LongHistogram(TimeStamp.Minutes(10), 3);
    var remaining = new int[messages];
    var dueOf = new long[messages];
    Array.Fill(remaining, members - 1);
    long delivered = 0, errors = 0, duplicates = 0;
    var seen = new HashSet<(int Message, int Member)>();
    var allDone = new TaskCompletionSource();
    var doneCount = 0;
    var readers = clients.Select((c, member) => Task.Run(async () =>
    {
        await foreach (var e in c.Events.ReadAllAsync())
        {
            if (e is not MessageReceived { Deliver.GroupId: var g } m || g != group || m.Deliver.Ciphertext.Length < 12)
                continue;
            var now = Stopwatch.GetTimestamp();
            var span = m.Deliver.Ciphertext.Span;
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
                perDelivery.RecordValue(Math.Max(0, now - due));
                if (--remaining[index] == 0)
                {
                    toLast.RecordValue(Math.Max(0, now - due));
                    if (++doneCount == messages)
                        allDone.TrySetResult();
                }
            }
        }
    })).ToList();

    var clock = Stopwatch.StartNew();
    var start = Stopwatch.GetTimestamp();
    var sends = new List<Task>();
    for (var i = 0; i < messages; i++)
    {
        var due = start + (long)(i * (double)Stopwatch.Frequency / rate);
        var wait = due - Stopwatch.GetTimestamp();
        if (wait > Stopwatch.Frequency / 1000)
            await Task.Delay(TimeSpan.FromTicks(wait * TimeSpan.TicksPerSecond / Stopwatch.Frequency));
        dueOf[i] = due;
        var payload = new byte[Math.Max(12, size)];
        BinaryPrimitives.WriteInt64LittleEndian(payload, due);
        BinaryPrimitives.WriteInt32LittleEndian(payload.AsSpan(8), i);
        var sender = clients[Random.Shared.Next(clients.Count)];
        var index = i;
        // The sender's own device gets no copy: count it as reached.
        lock (seen)
        {
            seen.Add((index, clients.IndexOf(sender)));
        }
        sends.Add(sender.GroupSendAsync(group, payload).ContinueWith(t =>
        {
            if (!t.IsCompletedSuccessfully)
            {
                Interlocked.Increment(ref errors);
                return;
            }
            lock (toAck)
                toAck.RecordValue(Math.Max(0, Stopwatch.GetTimestamp() - due));
        }));
    }
    await Task.WhenAll(sends);
    await Task.WhenAny(allDone.Task, Task.Delay(TimeSpan.FromSeconds(30)));
    var wall = clock.Elapsed.TotalSeconds;
    var expected = (long)messages * (members - 1);
    report.AppendLine($"## group-fanout: {members} members all online, {messages} messages of {size} B at {rate} msg/s from random members");
    report.AppendLine();
    report.AppendLine($"delivered {delivered} of {expected} (missing {expected - delivered}, duplicates shown {duplicates}), errors {errors}, " +
                      $"{delivered / wall:F0} deliveries/s over {wall:F1} s, messages reaching every member {doneCount} of {messages}");
    report.AppendLine();
    report.AppendLine("| latency (ms) | p50 | p90 | p99 | p99.9 | max |");
    report.AppendLine("|---|---|---|---|---|---|");
    report.AppendLine(Row("send → server ack", toAck));
    report.AppendLine(Row("send → each member", perDelivery));
    report.AppendLine(Row("send → last member", toLast));
    report.AppendLine();
    foreach (var c in clients)
        await c.DisposeAsync();
    await Task.WhenAll(readers);
}

static string Row(string name, LongHistogram h)
{
    double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
    return h.TotalCount == 0
        ? $"| {name} | – | – | – | – | – |"
        : $"| {name} | {Ms(h.GetValueAtPercentile(50)):F1} | {Ms(h.GetValueAtPercentile(90)):F1} | {Ms(h.GetValueAtPercentile(99)):F1} | " +
          $"{Ms(h.GetValueAtPercentile(99.9)):F1} | {Ms(h.GetMaxValue()):F1} |";
}

static class Args
{
    public static Dictionary<string, string> Parse(string[] args)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length - 1; i++)
            if (args[i].StartsWith("--", StringComparison.Ordinal))
                d[args[i][2..]] = args[i + 1];
        return d;
    }

    public static int Int(Dictionary<string, string> d, string key, int fallback) =>
        d.TryGetValue(key, out var v) ? int.Parse(v, System.Globalization.CultureInfo.InvariantCulture) : fallback;

    public static double Double(Dictionary<string, string> d, string key, double fallback) =>
        d.TryGetValue(key, out var v) ? double.Parse(v, System.Globalization.CultureInfo.InvariantCulture) : fallback;
}
