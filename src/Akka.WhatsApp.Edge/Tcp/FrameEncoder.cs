using Akka.WhatsApp.Protocol;
using Akka.WhatsApp.Protocol.Framing;
using DotNetty.Buffers;
using DotNetty.Codecs;
using DotNetty.Transport.Channels;
using Google.Protobuf;

namespace Akka.WhatsApp.Edge.Tcp;

/// <summary>Writes a <see cref="Frame"/> as its varint32 length followed by the Protobuf body.</summary>
public sealed class FrameEncoder : MessageToByteEncoder<Frame>
{
    protected override void Encode(IChannelHandlerContext context, Frame message, IByteBuffer output)
    {
        var size = message.CalculateSize();
        output.EnsureWritable(Varint32.SizeOf((uint)size) + size);
        Span<byte> prefix = stackalloc byte[5];
        foreach (var b in prefix[..Varint32.Write(prefix, (uint)size)])
            output.WriteByte(b);
        var segment = output.GetIoBuffer(output.WriterIndex, size);
        message.WriteTo(segment.AsSpan());
        output.SetWriterIndex(output.WriterIndex + size);
    }
}
