namespace Akka.WhatsApp.Protocol.Framing;

/// <summary>
/// Reads frames from a <see cref="Stream"/> (a socket, a pipe, a test stream), whatever the read sizes:
/// frames split across reads and many frames per read both work. One reader per stream, one read at a time.
/// </summary>
public sealed class FrameReader
{
    private const int InitialBufferSize = 4096;

    private readonly Stream _stream;
    private readonly int _maxFrameSize;
    private byte[] _buffer = new byte[InitialBufferSize];
    private int _start;
    private int _end;
    private FrameFormatException? _failure;

    /// <param name="stream">The stream to read; the reader does not own or dispose it.</param>
    /// <param name="maxFrameSize">The largest frame body accepted, in bytes (see <see cref="Welcome.MaxFrame"/>).</param>
    public FrameReader(Stream stream, int maxFrameSize = FrameCodec.DefaultMaxFrameSize)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfNegative(maxFrameSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxFrameSize, Array.MaxLength - Varint32.MaxLength);
        _stream = stream;
        _maxFrameSize = maxFrameSize;
    }

    /// <summary>
    /// Returns the next frame, or null when the stream ended cleanly at a frame boundary.
    /// </summary>
    /// <exception cref="FrameFormatException">
    /// The next frame is too large or malformed, or the stream ended inside it. Every later call throws too.
    /// </exception>
    public async ValueTask<Frame?> ReadAsync(CancellationToken cancellationToken = default)
    {
        if (_failure is not null)
            throw new FrameFormatException(_failure.Status, _failure.Message);

        while (true)
        {
            var status = FrameCodec.TryDecode(_buffer.AsSpan(_start, _end - _start), _maxFrameSize, out var frame, out var consumed);
            switch (status)
            {
                case DecodeStatus.Frame:
                    _start += consumed;
                    if (_start == _end)
                        _start = _end = 0;
                    return frame;
                case DecodeStatus.NeedMoreData:
                    break;
                case DecodeStatus.TooLarge:
                    throw Fail(status, $"a frame is larger than the maximum of {_maxFrameSize} bytes");
                default:
                    throw Fail(status, $"the stream cannot be read as frames ({status})");
            }

            MakeRoomForRead();
            var read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                if (_start == _end)
                    return null;
                throw Fail(DecodeStatus.NeedMoreData, $"the stream ended inside a frame ({_end - _start} bytes of it were read)");
            }
            _end += read;
        }
    }

    private FrameFormatException Fail(DecodeStatus status, string message) => _failure = new FrameFormatException(status, message);

    /// <summary>Ensures the buffer can take the rest of the current frame, or at least one more byte.</summary>
    private void MakeRoomForRead()
    {
        var buffered = _end - _start;
        var needed = Varint32.TryRead(_buffer.AsSpan(_start, buffered), out var length, out var prefixLength) == VarintStatus.Ok
            ? prefixLength + (int)length // at most maxFrameSize + 5: TryDecode refused anything larger
            : buffered + 1;

        if (_buffer.Length - _start >= needed && _end < _buffer.Length)
            return;

        var target = _buffer.Length >= needed ? _buffer : new byte[Math.Max(needed, (int)Math.Min(2L * _buffer.Length, _maxFrameSize + Varint32.MaxLength))];
        _buffer.AsSpan(_start, buffered).CopyTo(target); // Span.CopyTo is overlap-safe when compacting in place
        _buffer = target;
        _start = 0;
        _end = buffered;
    }
}
