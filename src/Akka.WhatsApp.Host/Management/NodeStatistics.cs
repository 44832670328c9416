using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.WhatsApp.Cluster.Monitoring;
using Akka.WhatsApp.Edge.Monitoring;

namespace Akka.WhatsApp.Host.Management;

/// <summary>This node's own numbers: the edge's counters, the entities' gauges and what its shard regions host.</summary>
public static class NodeStatistics
{
    public static readonly TimeSpan RegionTimeout = TimeSpan.FromSeconds(3);

    /// <summary>Shards and entities of every shard region on this node, asked as GET /cluster/shards/{region} does.</summary>
    public static async Task<RegionLoad[]> RegionsAsync(ActorSystem system, CancellationToken cancellationToken = default)
    {
        var sharding = ClusterSharding.Get(system);
        return await Task.WhenAll(sharding.ShardTypeNames.Order(StringComparer.Ordinal).Select(async region =>
        {
            var stats = await sharding.ShardRegion(region).Ask<ShardRegionStats>(GetShardRegionStats.Instance, RegionTimeout, cancellationToken);
            return new RegionLoad(region, stats.Stats.Count, stats.Stats.Values.Sum());
        }));
    }

    public static async Task<NodeStats> LocalAsync(ActorSystem system, EdgeMetrics edge, CancellationToken cancellationToken = default)
    {
        var regions = await RegionsAsync(system, cancellationToken);
        var totals = edge.Totals();
        return new NodeStats(Akka.Cluster.Cluster.Get(system).SelfAddress.ToString(), totals.Connections, totals.MessagesAccepted,
            totals.MessagesDelivered, totals.FramesReceived, totals.FramesSent, EntityMetrics.For(system).MailboxPending, [.. regions]);
    }
}

/// <summary>
/// Answers <see cref="GetNodeStats"/> with this node's <see cref="NodeStats"/>, for the dashboard of any node of the
/// cluster (it asks every member's actor at the same path over Akka.Remote, in Protobuf).
/// </summary>
public sealed class NodeStatsActor : ReceiveActor
{
    public const string Name = "node-stats";

    public NodeStatsActor(EdgeMetrics edge)
    {
        var system = Context.System;
        Receive<GetNodeStats>(_ => NodeStatistics.LocalAsync(system, edge).PipeTo(Sender));
    }

    public static Props PropsFor(EdgeMetrics edge) => Props.Create(() => new NodeStatsActor(edge));

    /// <summary>Where a member's stats actor lives.</summary>
    public static ActorPath PathOn(Address node) => new RootActorPath(node) / "user" / Name;
}
