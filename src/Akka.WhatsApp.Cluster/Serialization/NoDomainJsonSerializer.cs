using Akka.Configuration;
using Akka.Serialization;

namespace Akka.WhatsApp.Cluster.Serialization;

/// <summary>
/// Takes the place of Akka's default JSON serializer on every node (HOCON/base.conf). Akka's own messages that
/// have no binding of their own still go through JSON as before; a type of ours never does: it fails at once
/// with its name, instead of crossing the network (or reaching the journal) as JSON no reader could keep
/// compatible. Every such type is bound to a Protobuf serializer in <see cref="ClusterSerialization"/>.
/// </summary>
public sealed class NoDomainJsonSerializer : NewtonSoftJsonSerializer
{
    public NoDomainJsonSerializer(ExtendedActorSystem system) : base(system)
    {
    }

    public NoDomainJsonSerializer(ExtendedActorSystem system, Config config) : base(system, config)
    {
    }

    public override byte[] ToBinary(object obj)
    {
        if (obj.GetType().Namespace?.StartsWith("Akka.WhatsApp", StringComparison.Ordinal) == true)
            throw new System.Runtime.Serialization.SerializationException(
                $"{obj.GetType().FullName} has no Protobuf serializer binding (ClusterSerialization): it must never be written as JSON");
        return base.ToBinary(obj);
    }
}
