using Akka.Actor;
using Akka.Configuration;
using Akka.WhatsApp.Cluster.Serialization;
using Akka.WhatsApp.Domain;
using Xunit;

namespace Akka.WhatsApp.Cluster.Tests;

/// <summary>The JSON fallback of every node (HOCON/base.conf) refuses our types and keeps serving Akka's.</summary>
public sealed class NoDomainJsonSerializerSpec() : Akka.TestKit.Xunit2.TestKit(ConfigurationFactory.ParseString(
    File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "HOCON", "base.conf"))))
{
    [Fact]
    public void The_nodes_json_serializer_refuses_a_type_of_ours_by_name_and_still_serializes_akkas()
    {
        var json = Sys.Serialization.FindSerializerForType(typeof(object));
        Assert.IsType<NoDomainJsonSerializer>(json);

        var refused = Assert.Throws<System.Runtime.Serialization.SerializationException>(() => json.ToBinary(new UserId("ann")));
        Assert.Contains(typeof(UserId).FullName!, refused.Message);

        var identify = new Identify("probe");
        Assert.Equal("probe", ((ActorIdentity)json.FromBinary(json.ToBinary(new ActorIdentity("probe", null)), typeof(ActorIdentity))).MessageId);
        Assert.NotEmpty(json.ToBinary(identify));
    }
}
