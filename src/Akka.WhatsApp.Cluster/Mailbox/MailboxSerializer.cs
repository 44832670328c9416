using Akka.Actor;
using Akka.Serialization;
using Akka.WhatsApp.Domain;
using Akka.WhatsApp.Domain.Mailbox;
using Google.Protobuf;
using SerializationException = System.Runtime.Serialization.SerializationException;
using Proto = Akka.WhatsApp.Cluster.Storage.Mailbox;

namespace Akka.WhatsApp.Cluster.Mailbox;

/// <summary>
/// Protobuf serializer for everything the Mailbox persists or sends across nodes.
/// The manifests are stored in the journal next to every event: they never change.
/// </summary>
public sealed class MailboxSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    public const int Id = 110;

    internal const string MessageEnqueuedManifest = "ME";
    internal const string DeviceAckedManifest = "DA";
    internal const string EnqueueManifest = "E";
    internal const string AckManifest = "A";
    internal const string EnqueuedManifest = "ED";
    internal const string AckedManifest = "AD";
    internal const string RejectedManifest = "R";

    public override int Identifier => Id;

    public override string Manifest(object o) => o switch
    {
        MailboxEvents.MessageEnqueued => MessageEnqueuedManifest,
        MailboxEvents.DeviceAcked => DeviceAckedManifest,
        MailboxCommands.Enqueue => EnqueueManifest,
        MailboxCommands.Ack => AckManifest,
        MailboxReplies.Enqueued => EnqueuedManifest,
        MailboxReplies.Acked => AckedManifest,
        MailboxReplies.Rejected => RejectedManifest,
        _ => throw Unknown(o.GetType()),
    };

    public override byte[] ToBinary(object obj) => obj switch
    {
        MailboxEvents.MessageEnqueued e => new Proto.MessageEnqueued { Message = ToProto(e.Message) }.ToByteArray(),
        MailboxEvents.DeviceAcked a => new Proto.DeviceAcked { DeviceId = a.Device.Value, UpToSeq = a.UpToSeq }.ToByteArray(),
        MailboxCommands.Enqueue e => ToProto(e).ToByteArray(),
        MailboxCommands.Ack a => new Proto.Ack { Owner = a.Owner.Value, DeviceId = a.Device.Value, UpToSeq = a.UpToSeq }.ToByteArray(),
        MailboxReplies.Enqueued e => new Proto.Enqueued
        {
            MessageId = Bytes(e.MessageId),
            Seq = e.Seq,
            ServerTimestampMs = e.ServerTimestamp.ToUnixTimeMilliseconds(),
            Duplicate = e.Duplicate,
        }.ToByteArray(),
        MailboxReplies.Acked a => new Proto.Acked { DeviceId = a.Device.Value, AckedSeq = a.AckedSeq }.ToByteArray(),
        MailboxReplies.Rejected r => new Proto.Rejected { Error = (int)r.Error, Reason = r.Reason }.ToByteArray(),
        _ => throw Unknown(obj.GetType()),
    };

    public override object FromBinary(byte[] bytes, string manifest) => manifest switch
    {
        MessageEnqueuedManifest => new MailboxEvents.MessageEnqueued(FromProto(Proto.MessageEnqueued.Parser.ParseFrom(bytes).Message)),
        DeviceAckedManifest => FromProto(Proto.DeviceAcked.Parser.ParseFrom(bytes)),
        EnqueueManifest => FromProto(Proto.Enqueue.Parser.ParseFrom(bytes)),
        AckManifest => FromProto(Proto.Ack.Parser.ParseFrom(bytes)),
        EnqueuedManifest => FromProto(Proto.Enqueued.Parser.ParseFrom(bytes)),
        AckedManifest => FromProto(Proto.Acked.Parser.ParseFrom(bytes)),
        RejectedManifest => FromProto(Proto.Rejected.Parser.ParseFrom(bytes)),
        _ => throw new SerializationException($"{nameof(MailboxSerializer)} does not know manifest '{manifest}'"),
    };

    private static MailboxEvents.DeviceAcked FromProto(Proto.DeviceAcked p) => new(new DeviceId(p.DeviceId), p.UpToSeq);

    private static MailboxCommands.Ack FromProto(Proto.Ack p) => new(new UserId(p.Owner), new DeviceId(p.DeviceId), p.UpToSeq);

    private static MailboxReplies.Enqueued FromProto(Proto.Enqueued p) =>
        new(MessageIdOf(p.MessageId), p.Seq, DateTimeOffset.FromUnixTimeMilliseconds(p.ServerTimestampMs), p.Duplicate);

    private static MailboxReplies.Acked FromProto(Proto.Acked p) => new(new DeviceId(p.DeviceId), p.AckedSeq);

    private static MailboxReplies.Rejected FromProto(Proto.Rejected p) => new((MailboxError)p.Error, p.Reason);

    private static Proto.StoredMessage ToProto(StoredMessage m)
    {
        var p = new Proto.StoredMessage
        {
            Seq = m.Seq,
            MessageId = Bytes(m.MessageId),
            FromUser = m.From.Value,
            FromDevice = m.FromDevice.Value,
            ServerTimestampMs = m.ServerTimestamp.ToUnixTimeMilliseconds(),
        };
        p.Ciphertexts.AddRange(ToProto(m.Ciphertexts));
        return p;
    }

    private static StoredMessage FromProto(Proto.StoredMessage p) => new(
        p.Seq,
        MessageIdOf(p.MessageId),
        new UserId(p.FromUser),
        new DeviceId(p.FromDevice),
        DateTimeOffset.FromUnixTimeMilliseconds(p.ServerTimestampMs),
        FromProto(p.Ciphertexts));

    private static Proto.Enqueue ToProto(MailboxCommands.Enqueue e)
    {
        var p = new Proto.Enqueue
        {
            Owner = e.Owner.Value,
            MessageId = Bytes(e.MessageId),
            FromUser = e.From.Value,
            FromDevice = e.FromDevice.Value,
        };
        p.Ciphertexts.AddRange(ToProto(e.Ciphertexts));
        return p;
    }

    private static MailboxCommands.Enqueue FromProto(Proto.Enqueue p) => new(
        new UserId(p.Owner), MessageIdOf(p.MessageId), new UserId(p.FromUser), new DeviceId(p.FromDevice), FromProto(p.Ciphertexts));

    private static IEnumerable<Proto.DeviceCiphertext> ToProto(IReadOnlyDictionary<DeviceId, byte[]> ciphertexts) =>
        ciphertexts.OrderBy(kv => kv.Key.Value)
            .Select(kv => new Proto.DeviceCiphertext { DeviceId = kv.Key.Value, Ciphertext = ByteString.CopyFrom(kv.Value) });

    private static IReadOnlyDictionary<DeviceId, byte[]> FromProto(IEnumerable<Proto.DeviceCiphertext> ciphertexts) =>
        ciphertexts.ToDictionary(c => new DeviceId(c.DeviceId), c => c.Ciphertext.ToByteArray());

    private static ByteString Bytes(MessageId id) => ByteString.CopyFrom(id.ToByteArray());

    private static MessageId MessageIdOf(ByteString bytes) =>
        MessageId.TryFrom(bytes.Span, out var id)
            ? id
            : throw new SerializationException($"a stored message id has {bytes.Length} bytes, expected 16");

    private static SerializationException Unknown(Type type) =>
        new($"{nameof(MailboxSerializer)} cannot serialize {type.FullName}");
}
