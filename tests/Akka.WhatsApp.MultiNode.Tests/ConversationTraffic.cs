using System.Collections.Concurrent;
using System.Text;
using Akka.WhatsApp.Client;

namespace Akka.WhatsApp.MultiNode.Tests;

/// <summary>What a run of <see cref="ConversationTraffic"/> counted.</summary>
public sealed record TrafficReport(int Sent, int Acknowledged, int Failed, int Delivered, int Lost, int Duplicates, int Reordered,
    int DeliveredWithoutAck, int Reconnects, IReadOnlyList<string> Ended)
{
    public override string ToString() =>
        $"sent {Sent}, acknowledged {Acknowledged}, failed {Failed}, delivered {Delivered} " +
        $"(of which {DeliveredWithoutAck} whose send was not acknowledged), lost {Lost}, duplicates {Duplicates}, reordered {Reordered}, " +
        $"client reconnects {Reconnects}, clients ended by the server {Ended.Count}" + (Ended.Count > 0 ? $" ({string.Join("; ", Ended)})" : "");
}

/// <summary>
/// Conversations across nodes under way while a test changes the cluster: pair i sends from a device connected
/// to node i mod N to a device connected to node i+1 mod N, one message after the other (each waits for its ✓,
/// as an app's outbox does), numbered. Receivers note what they are shown, so the run can tell what was lost,
/// shown twice or shown out of order. Devices know every node and move when theirs drains or dies.
/// </summary>
public sealed class ConversationTraffic : IAsyncDisposable
{
    private readonly List<Pair> _pairs = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private readonly List<Task> _senders = [];
    private int _reconnects;
    private readonly ConcurrentQueue<string> _ended = new();

    private sealed class Pair(int index, WhatsAppClient sender, WhatsAppClient receiver)
    {
        public int Index { get; } = index;
        public WhatsAppClient Sender { get; } = sender;
        public WhatsAppClient Receiver { get; } = receiver;
        public int Sent;
        public int Failed;
        public readonly ConcurrentDictionary<int, bool> Acknowledged = new();
        public readonly List<int> Shown = [];
        public readonly HashSet<int> ShownOnce = [];
        public int Duplicates;
        public int Reordered;
    }

    /// <summary>The devices of pairs whose sender or receiver is connected to <paramref name="node"/> right now.</summary>
    public IEnumerable<WhatsAppClient> ClientsOn(NodeProcess node) =>
        _pairs.SelectMany(p => new[] { p.Sender, p.Receiver }).Where(c => c.Endpoint.Port == node.EdgePort);

    public IEnumerable<WhatsAppClient> Clients => _pairs.SelectMany(p => new[] { p.Sender, p.Receiver });

    public static async Task<ConversationTraffic> StartAsync(ProcessCluster cluster, int pairs, TimeSpan pace)
    {
        var nodes = cluster.Nodes;
        var users = await ProcessCluster.ProvisionAsync(nodes[0], 2 * pairs);
        var traffic = new ConversationTraffic();
        for (var i = 0; i < pairs; i++)
        {
            var sender = await WhatsAppClient.ConnectAsync(cluster.ClientOf(nodes[i % nodes.Count]), users[2 * i]);
            var receiver = await WhatsAppClient.ConnectAsync(cluster.ClientOf(nodes[(i + 1) % nodes.Count]), users[2 * i + 1]);
            traffic._pairs.Add(new Pair(i, sender, receiver));
        }
        foreach (var pair in traffic._pairs)
        {
            traffic._senders.Add(Task.Run(() => traffic.SendLoopAsync(pair, pace)));
            traffic._loops.Add(Task.Run(() => traffic.WatchLoopAsync(pair.Sender, null)));
            traffic._loops.Add(Task.Run(() => traffic.WatchLoopAsync(pair.Receiver, pair)));
        }
        return traffic;
    }

