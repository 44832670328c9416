using System.Buffers;
using Google.Protobuf;

namespace Akka.WhatsApp.Protocol.Framing;

/// <summary>Writes frames to a <see cref="Stream"/>; the counterpart of <see cref="FrameReader"/>.</summary>
public static class FrameStreamExtensions
{
    /// <summary>
    /// Writes one frame (length prefix and body) in a single write, then flushes. Callers that write
    /// from several threads must serialize the calls.
    /// </summary>
    public static async ValueTask WriteFrameAsync(this Stream stream, Frame frame, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(frame);
        var size = frame.CalculateSize();
        var total = Varint32.SizeOf((uint)size) + size;
        var buffer = ArrayPool<byte>.Shared.Rent(total);
        try
        {
            var prefixLength = Varint32.Write(buffer, (uint)size);
            frame.WriteTo(buffer.AsSpan(prefixLength, size));
            await stream.WriteAsync(buffer.AsMemory(0, total), cancellationToken).ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
