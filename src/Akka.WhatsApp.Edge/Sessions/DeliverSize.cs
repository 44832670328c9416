using Akka.WhatsApp.Domain.Mailbox;
using Google.Protobuf;
using DeviceCiphertext = Akka.WhatsApp.Domain.Mailbox.DeviceCiphertext;

namespace Akka.WhatsApp.Edge.Sessions;

/// <summary>
/// The largest <c>Deliver</c> frame a message can become (PROTOCOL.md §8.1, "Message size"). A send is refused
/// with MESSAGE_TOO_LARGE when the Deliver for one of its devices would not fit the connection's maximum frame:
/// accepted, it could never be pushed, and the sender would see ✓ for a message nobody gets.
/// </summary>
/// <remarks>
/// The size is that of the Deliver the mailbox will push, with the fields only the server fills in taken at their
/// longest encoding: <c>seq</c> and <c>group_seq</c> as the largest 63-bit number (9 bytes), <c>server_timestamp</c>
/// as the last millisecond of year 9999 (8 bytes). Everything else is known when the send arrives.
/// </remarks>
public sealed class DeliverSize
{
    private readonly int _metadata;

    /// <param name="meta">As the mailbox stores it: with <c>SyncTo</c> for the sender's own copy of a 1:1 message, <c>Group</c> for a group message.</param>
    public DeliverSize(UserId from, DeviceId fromDevice, MessageMeta meta)
    {
        var entry = new StoredMessage(long.MaxValue, default, from, fromDevice, DateTimeOffset.MaxValue,
            meta.Group is null ? meta : meta with { GroupSeq = long.MaxValue }, ImmutableSortedDictionary<uint, DeviceCiphertext>.Empty);
        _metadata = WireMapping.Deliver(entry, fromDevice).Deliver.CalculateSize();
    }

    /// <summary>The bytes of the Deliver frame body that carries one ciphertext of this message.</summary>
    public int Of(int ciphertextLength, int type)
    {
        var body = _metadata
                   + (type == 0 ? 0 : CodedOutputStream.ComputeTagSize(Protocol.Deliver.CiphertextTypeFieldNumber) + CodedOutputStream.ComputeEnumSize(type))
                   + (ciphertextLength == 0
                       ? 0
                       : CodedOutputStream.ComputeTagSize(Protocol.Deliver.CiphertextFieldNumber) + CodedOutputStream.ComputeLengthSize(ciphertextLength)
                         + ciphertextLength);
        return CodedOutputStream.ComputeTagSize(Frame.DeliverFieldNumber) + CodedOutputStream.ComputeLengthSize(body) + body;
    }

    /// <summary>The largest Deliver frame body among these ciphertexts (0 for none).</summary>
    public int Largest(IEnumerable<(int Length, int Type)> ciphertexts) =>
        ciphertexts.Select(c => Of(c.Length, c.Type)).DefaultIfEmpty(0).Max();
}