    private async Task SendLoopAsync(Pair pair, TimeSpan pace)
    {
        var to = pair.Receiver.Credentials.UserId;
        for (var n = 0; !_stop.IsCancellationRequested; n++)
        {
            Interlocked.Increment(ref pair.Sent);
            try
            {
                await pair.Sender.SendAsync(to, Encoding.ASCII.GetBytes(n.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                pair.Acknowledged[n] = true;
            }
            catch (Exception e) when (e is IOException or ServerErrorException or TimeoutException)
            {
                // Not acknowledged: the app would show it as pending (it may still arrive; it must not twice).
                Interlocked.Increment(ref pair.Failed);
            }
            try
            {
                await Task.Delay(pace, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private async Task WatchLoopAsync(WhatsAppClient client, Pair? pair)
    {
        try
        {
            await foreach (var e in client.Events.ReadAllAsync())
            {
                switch (e)
                {
                    case Reconnected:
                        Interlocked.Increment(ref _reconnects);
                        break;
                    case Disconnected { WillReconnect: false } d:
                        // DEVICE_REPLACED or DEVICE_REMOVED: the device stops, and the conversation with it.
                        _ended.Enqueue($"{client.Credentials.UserId}: {d.Reason}");
                        break;
                    case MessageReceived m when pair is not null:
                        var n = int.Parse(m.Deliver.Ciphertext.ToStringUtf8(), System.Globalization.CultureInfo.InvariantCulture);
                        lock (pair.Shown)
                        {
                            if (!pair.ShownOnce.Add(n))
                                pair.Duplicates++;
                            else if (pair.Shown.Count > 0 && n < pair.Shown[^1])
                                pair.Reordered++;
                            pair.Shown.Add(n);
                        }
                        break;
                }
            }
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>Stops sending new messages and waits for the sends in flight (each ends with ✓ or given up).</summary>
    public async Task StopSendingAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_senders);
    }

    /// <summary>Waits until every acknowledged message was shown (or the time is up), then counts.</summary>
    public async Task<TrafficReport> SettleAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline && _pairs.Any(p => Missing(p) > 0))
            await Task.Delay(200);
        return Report();
    }

    private static int Missing(Pair pair)
    {
        lock (pair.Shown)
            return pair.Acknowledged.Keys.Count(n => !pair.ShownOnce.Contains(n));
    }

    /// <summary>For a failure message: each acknowledged message not shown, with where its devices were.</summary>
    public string DescribeLost(IReadOnlyList<NodeProcess> nodes)
    {
        string NodeOf(WhatsAppClient c) => nodes.FirstOrDefault(n => n.EdgePort == c.Endpoint.Port)?.Name ?? "?";
        var lines = new List<string>();
        foreach (var pair in _pairs)
            lock (pair.Shown)
            {
                var lost = pair.Acknowledged.Keys.Where(n => !pair.ShownOnce.Contains(n)).Order().ToList();
                if (lost.Count > 0)
                    lines.Add($"pair {pair.Index} ({pair.Sender.Credentials.UserId} now on {NodeOf(pair.Sender)} -> {pair.Receiver.Credentials.UserId} " +
                        $"now on {NodeOf(pair.Receiver)}, acked seq {pair.Receiver.LastAckedSeq}): lost [{string.Join(", ", lost)}] of {pair.Sent}; " +
                        $"shown last: [{string.Join(", ", pair.Shown.TakeLast(8))}]");
            }
        return string.Join('\n', lines);
    }

    public TrafficReport Report()
    {
        int sent = 0, acknowledged = 0, failed = 0, delivered = 0, lost = 0, duplicates = 0, reordered = 0, withoutAck = 0;
        foreach (var pair in _pairs)
        {
            lock (pair.Shown)
            {
                sent += pair.Sent;
                acknowledged += pair.Acknowledged.Count;
                failed += pair.Failed;
                delivered += pair.ShownOnce.Count;
                lost += pair.Acknowledged.Keys.Count(n => !pair.ShownOnce.Contains(n));
                duplicates += pair.Duplicates;
                reordered += pair.Reordered;
                withoutAck += pair.ShownOnce.Count(n => !pair.Acknowledged.ContainsKey(n));
            }
        }
        return new TrafficReport(sent, acknowledged, failed, delivered, lost, duplicates, reordered, withoutAck, Volatile.Read(ref _reconnects), [.. _ended]);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        foreach (var client in Clients)
            await client.DisposeAsync();
        await Task.WhenAll(_loops.Concat(_senders)).WaitAsync(TimeSpan.FromSeconds(30)).ContinueWith(_ => { }, TaskScheduler.Default);
    }
}
