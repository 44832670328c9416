using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;

namespace Akka.WhatsApp.Media.Tests;

/// <summary>
/// Reproducible random bytes as a forward-only stream, so that tens of megabytes can be uploaded and checked without
/// holding them in memory: the same seed and length always give the same bytes.
/// </summary>
internal sealed class RandomContent(long length, int seed) : Stream
{
    private readonly Random random = new(seed);
    private long position;

    /// <summary>The SHA-256 of the bytes <c>new RandomContent(length, seed)</c> yields.</summary>
    public static byte[] Sha256(long length, int seed)
    {
        using var content = new RandomContent(length, seed);
        return SHA256.HashData(content);
    }

    /// <summary>A body of exactly <paramref name="length"/> bytes, sent with Content-Length.</summary>
    public static HttpContent Sized(long length, int seed) => new StreamContent(new RandomContent(length, seed))
    {
        Headers = { ContentLength = length },
    };

    /// <summary>A body of <paramref name="length"/> bytes sent chunked, so the server cannot know its size before reading it.</summary>
    public static HttpContent Chunked(long length, int seed) => new StreamContent(new RandomContent(length, seed));

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => position; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = (int)Math.Min(buffer.Length, length - position);
        random.NextBytes(buffer[..n]);
        position += n;
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(Read(buffer, offset, count));

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>
/// An upload that sends its first part, then waits for <see cref="Release"/> before sending the rest: an upload caught
/// in the middle, for as long as a test needs.
/// </summary>
internal sealed class GatedContent(byte[] bytes, int sentBeforeGate) : HttpContent
{
    private readonly TaskCompletionSource gate = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Release() => gate.TrySetResult();

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
    {
        await stream.WriteAsync(bytes.AsMemory(0, sentBeforeGate));
        await stream.FlushAsync();
        await gate.Task;
        await stream.WriteAsync(bytes.AsMemory(sentBeforeGate));
    }

    protected override bool TryComputeLength(out long length)
    {
        length = bytes.Length;
        return true;
    }
}

/// <summary>Requests the stores' URLs are made for, as a client would send them.</summary>
internal static class Http
{
    public static HttpRequestMessage Request(Domain.Media.PresignedRequest presigned, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(new HttpMethod(presigned.Method), presigned.Url) { Content = content };
        foreach (var (name, value) in presigned.Headers)
            if (!request.Headers.TryAddWithoutValidation(name, value))
                content?.Headers.TryAddWithoutValidation(name, value);
        return request;
    }

    public static HttpRequestMessage Get(Uri url, string? range = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (range is not null)
            request.Headers.Range = RangeHeaderValue.Parse(range);
        return request;
    }

    /// <summary>The SHA-256 and length of a response body, read as a stream.</summary>
    public static async Task<(long Length, byte[] Sha256)> HashBodyAsync(HttpResponseMessage response)
    {
        await using var body = await response.Content.ReadAsStreamAsync();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[81920];
        long length = 0;
        int read;
        while ((read = await body.ReadAsync(buffer)) > 0)
        {
            hash.AppendData(buffer, 0, read);
            length += read;
        }
        return (length, hash.GetHashAndReset());
    }
}
