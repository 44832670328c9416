using Xunit;
using Xunit.Abstractions;

namespace Akka.WhatsApp.MultiNode.Tests;

/// <summary>
/// Conversations keep going while a node of three goes away, gracefully (SIGTERM: its clients are told to
/// reconnect elsewhere, its shards are handed over, it leaves the cluster) or not (SIGKILL: its clients see the
/// socket die and reconnect to the survivors; the split-brain resolver downs it; its shards start again on the
/// survivors from the journal). Either way every message whose send was acknowledged is shown exactly once and
/// in order. Each test prints sent / acknowledged / delivered / duplicates / reorders.
/// </summary>
public sealed class NodeLossUnderLoadSpec(ITestOutputHelper output)
{
    private const int Pairs = 9;
    private static readonly TimeSpan Pace = TimeSpan.FromMilliseconds(40);

    [Fact]
    public async Task A_node_stopped_with_sigterm_under_load_loses_duplicates_and_reorders_nothing()
    {
        await using var cluster = await ProcessCluster.StartAsync(new ClusterOptions { SplitBrainStableAfterSeconds = 5, DrainSeconds = 10 }, output);
        var (a, c) = (cluster.Nodes[0], cluster.Nodes[2]);
        try
        {
            await using var traffic = await ConversationTraffic.StartAsync(cluster, Pairs, Pace);
            var onC = traffic.ClientsOn(c).ToList();
            Assert.NotEmpty(onC);
            await Task.Delay(TimeSpan.FromSeconds(4));

            // SIGTERM, as a deploy or a Kubernetes pod eviction stops a node (leaving through the management API
            // takes the same path inside the node: CrossNodeAndManagementSpec).
            c.Terminate();
            Assert.True(await c.WaitForExitAsync(TimeSpan.FromSeconds(90)), "C did not exit after SIGTERM");
            await cluster.WaitForMembersAsync(a, [cluster.Nodes[0].Address, cluster.Nodes[1].Address], TimeSpan.FromSeconds(30));
            await Task.Delay(TimeSpan.FromSeconds(4));
            await traffic.StopSendingAsync();
            var report = await traffic.SettleAsync(TimeSpan.FromSeconds(60));
            output.WriteLine("graceful leave: " + report);
            Console.WriteLine("MultiNode graceful leave: " + report);
            if (report.Lost > 0)
                output.WriteLine(traffic.DescribeLost(cluster.Nodes));

            // The drained node's clients moved on its hint: they are on the survivors and C's edge says so.
            Assert.All(onC, client => Assert.NotEqual(c.EdgePort, client.Endpoint.Port));
            // …on their own, before the drain timeout: none had to be closed with SERVER_SHUTTING_DOWN.
            var drained = System.Text.RegularExpressions.Regex.Match(c.Log(), @"Edge drained: (\d+) of (\d+) connections left on their own");
            Assert.True(drained.Success, "C's log does not tell how the drain went");
            Assert.Equal(drained.Groups[2].Value, drained.Groups[1].Value);
            Assert.Equal(onC.Count, int.Parse(drained.Groups[2].Value));
            Assert.Equal(0, c.ExitCode);

            Assert.True(report.Acknowledged > Pairs * 20, $"too little traffic to mean anything: {report}");
            Assert.Empty(report.Ended); // no device was told another connection of it took over
            Assert.Equal(0, report.Lost);
            Assert.Equal(0, report.Duplicates);
            Assert.Equal(0, report.Reordered);
            // Graceful: nothing fails at all, each send gets its ✓ (perhaps after a retry on another node).
            Assert.Equal(0, report.Failed);
        }
        catch
        {
            cluster.DumpLogs();
            throw;
        }
    }

    [Fact]
    public async Task A_node_killed_under_load_loses_nothing_acknowledged_and_shows_it_once_in_order()
    {
        await using var cluster = await ProcessCluster.StartAsync(new ClusterOptions { SplitBrainStableAfterSeconds = 5 }, output);
        var (a, b, c) = (cluster.Nodes[0], cluster.Nodes[1], cluster.Nodes[2]);
        try
        {
            await using var traffic = await ConversationTraffic.StartAsync(cluster, Pairs, Pace);
            var onC = traffic.ClientsOn(c).ToList();
            Assert.NotEmpty(onC);
            await Task.Delay(TimeSpan.FromSeconds(4));

            c.Kill();
            output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} killed C (pid {c.Pid})");
            // The survivors down C (keep-majority, 2 of 3) and take its shards over from the journal.
            await cluster.WaitForMembersAsync(a, [a.Address, b.Address], TimeSpan.FromSeconds(60));
            output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} C removed");
            await Task.Delay(TimeSpan.FromSeconds(5));
            await traffic.StopSendingAsync();
            var report = await traffic.SettleAsync(TimeSpan.FromSeconds(60));
            output.WriteLine("kill -9: " + report);
            Console.WriteLine("MultiNode kill -9: " + report);
            if (report.Lost > 0)
                output.WriteLine(traffic.DescribeLost(cluster.Nodes));

            Assert.All(onC, client => Assert.NotEqual(c.EdgePort, client.Endpoint.Port));
            Assert.True(report.Reconnects >= onC.Count, $"the clients of C did not all reconnect: {report}");
            Assert.True(report.Acknowledged > Pairs * 20, $"too little traffic to mean anything: {report}");
            Assert.Empty(report.Ended); // no device was told another connection of it took over
            Assert.Equal(0, report.Lost);
            Assert.Equal(0, report.Duplicates);
            Assert.Equal(0, report.Reordered);
        }
        catch
        {
            cluster.DumpLogs();
            throw;
        }
    }
}
