using Akka.WhatsApp.Protocol.Framing;
using DotNetty.Buffers;
using DotNetty.Codecs;
using DotNetty.Transport.Channels;
using Google.Protobuf;

namespace Akka.WhatsApp.Edge.Tcp;

/// <summary>
/// Writes a <see cref="Frame"/> as its varint32 length followed by the Protobuf body. The server never sends a
/// body above the connection's maximum (PROTOCOL.md §2): such a reply becomes an INTERNAL error for its request.
/// </summary>
public sealed class FrameEncoder(int maxFrameSize = FrameCodec.DefaultMaxFrameSize, Monitoring.EdgeMetrics? metrics = null) : MessageToByteEncoder<Frame>
{
    protected override void Encode(IChannelHandlerContext context, Frame message, IByteBuffer output)
    {
        var size = message.CalculateSize();
        if (size > maxFrameSize)
        {
            message = new Frame
            {
                RequestId = message.RequestId,
                Error = new Error { Code = ErrorCode.Internal, Message = "the answer exceeds the maximum frame size" },
            };
            size = message.CalculateSize();
        }
        var total = Varint32.SizeOf((uint)size) + size;
        output.EnsureWritable(total);
        Span<byte> prefix = stackalloc byte[5];
        foreach (var b in prefix[..Varint32.Write(prefix, (uint)size)])
            output.WriteByte(b);
        var segment = output.GetIoBuffer(output.WriterIndex, size);
        message.WriteTo(segment.AsSpan());
        output.SetWriterIndex(output.WriterIndex + size);
        metrics?.FrameSent(total);
        if (message.PacketCase == Frame.PacketOneofCase.Error)
            metrics?.ErrorSent(message.Error.Code);
    }
}
