
namespace Akka.WhatsApp.Cluster.Monitoring;

/// <summary>The messages a node's stats actor answers across the cluster (Protobuf: <see cref="MonitoringSerializer"/>).</summary>
public interface INodeStatsMessage;

/// <summary>Asks a node for its own numbers.</summary>
public sealed class GetNodeStats : INodeStatsMessage
{
    public static readonly GetNodeStats Instance = new();

    private GetNodeStats()
    {
    }
}

/// <summary>Shards and entities one node hosts for one entity type.</summary>
public sealed record RegionLoad(string Region, int Shards, int Entities);

/// <summary>
/// One node's own numbers for the dashboard: totals since it started (rates are their deltas over time), its open
/// client connections and what its shard regions host.
/// </summary>
public sealed record NodeStats(
    string Address,
    long Connections,
    long MessagesAccepted,
    long MessagesDelivered,
    long FramesReceived,
    long FramesSent,
    long MailboxPending,
    ImmutableArray<RegionLoad> Regions) : INodeStatsMessage;
