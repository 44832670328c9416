using Akka.WhatsApp.Cluster.Monitoring;
using Akka.WhatsApp.Cluster.Serialization;
using Xunit;

namespace Akka.WhatsApp.Cluster.Tests;

/// <summary>The dashboard's node statistics cross the cluster in Protobuf, under manifests that never change.</summary>
public sealed class MonitoringSerializerSpec() : Akka.TestKit.Xunit2.TestKit(ClusterSerialization.Config)
{
    public static IEnumerable<object[]> All =>
    [
        [GetNodeStats.Instance],
        [new NodeStats("akka.tcp://whatsapp@10.0.0.7:4053", 3, 1_000_000_000_000, 17, 40, 41, 5,
            [new RegionLoad("account", 2, 4), new RegionLoad("mailbox", 10, 123)])],
        [new NodeStats("akka.tcp://whatsapp@10.0.0.8:4053", 0, 0, 0, 0, 0, 0, [])],
    ];

    [Theory]
    [MemberData(nameof(All))]
    public void Node_stats_messages_are_bound_to_the_monitoring_serializer_and_round_trip(object message)
    {
        var serializer = (ProtobufSerializer)Sys.Serialization.FindSerializerFor(message);
        Assert.Equal(MonitoringSerializer.Id, serializer.Identifier);
        var back = serializer.FromBinary(serializer.ToBinary(message), serializer.Manifest(message));
        Assert.Equal(Describe.Of(message), Describe.Of(back));
    }

    [Fact]
    public void Manifests_are_pinned()
    {
        var serializer = (ProtobufSerializer)Sys.Serialization.FindSerializerFor(GetNodeStats.Instance);
        Assert.Equal(["G", "S"], serializer.Manifests.Order(StringComparer.Ordinal));
        Assert.Same(GetNodeStats.Instance, serializer.FromBinary(serializer.ToBinary(GetNodeStats.Instance), "G"));
    }
}
