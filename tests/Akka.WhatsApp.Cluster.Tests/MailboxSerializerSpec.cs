using Akka.Configuration;
using Akka.TestKit.Xunit2;
using Akka.WhatsApp.Cluster.Mailbox;
using Akka.WhatsApp.Cluster.Serialization;
using Akka.WhatsApp.Domain;
using Akka.WhatsApp.Domain.Mailbox;
using Xunit;

namespace Akka.WhatsApp.Cluster.Tests;

public sealed class MailboxSerializerSpec() : Akka.TestKit.Xunit2.TestKit(ClusterSerialization.Config)
{
    private static readonly DateTimeOffset When = DateTimeOffset.FromUnixTimeMilliseconds(1_795_000_000_123);
    private static readonly MessageId Id = MessageId.New();
    private static readonly Dictionary<DeviceId, byte[]> Ciphertexts = new() { [new DeviceId(1)] = [1, 2, 3], [new DeviceId(3)] = [9] };

    private static readonly object[] All =
    [
        new MailboxEvents.MessageEnqueued(new StoredMessage(7, Id, new UserId("alice"), new DeviceId(2), When, Ciphertexts)),
        new MailboxEvents.DeviceAcked(new DeviceId(3), 41),
        new MailboxCommands.Enqueue(new UserId("bob"), Id, new UserId("alice"), new DeviceId(1), Ciphertexts),
        new MailboxCommands.Ack(new UserId("bob"), new DeviceId(2), 12),
        new MailboxReplies.Enqueued(Id, 5, When, Duplicate: true),
        new MailboxReplies.Acked(new DeviceId(1), 99),
        new MailboxReplies.Rejected(MailboxError.InvalidArgument, "why"),
    ];

    public static IEnumerable<object[]> Messages => All.Select(m => new[] { m });

    [Theory]
    [MemberData(nameof(Messages))]
    public void Every_mailbox_type_is_bound_to_the_mailbox_protobuf_serializer(object message)
    {
        var serializer = Sys.Serialization.FindSerializerFor(message);
        Assert.IsType<MailboxSerializer>(serializer);
        Assert.Equal(110, serializer.Identifier);
    }

    [Theory]
    [MemberData(nameof(Messages))]
    public void Every_mailbox_type_round_trips(object message)
    {
        var serializer = (MailboxSerializer)Sys.Serialization.FindSerializerFor(message);
        var manifest = serializer.Manifest(message);
        var back = serializer.FromBinary(serializer.ToBinary(message), manifest);
        Assert.Equal(Describe(message), Describe(back));
    }

    [Fact]
    public void Manifests_never_change_because_they_are_stored_with_every_event()
    {
        var serializer = (MailboxSerializer)Sys.Serialization.FindSerializerFor(new MailboxEvents.DeviceAcked(DeviceId.Primary, 1));
        Assert.Equal(["ME", "DA", "E", "A", "ED", "AD", "R"], All.Select(serializer.Manifest));
    }

    [Fact]
    public void An_unknown_manifest_fails_with_a_clear_error()
    {
        var serializer = (MailboxSerializer)Sys.Serialization.FindSerializerFor(new MailboxEvents.DeviceAcked(DeviceId.Primary, 1));
        var e = Assert.Throws<System.Runtime.Serialization.SerializationException>(() => serializer.FromBinary([], "nope"));
        Assert.Contains("nope", e.Message);
    }

    /// <summary>Records holding dictionaries compare by reference; compare their full content instead.</summary>
    private static string Describe(object o) => o switch
    {
        MailboxEvents.MessageEnqueued e => $"ME {Describe(e.Message)}",
        MailboxCommands.Enqueue e => $"E {e.Owner} {e.MessageId} {e.From} {e.FromDevice} {Describe(e.Ciphertexts)}",
        StoredMessage m => $"{m.Seq} {m.MessageId} {m.From} {m.FromDevice} {m.ServerTimestamp:O} {Describe(m.Ciphertexts)}",
        _ => o.ToString()!,
    };

    private static string Describe(IReadOnlyDictionary<DeviceId, byte[]> c) =>
        string.Join(";", c.OrderBy(kv => kv.Key.Value).Select(kv => $"{kv.Key}={Convert.ToHexString(kv.Value)}"));
}
