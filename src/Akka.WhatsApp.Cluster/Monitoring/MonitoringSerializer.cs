using Proto = Akka.WhatsApp.Cluster.Storage.Monitoring;

namespace Akka.WhatsApp.Cluster.Monitoring;

/// <summary>Protobuf serializer for the node statistics the dashboard gathers from every node.</summary>
public sealed class MonitoringSerializer : ProtobufSerializer
{
    public const int Id = 114;

    public override int Identifier => Id;

    public MonitoringSerializer(ExtendedActorSystem system) : base(system)
    {
        Map<GetNodeStats, Proto.GetNodeStats>("G", _ => new Proto.GetNodeStats(), _ => GetNodeStats.Instance);
        Map<NodeStats, Proto.NodeStats>("S",
            s =>
            {
                var p = new Proto.NodeStats
                {
                    Address = s.Address, Connections = s.Connections, MessagesAccepted = s.MessagesAccepted, MessagesDelivered = s.MessagesDelivered,
                    FramesReceived = s.FramesReceived, FramesSent = s.FramesSent, MailboxPending = s.MailboxPending,
                };
                p.Regions.AddRange(s.Regions.Select(r => new Proto.RegionLoad { Region = r.Region, Shards = r.Shards, Entities = r.Entities }));
                return p;
            },
            p => new NodeStats(p.Address, p.Connections, p.MessagesAccepted, p.MessagesDelivered, p.FramesReceived, p.FramesSent, p.MailboxPending,
                [.. p.Regions.Select(r => new RegionLoad(r.Region, r.Shards, r.Entities))]));
    }
}
