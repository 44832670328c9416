using System.Collections.Concurrent;
using System.Diagnostics;
using Akka.WhatsApp.Client;
using Akka.WhatsApp.Client.Status;
using Akka.WhatsApp.LoadTest.Core;
using Google.Protobuf;

namespace Akka.WhatsApp.LoadTest.Scenarios;

/// <summary>
/// Status posts to a large audience (PROTOCOL.md §14): one user posts to N online contacts, and each contact's device
/// is timed from the post to its StatusUpdated hint and to the post in its feed (fetched on the hint), the figure the
/// issue compares with the group fan-out's time to the last member.
/// </summary>
public sealed class StatusScenario : IScenario
{
    public string Name => "status";

    public string Usage => """
        One poster, an audience of N online users: post → StatusUpdated hint and post → visible in the feed, per audience device.
          --audience 1000 (at most 1024)  --posts 5  --interval-ms 3000 (between posts)  --timeout-ms 30000 (per post)
        """;

    public async Task<ScenarioRun> RunAsync(LoadContext context, ScenarioArgs args, CancellationToken cancellationToken)
    {
        var audienceSize = args.Int("audience", 1000);
        var posts = args.Int("posts", 5);
        var interval = TimeSpan.FromMilliseconds(args.Double("interval-ms", 3000));
        var timeout = TimeSpan.FromMilliseconds(args.Double("timeout-ms", 30_000));
        if (audienceSize is < 1 or > 1024 || posts < 1)
            throw new ArgumentException("--audience is 1 to 1024 and --posts at least 1");
        var started = DateTimeOffset.UtcNow;
        context.Progress.WriteLine($"loadtest: connecting a poster and {audienceSize} viewers");
        var clients = await context.OnlineUsersAsync(audienceSize + 1, cancellationToken);
        try
        {
            var poster = clients[0];
            var viewers = clients.Skip(1).ToList();
            var audience = viewers.Select(v => v.Credentials.UserId).ToList();
            var hinted = new LatencyRecorder("post → StatusUpdated hint");
            var visible = new LatencyRecorder("post → in the viewer's feed");
            var lastViewer = new LatencyRecorder("post → the last viewer's feed");
            var errors = new Dictionary<string, long>();
            var missing = 0L;
            var cpuFrom = context.Stats.Take();
            var wall = Stopwatch.StartNew();
            for (var p = 0; p < posts; p++)
            {
                var id = ByteString.CopyFrom(Guid.NewGuid().ToByteArray());
                var seen = new ConcurrentDictionary<string, long>();
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                wait.CancelAfter(timeout);
                long begun = 0;
                var watchers = viewers.Select(viewer => Task.Run(async () =>
                {
                    try
                    {
                        while (true)
                        {
                            if (await viewer.Events.ReadAsync(wait.Token) is not StatusChanged { Deleted: false } changed || changed.StatusId != id)
                                continue;
                            var hint = Stopwatch.GetTimestamp();
                            lock (hinted)
                                hinted.RecordElapsed(Volatile.Read(ref begun), hint);
                            var feed = await viewer.GetStatusFeedAsync(cancellationToken: wait.Token);
                            if (feed.Any(e => e.StatusId == id))
                            {
                                var shown = Stopwatch.GetTimestamp();
                                lock (visible)
                                    visible.RecordElapsed(Volatile.Read(ref begun), shown);
                                seen[viewer.Credentials.UserId] = shown;
                                return;
                            }
                        }
                    }
                    catch (OperationCanceledException)
                    {
                    }
                    catch (Exception e) when (e is ServerErrorException or TimeoutException or IOException)
                    {
                        lock (errors)
                            ErrorCodes.Count(errors, e);
                    }
                })).ToList();
                Volatile.Write(ref begun, Stopwatch.GetTimestamp());
                try
                {
                    await poster.PostStatusAsync(System.Text.Encoding.UTF8.GetBytes($"status {p}: out for lunch"), audience, statusId: id.ToByteArray(),
                        cancellationToken: cancellationToken);
                }
                catch (Exception e) when (e is ServerErrorException or TimeoutException or IOException)
                {
                    lock (errors)
                        ErrorCodes.Count(errors, e);
                    await wait.CancelAsync();
                }
                await Task.WhenAll(watchers);
                missing += viewers.Count - seen.Count;
                if (!seen.IsEmpty)
                    lastViewer.RecordElapsed(begun, seen.Values.Max());
                context.Progress.WriteLine($"loadtest: post {p + 1}: {seen.Count} of {viewers.Count} viewers see it");
                if (p + 1 < posts)
                    await Task.Delay(interval, cancellationToken);
            }
            wall.Stop();
            var cpu = context.Stats.Between(cpuFrom, context.Stats.Take());
            var p99 = visible.Summarize().P99;
            return new ScenarioRun
            {
                Scenario = Name,
                Title = $"status: {posts} posts to an audience of {audienceSize} online users",
                StartedAt = started,
                Parameters = new(args.Used),
                Steps =
                [
                    new StepResult
                    {
                        Label = $"{posts} posts × {audienceSize} viewers",
                        Seconds = Math.Round(wall.Elapsed.TotalSeconds, 2),
                        Counts = new Dictionary<string, long> { ["posts"] = posts, ["viewers"] = audienceSize, ["views expected"] = (long)posts * audienceSize, ["missing"] = missing },
                        Errors = errors,
                        Latencies = [hinted.Summarize(), visible.Summarize(), lastViewer.Summarize()],
                        Cpu = cpu,
                        Notes =
                        [
                            "not end-to-end encrypted here (no key stores): one per-device ciphertext per viewer either way; each viewer fetches its feed on the hint",
                        ],
                    },
                ],
                Summary = $"{(long)posts * audienceSize - missing} of {(long)posts * audienceSize} views; post → feed p99 {p99:0} ms, the last viewer p50 {lastViewer.Summarize().P50:0} ms",
            };
        }
        finally
        {
            await LoadContext.DisposeAllAsync(clients);
        }
    }
}
