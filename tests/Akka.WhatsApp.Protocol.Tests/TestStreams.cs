namespace Akka.WhatsApp.Protocol.Tests;

/// <summary>A read-only stream over bytes that hands out at most a given number of bytes per read.</summary>
internal sealed class ChunkedStream(byte[] data, Func<int> chunkSize) : Stream
{
    private int _position;

    public ChunkedStream(byte[] data, int chunkSize) : this(data, () => chunkSize) { }

    /// <summary>How many reads were served.</summary>
    public int Reads { get; private set; }

    /// <summary>Read past this offset and the test fails: proves a decision was made without the rest.</summary>
    public int? ForbidReadsAfter { get; init; }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (ForbidReadsAfter is { } limit && _position >= limit)
            throw new InvalidOperationException($"the reader asked for bytes after offset {limit}");
        Reads++;
        var n = Math.Min(Math.Min(buffer.Length, Math.Max(1, chunkSize())), data.Length - _position);
        data.AsSpan(_position, n).CopyTo(buffer);
        _position += n;
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(Read(buffer.AsSpan(offset, count)));

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _position; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>A stream whose reads never complete until cancelled, like an idle socket.</summary>
internal sealed class SilentStream : Stream
{
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await Task.Delay(Timeout.Infinite, cancellationToken);
        return 0;
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("synchronous read");
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => 0; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
