using Akka.WhatsApp.Protocol.Framing;
using DotNetty.Buffers;
using DotNetty.Codecs;
using DotNetty.Transport.Channels;

namespace Akka.WhatsApp.Edge.Tcp;

/// <summary>Raised into the pipeline when the byte stream cannot be framed; the session closes the connection.</summary>
public sealed record FrameDecodeFailure(DecodeStatus Status, int Limit);

/// <summary>
/// varint32 length prefix + Protobuf Frame, decoded with the shared <see cref="FrameCodec"/>.
/// Fails fast: an oversize length is refused as soon as the prefix is read, before the body arrives.
/// After a failure every further byte of the connection is discarded.
/// </summary>
public sealed class FrameDecoder(int maxFrameSize, Monitoring.EdgeMetrics? metrics = null) : ByteToMessageDecoder
{
    /// <summary>The largest first frame (Hello, PROTOCOL.md §2): the connection's maximum applies once it is read.</summary>
    public const int MaxHelloSize = 1024;

    private bool _failed;
    private int _limit = Math.Min(MaxHelloSize, maxFrameSize);

    protected override void Decode(IChannelHandlerContext context, IByteBuffer input, List<object> output)
    {
        while (!_failed && input.IsReadable())
        {
            var readable = input.ReadableBytes;
            var status = input.IoBufferCount == 1
                ? Decode(input.GetIoBuffer(input.ReaderIndex, readable), out var frame, out var consumed)
                : Decode(new ArraySegment<byte>(Copy(input, readable)), out frame, out consumed);

            switch (status)
            {
                case DecodeStatus.Frame:
                    input.SkipBytes(consumed);
                    _limit = maxFrameSize;
                    metrics?.FrameReceived(consumed);
                    output.Add(frame!);
                    break;
                case DecodeStatus.NeedMoreData:
                    return;
                default:
                    _failed = true;
                    output.Add(new FrameDecodeFailure(status, _limit));
                    break;
            }
        }

        if (_failed)
            input.SkipBytes(input.ReadableBytes);
    }

    private static byte[] Copy(IByteBuffer input, int length)
    {
        var bytes = new byte[length];
        input.GetBytes(input.ReaderIndex, bytes);
        return bytes;
    }

    private DecodeStatus Decode(ArraySegment<byte> bytes, out Protocol.Frame? frame, out int consumed) =>
        FrameCodec.TryDecode(bytes.AsSpan(), _limit, out frame, out consumed);
}
