using Akka.Serialization;
using Google.Protobuf;
using SerializationException = System.Runtime.Serialization.SerializationException;

namespace Akka.WhatsApp.Cluster.Serialization;

/// <summary>
/// Base of our serializers: each area declares, once per type, a short manifest that never changes and the
/// mapping between the domain record and its storage Protobuf message.
/// </summary>
public abstract class ProtobufSerializer : SerializerWithStringManifest
{
    private readonly Dictionary<Type, (string Manifest, Func<object, IMessage> ToProto)> _byType = new();
    private readonly Dictionary<string, Func<byte[], object>> _byManifest = new(StringComparer.Ordinal);

    protected ProtobufSerializer(ExtendedActorSystem system) : base(system)
    {
    }

    /// <summary>Declares how <typeparamref name="TDomain"/> is stored, under a manifest that must never change.</summary>
    protected void Map<TDomain, TProto>(string manifest, Func<TDomain, TProto> toProto, Func<TProto, TDomain> fromProto)
        where TDomain : notnull
        where TProto : IMessage<TProto>, new()
    {
        if (_byManifest.ContainsKey(manifest))
            throw new InvalidOperationException($"{GetType().Name} maps manifest '{manifest}' twice");
        var parser = new MessageParser<TProto>(() => new TProto());
        _byType[typeof(TDomain)] = (manifest, o => toProto((TDomain)o));
        _byManifest[manifest] = bytes => fromProto(parser.ParseFrom(bytes));
    }

    /// <summary>The manifests this serializer knows, for tests that pin them.</summary>
    public IReadOnlyCollection<string> Manifests => _byManifest.Keys;

    public override string Manifest(object o) => Entry(o).Manifest;

    public override byte[] ToBinary(object obj) => Entry(obj).ToProto(obj).ToByteArray();

    public override object FromBinary(byte[] bytes, string manifest) =>
        _byManifest.TryGetValue(manifest, out var from)
            ? from(bytes)
            : throw new SerializationException($"{GetType().Name} does not know manifest '{manifest}'");

    private (string Manifest, Func<object, IMessage> ToProto) Entry(object o) =>
        _byType.TryGetValue(o.GetType(), out var entry)
            ? entry
            : throw new SerializationException($"{GetType().Name} cannot serialize {o.GetType().FullName}");
}
