using System.Security.Cryptography;
using Akka.WhatsApp.Domain.Media;
using Minio;
using Minio.DataModel.Args;
using Minio.Exceptions;

namespace Akka.WhatsApp.Media.S3;

/// <summary>
/// The production media store: one bucket of an S3-compatible server, objects named by media id, reached by clients
/// through presigned URLs (SigV4). A presigned PUT does not bind the size: the server checks what arrived with
/// <see cref="StatAsync"/>, which hashes the object itself (a presigned GET) because S3 keeps no SHA-256 we could trust. Ranged reads
/// go through the presigned GET with a Range header (the Minio 7.0.0 client's own ranged GetObject fails on 206).
/// </summary>
public sealed class S3MediaStore : IMediaStore
{
    private readonly S3MediaOptions options;
    private readonly IMinioClient client;

    /// <summary>Reads objects back for <see cref="StatAsync"/> through presigned URLs (connections pooled; no overall timeout for large objects).</summary>
    private readonly HttpClient reader = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = Timeout.InfiniteTimeSpan };

    public S3MediaStore(S3MediaOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Endpoint, nameof(options.Endpoint));
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Bucket, nameof(options.Bucket));
        if (options.Endpoint.Contains("://", StringComparison.Ordinal))
            throw new ArgumentException($"S3 endpoint '{options.Endpoint}' must be host:port, without a scheme (UseTls chooses https)", nameof(options));
        this.options = options;
        client = new MinioClient()
            .WithEndpoint(options.Endpoint)
            .WithCredentials(options.AccessKey, options.SecretKey)
            .WithRegion(options.Region)
            .WithSSL(options.UseTls)
            .Build();
    }

    public string Name => "s3";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (await BucketExistsAsync(cancellationToken))
            return;
        if (!options.CreateBucket)
            throw new InvalidOperationException(
                $"the S3 bucket '{options.Bucket}' does not exist at {options.Endpoint}: create it, or let the node do so (WA_S3_CREATE_BUCKET=true)");
        try
        {
            await client.MakeBucketAsync(new MakeBucketArgs().WithBucket(options.Bucket).WithLocation(options.Region), cancellationToken);
        }
        catch (MinioException)
        {
            if (!await BucketExistsAsync(cancellationToken))
                throw;
            // another node created it at the same time
        }
    }

    public async Task<PresignedRequest> UploadUrlAsync(string mediaId, long size, TimeSpan validFor, CancellationToken cancellationToken)
    {
        MediaArguments.CheckMediaId(mediaId);
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        var (seconds, expiresAt) = Expiry(validFor);
        var url = await client.PresignedPutObjectAsync(new PresignedPutObjectArgs().WithBucket(options.Bucket).WithObject(mediaId).WithExpiry(seconds));
        return new PresignedRequest("PUT", new Uri(url), [], expiresAt);
    }

    public async Task<PresignedRequest> DownloadUrlAsync(string mediaId, TimeSpan validFor, CancellationToken cancellationToken)
    {
        MediaArguments.CheckMediaId(mediaId);
        var (seconds, expiresAt) = Expiry(validFor);
        var url = await client.PresignedGetObjectAsync(new PresignedGetObjectArgs().WithBucket(options.Bucket).WithObject(mediaId).WithExpiry(seconds));
        return new PresignedRequest("GET", new Uri(url), [], expiresAt);
    }

    public async Task<StoredObject?> StatAsync(string mediaId, CancellationToken cancellationToken)
    {
        MediaArguments.CheckMediaId(mediaId);
        // One presigned GET through a pooled HttpClient, hashed as it streams. Minio's GetObjectAsync stats the
        // object first and then reads it (with a stat of ours before, three requests): measured with 50 concurrent
        // 1 MB uploads on s3rver, UploadComplete took p50 3.7 s that way. Size and hash both come from the bytes
        // streamed here, so that they describe the same object even if it was replaced meanwhile.
        var url = await client.PresignedGetObjectAsync(new PresignedGetObjectArgs().WithBucket(options.Bucket).WithObject(mediaId).WithExpiry(60));
        using var response = await reader.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
            return null;
        if (!response.IsSuccessStatusCode)
            throw new IOException($"the S3 store answered {(int)response.StatusCode} {response.ReasonPhrase} reading {mediaId} back");
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var counting = new CountingStream(body);
        var sha256 = await SHA256.HashDataAsync(counting, cancellationToken);
        return new StoredObject(counting.BytesRead, sha256);
    }

    public async Task DeleteAsync(string mediaId, CancellationToken cancellationToken)
    {
        MediaArguments.CheckMediaId(mediaId);
        try
        {
            await client.RemoveObjectAsync(new RemoveObjectArgs().WithBucket(options.Bucket).WithObject(mediaId), cancellationToken);
        }
        catch (ObjectNotFoundException)
        {
            // already gone (S3 itself answers 204 either way)
        }
    }

    public ValueTask DisposeAsync()
    {
        client.Dispose();
        reader.Dispose();
        return ValueTask.CompletedTask;
    }

    private Task<bool> BucketExistsAsync(CancellationToken cancellationToken) =>
        client.BucketExistsAsync(new BucketExistsArgs().WithBucket(options.Bucket), cancellationToken);

    /// <summary>S3 presigns in whole seconds: rounded up, so that a URL is never valid for less than asked.</summary>
    private static (int Seconds, DateTimeOffset ExpiresAt) Expiry(TimeSpan validFor)
    {
        MediaArguments.CheckValidity(validFor);
        var seconds = (int)Math.Ceiling(validFor.TotalSeconds);
        // Minio signs with the system clock, so the expiry is reckoned from it too.
        var now = DateTimeOffset.UtcNow;
        return (seconds, DateTimeOffset.FromUnixTimeSeconds(now.ToUnixTimeSeconds() + seconds));
    }

    /// <summary>A read-only pass-through that counts the bytes read.</summary>
    private sealed class CountingStream(Stream inner) : Stream
    {
        public long BytesRead { get; private set; }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => BytesRead; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer, cancellationToken));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private int Count(int read)
        {
            BytesRead += read;
            return read;
        }
    }
}
