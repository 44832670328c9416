using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Serialization;

namespace Akka.WhatsApp.Testing;

/// <summary>
/// Test configuration that makes every message sent between actors go through serialization
/// (serialize-messages = on) and replaces the default JSON serializer with one that throws for any
/// type of ours: a domain type that is not bound to a Protobuf serializer fails the test.
/// </summary>
public static class StrictSerialization
{
    public const string Hocon = """
        akka.actor {
          serialize-messages = on
          serializers.json = "Akka.WhatsApp.Testing.ForbiddenJsonSerializer, Akka.WhatsApp.Testing"
        }
        """;
}

/// <summary>
/// Stands in for the default JSON serializer in tests. Our types must never get here: they throw.
/// Akka's own internal messages that fall back to JSON (e.g. the journal's Desequenced wrapper, which
/// JSON cannot round-trip with our payloads inside) are passed through by reference: verifying them is
/// Akka's business, and the payloads they carry were already serialized by our Protobuf serializers.
/// </summary>
public sealed class ForbiddenJsonSerializer : Serializer
{
    private readonly ConcurrentDictionary<Guid, object> _inFlight = new();

    public ForbiddenJsonSerializer(ExtendedActorSystem system) : base(system)
    {
    }

    /// <summary>The constructor Akka uses when the json serializer has a settings section.</summary>
    public ForbiddenJsonSerializer(ExtendedActorSystem system, Akka.Configuration.Config config) : base(system)
    {
    }

    public override int Identifier => 1;

    public override bool IncludeManifest => true;

    public override byte[] ToBinary(object obj)
    {
        if (IsOurs(obj.GetType()))
            throw new InvalidOperationException(
                $"{obj.GetType().FullName} reached the default JSON serializer: bind it to a Protobuf serializer (DESIGN.md §5).");
        var token = Guid.NewGuid();
        _inFlight[token] = obj;
        return token.ToByteArray();
    }

    public override object FromBinary(byte[] bytes, Type type) =>
        _inFlight.TryRemove(new Guid(bytes), out var obj)
            ? obj
            : throw new InvalidOperationException("the strict test serializer only round-trips within one process");

    public static bool IsOurs(Type type) => type.Assembly.GetName().Name?.StartsWith("Akka.WhatsApp", StringComparison.Ordinal) == true;
}
