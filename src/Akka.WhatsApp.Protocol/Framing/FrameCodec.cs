using System.Buffers;
using Google.Protobuf;

namespace Akka.WhatsApp.Protocol.Framing;

/// <summary>
/// The wire framing: a varint32 body length followed by one Protobuf <see cref="Frame"/> (protocol/PROTOCOL.md, "Framing").
/// Stateless and allocation-light, so that any transport (DotNetty, streams, tests) can share it.
/// </summary>
public static class FrameCodec
{
    /// <summary>The default largest frame body in bytes; a server announces its own in <see cref="Welcome.MaxFrame"/>.</summary>
    public const int DefaultMaxFrameSize = 256 * 1024;

    // Unknown fields (packets of newer peers) are dropped rather than kept in memory: nothing here can use them.
    private static readonly MessageParser<Frame> Parser = Frame.Parser.WithDiscardUnknownFields(true);

    /// <summary>The number of bytes <see cref="Encode"/> produces for <paramref name="frame"/>.</summary>
    public static int EncodedSize(Frame frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        var size = frame.CalculateSize();
        return Varint32.SizeOf((uint)size) + size;
    }

    /// <summary>Returns the length prefix followed by the frame body.</summary>
    public static byte[] Encode(Frame frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        var size = frame.CalculateSize();
        var bytes = new byte[Varint32.SizeOf((uint)size) + size];
        var prefix = Varint32.Write(bytes, (uint)size);
        frame.WriteTo(bytes.AsSpan(prefix));
        return bytes;
    }

    /// <summary>Writes the length prefix followed by the frame body to <paramref name="writer"/>.</summary>
    public static void WriteTo(Frame frame, IBufferWriter<byte> writer)
    {
        ArgumentNullException.ThrowIfNull(frame);
        ArgumentNullException.ThrowIfNull(writer);
        var size = frame.CalculateSize();
        var prefixLength = Varint32.SizeOf((uint)size);
        var span = writer.GetSpan(prefixLength + size);
        Varint32.Write(span, (uint)size);
        frame.WriteTo(span.Slice(prefixLength, size));
        writer.Advance(prefixLength + size);
    }

    /// <summary>
    /// Decodes the frame at the start of <paramref name="buffer"/>. Never throws on bad input: every
    /// outcome is a <see cref="DecodeStatus"/>. A length above <paramref name="maxFrameSize"/> is reported as
    /// <see cref="DecodeStatus.TooLarge"/> as soon as the prefix is complete, without waiting for the body.
    /// A zero-length frame decodes to an empty <see cref="Frame"/> (no packet); what it means is the session's call.
    /// </summary>
    /// <param name="buffer">Received bytes, starting at a frame boundary.</param>
    /// <param name="maxFrameSize">The largest body length accepted, in bytes.</param>
    /// <param name="frame">The decoded frame when the result is <see cref="DecodeStatus.Frame"/>, otherwise null.</param>
    /// <param name="consumed">
    /// The bytes of the frame (prefix and body) when the result is <see cref="DecodeStatus.Frame"/> or
    /// <see cref="DecodeStatus.MalformedBody"/>, otherwise 0.
    /// </param>
    public static DecodeStatus TryDecode(ReadOnlySpan<byte> buffer, int maxFrameSize, out Frame? frame, out int consumed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxFrameSize);
        frame = null;
        consumed = 0;

        switch (Varint32.TryRead(buffer, out var length, out var prefixLength))
        {
            case VarintStatus.NeedMoreData:
                return DecodeStatus.NeedMoreData;
            case VarintStatus.Malformed:
                return DecodeStatus.MalformedLength;
        }

        if (length > (uint)maxFrameSize)
            return DecodeStatus.TooLarge;
        if (buffer.Length - prefixLength < length)
            return DecodeStatus.NeedMoreData;

        var total = prefixLength + (int)length;
        try
        {
            frame = Parser.ParseFrom(buffer.Slice(prefixLength, (int)length));
        }
        catch (InvalidProtocolBufferException)
        {
            consumed = total;
            return DecodeStatus.MalformedBody;
        }

        consumed = total;
        return DecodeStatus.Frame;
    }
}
