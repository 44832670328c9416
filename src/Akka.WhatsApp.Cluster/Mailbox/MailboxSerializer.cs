using Akka.Actor;
using Akka.WhatsApp.Cluster.Serialization;
using Akka.WhatsApp.Domain;
using Akka.WhatsApp.Domain.Mailbox;
using Google.Protobuf;
using Proto = Akka.WhatsApp.Cluster.Storage.Mailbox;
using SerializationException = System.Runtime.Serialization.SerializationException;

namespace Akka.WhatsApp.Cluster.Mailbox;

/// <summary>Protobuf serializer for everything the Mailbox persists or sends across nodes.</summary>
public sealed class MailboxSerializer : ProtobufSerializer
{
    public const int Id = 110;

    public MailboxSerializer(ExtendedActorSystem system) : base(system)
    {
        Map<MailboxEvents.MessageEnqueued, Proto.MessageEnqueued>("ME",
            e => new Proto.MessageEnqueued { Message = ToProto(e.Message) },
            p => new MailboxEvents.MessageEnqueued(FromProto(p.Message)));
        Map<MailboxEvents.DeviceAcked, Proto.DeviceAcked>("DA",
            e => new Proto.DeviceAcked { DeviceId = e.Device.Value, UpToSeq = e.UpToSeq },
            p => new MailboxEvents.DeviceAcked(new DeviceId(p.DeviceId), p.UpToSeq));
        Map<MailboxCommands.Enqueue, Proto.Enqueue>("E", ToProto, FromProto);
        Map<MailboxCommands.Ack, Proto.Ack>("A",
            c => new Proto.Ack { Owner = c.Owner.Value, DeviceId = c.Device.Value, UpToSeq = c.UpToSeq },
            p => new MailboxCommands.Ack(new UserId(p.Owner), new DeviceId(p.DeviceId), p.UpToSeq));
        Map<MailboxReplies.Enqueued, Proto.Enqueued>("ED",
            r => new Proto.Enqueued { MessageId = Bytes(r.MessageId), Seq = r.Seq, ServerTimestampMs = Ms(r.ServerTimestamp), Duplicate = r.Duplicate },
            p => new MailboxReplies.Enqueued(MessageIdOf(p.MessageId), p.Seq, At(p.ServerTimestampMs), p.Duplicate));
        Map<MailboxReplies.Acked, Proto.Acked>("AD",
            r => new Proto.Acked { DeviceId = r.Device.Value, AckedSeq = r.AckedSeq },
            p => new MailboxReplies.Acked(new DeviceId(p.DeviceId), p.AckedSeq));
        Map<MailboxReplies.Rejected, Proto.Rejected>("R",
            r => new Proto.Rejected { Error = (int)r.Error, Reason = r.Reason },
            p => new MailboxReplies.Rejected((MailboxError)p.Error, p.Reason));
    }

    public override int Identifier => Id;

    private static Proto.StoredMessage ToProto(StoredMessage m)
    {
        var p = new Proto.StoredMessage
        {
            Seq = m.Seq,
            MessageId = Bytes(m.MessageId),
            FromUser = m.From.Value,
            FromDevice = m.FromDevice.Value,
            ServerTimestampMs = Ms(m.ServerTimestamp),
        };
        p.Ciphertexts.AddRange(ToProto(m.Ciphertexts));
        return p;
    }

    private static StoredMessage FromProto(Proto.StoredMessage p) => new(
        p.Seq, MessageIdOf(p.MessageId), new UserId(p.FromUser), new DeviceId(p.FromDevice), At(p.ServerTimestampMs), FromProto(p.Ciphertexts));

    private static Proto.Enqueue ToProto(MailboxCommands.Enqueue e)
    {
        var p = new Proto.Enqueue { Owner = e.Owner.Value, MessageId = Bytes(e.MessageId), FromUser = e.From.Value, FromDevice = e.FromDevice.Value };
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
}
