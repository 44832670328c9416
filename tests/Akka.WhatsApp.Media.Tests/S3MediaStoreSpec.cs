using System.Net;
using System.Security.Cryptography;
using Akka.WhatsApp.Domain.Media;
using Akka.WhatsApp.Media.S3;
using Xunit;

namespace Akka.WhatsApp.Media.Tests;

/// <summary>
/// The S3 store against a real S3-compatible server (s3rver, WA_TEST_S3), through the Minio client and presigned URLs
/// used with a plain HttpClient, as a mobile client would. s3rver does not verify SigV4 signatures, so expiry and
/// tampering are the local store's specs.
/// </summary>
public sealed class S3MediaStoreSpec : IAsyncLifetime
{
    private static readonly TimeSpan ValidFor = TimeSpan.FromMinutes(10);
    private static readonly CancellationToken None = CancellationToken.None;

    private readonly string bucket = TestS3Server.NewBucket();
    private readonly HttpClient http = new() { Timeout = TimeSpan.FromMinutes(2) };
    private S3MediaStore store = null!;

    public async Task InitializeAsync()
    {
        store = new S3MediaStore(TestS3Server.Options(bucket));
        await store.StartAsync(None);
    }

    public async Task DisposeAsync()
    {
        http.Dispose();
        await store.DisposeAsync();
    }

    [Fact]
    public async Task Start_creates_the_bucket_when_asked_and_refuses_a_missing_one_otherwise()
    {
        // InitializeAsync created `bucket`: a store that may not create it now starts on it.
        await using (var existing = new S3MediaStore(TestS3Server.Options(bucket, createBucket: false)))
            await existing.StartAsync(None);

        var missing = TestS3Server.NewBucket();
        await using var refusing = new S3MediaStore(TestS3Server.Options(missing, createBucket: false));
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => refusing.StartAsync(None));
        Assert.Contains(missing, error.Message);
        Assert.Contains("WA_S3_CREATE_BUCKET", error.Message);
    }

    [Fact]
    public async Task A_presigned_upload_is_stated_with_its_size_and_sha256()
    {
        var id = MediaIds.New();
        var bytes = RandomNumberGenerator.GetBytes(300_000);

        var upload = await store.UploadUrlAsync(id, bytes.Length, ValidFor, None);
        using var put = await http.SendAsync(Http.Request(upload, new ByteArrayContent(bytes)));

        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.Equal("PUT", upload.Method);
        Assert.InRange(upload.ExpiresAt, DateTimeOffset.UtcNow + ValidFor - TimeSpan.FromMinutes(1), DateTimeOffset.UtcNow + ValidFor + TimeSpan.FromSeconds(1));
        Assert.Contains("X-Amz-Expires=600", upload.Url.Query);
        var stored = await store.StatAsync(id, None);
        Assert.NotNull(stored);
        Assert.Equal(bytes.Length, stored.Size);
        Assert.Equal(SHA256.HashData(bytes), stored.Sha256);
    }

    [Fact]
    public async Task A_presigned_download_returns_the_bytes_and_serves_ranges()
    {
        var id = MediaIds.New();
        const int size = 5 * 1024 * 1024;
        using (var put = await http.SendAsync(Http.Request(await store.UploadUrlAsync(id, size, ValidFor, None), RandomContent.Sized(size, seed: 7))))
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var download = await store.DownloadUrlAsync(id, ValidFor, None);

        using (var get = await http.SendAsync(Http.Request(download), HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, get.StatusCode);
            var (length, sha256) = await Http.HashBodyAsync(get);
            Assert.Equal(size, length);
            Assert.Equal(RandomContent.Sha256(size, seed: 7), sha256);
        }

        // The Minio client's own ranged GetObject fails on the 206 (DESIGN.md §8): ranges go through the URL.
        var expected = new byte[size];
        await new RandomContent(size, seed: 7).ReadExactlyAsync(expected);
        using var range = await http.SendAsync(Http.Get(download.Url, "bytes=1000000-1000999"));
        Assert.Equal(HttpStatusCode.PartialContent, range.StatusCode);
        Assert.Equal($"bytes 1000000-1000999/{size}", range.Content.Headers.ContentRange?.ToString());
        Assert.Equal(expected[1_000_000..1_001_000], await range.Content.ReadAsByteArrayAsync());
        // Open-ended, not suffix: s3rver 3.7.1 reads "bytes=-100" as "bytes=0-100" (real S3 and MinIO do not).
        using var tail = await http.SendAsync(Http.Get(download.Url, $"bytes={size - 100}-"));
        Assert.Equal(HttpStatusCode.PartialContent, tail.StatusCode);
        Assert.Equal(expected[^100..], await tail.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task A_deleted_object_is_gone_and_deleting_again_is_fine()
    {
        var id = MediaIds.New();
        using (var put = await http.SendAsync(Http.Request(await store.UploadUrlAsync(id, 10, ValidFor, None), new ByteArrayContent(new byte[10]))))
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.NotNull(await store.StatAsync(id, None));

        await store.DeleteAsync(id, None);
        await store.DeleteAsync(id, None);

        Assert.Null(await store.StatAsync(id, None));
        using var get = await http.SendAsync(Http.Request(await store.DownloadUrlAsync(id, ValidFor, None)));
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
    }

    [Fact]
    public async Task An_unknown_id_is_stated_as_nothing()
    {
        Assert.Null(await store.StatAsync(MediaIds.New(), None));
        await store.DeleteAsync(MediaIds.New(), None);
    }

    [Fact]
    public async Task Malformed_ids_and_validities_are_refused_before_s3_is_asked()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => store.StatAsync("../other-bucket/x", None));
        await Assert.ThrowsAsync<ArgumentException>(() => store.UploadUrlAsync("x", 1, ValidFor, None));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.DownloadUrlAsync(MediaIds.New(), TimeSpan.FromDays(7) + TimeSpan.FromSeconds(1), None));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.DownloadUrlAsync(MediaIds.New(), TimeSpan.Zero, None));

        var shortest = await store.DownloadUrlAsync(MediaIds.New(), TimeSpan.FromMilliseconds(10), None);
        Assert.Contains("X-Amz-Expires=1&", shortest.Url.Query + "&");
    }
}
