using System.Net;
using System.Security.Cryptography;
using Akka.WhatsApp.Domain.Media;
using Akka.WhatsApp.Media.Local;
using Akka.WhatsApp.Testing;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Akka.WhatsApp.Media.Tests;

/// <summary>The embedded store on a real Kestrel port: signed URLs, streaming uploads with size limits, ranges, no half objects.</summary>
public sealed class LocalDiskMediaStoreSpec : IAsyncLifetime
{
    private static readonly TimeSpan ValidFor = TimeSpan.FromMinutes(10);
    private static readonly CancellationToken None = CancellationToken.None;

    private readonly string root = Path.Combine(Path.GetTempPath(), "wa-media-" + Guid.NewGuid().ToString("N"));
    private readonly FakeTimeProvider time = new(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly HttpClient http = new() { Timeout = TimeSpan.FromMinutes(2) };
    private readonly LocalDiskMediaStore store;

    public LocalDiskMediaStoreSpec()
    {
        store = new LocalDiskMediaStore(new LocalMediaOptions
        {
            Root = root,
            Secret = RandomNumberGenerator.GetBytes(32),
            Time = time,
            MaxObjectBytes = 64L * 1024 * 1024,
        });
    }

    public Task InitializeAsync() => store.StartAsync(None);

    public async Task DisposeAsync()
    {
        http.Dispose();
        await store.DisposeAsync();
        Directory.Delete(root, recursive: true);
    }

    [Fact]
    public async Task An_uploaded_object_is_stated_with_its_size_and_sha256()
    {
        var id = MediaIds.New();
        var bytes = RandomNumberGenerator.GetBytes(12_345);

        var upload = await store.UploadUrlAsync(id, bytes.Length, ValidFor, None);
        using var response = await http.SendAsync(Http.Request(upload, new ByteArrayContent(bytes)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("PUT", upload.Method);
        Assert.Equal(time.GetUtcNow() + ValidFor, upload.ExpiresAt);
        var stored = await store.StatAsync(id, None);
        Assert.NotNull(stored);
        Assert.Equal(bytes.Length, stored.Size);
        Assert.Equal(SHA256.HashData(bytes), stored.Sha256);
    }

    [Theory]
    [InlineData(1024 * 1024)]
    [InlineData(50 * 1024 * 1024)]
    public async Task A_download_returns_the_uploaded_bytes_unchanged(int size)
    {
        var id = MediaIds.New();
        var expected = RandomContent.Sha256(size, seed: size);

        using (var put = await http.SendAsync(Http.Request(await store.UploadUrlAsync(id, size, ValidFor, None), RandomContent.Sized(size, seed: size))))
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var download = await store.DownloadUrlAsync(id, ValidFor, None);
        using var get = await http.SendAsync(Http.Request(download), HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(size, get.Content.Headers.ContentLength);
        Assert.Contains("bytes", get.Headers.AcceptRanges);
        var (length, sha256) = await Http.HashBodyAsync(get);
        Assert.Equal(size, length);
        Assert.Equal(expected, sha256);
        Assert.Equal(expected, (await store.StatAsync(id, None))!.Sha256);
    }

    [Theory]
    [InlineData("bytes=1000-1999", 1000, 1999)]
    [InlineData("bytes=-500", 1_048_076, 1_048_575)]
    [InlineData("bytes=1048000-", 1_048_000, 1_048_575)]
    [InlineData("bytes=0-0", 0, 0)]
    public async Task A_range_request_returns_exactly_that_slice(string range, int first, int last)
    {
        var bytes = RandomNumberGenerator.GetBytes(1024 * 1024);
        var id = await UploadAsync(bytes);
        var download = await store.DownloadUrlAsync(id, ValidFor, None);

        using var response = await http.SendAsync(Http.Get(download.Url, range));

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal($"bytes {first}-{last}/{bytes.Length}", response.Content.Headers.ContentRange?.ToString());
        Assert.Equal(last - first + 1, response.Content.Headers.ContentLength);
        Assert.Equal(bytes[first..(last + 1)], await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task A_range_beyond_the_end_is_unsatisfiable()
    {
        var bytes = RandomNumberGenerator.GetBytes(4096);
        var id = await UploadAsync(bytes);
        var download = await store.DownloadUrlAsync(id, ValidFor, None);

        using var response = await http.SendAsync(Http.Get(download.Url, "bytes=4096-"));

        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, response.StatusCode);
        Assert.Equal("bytes */4096", response.Content.Headers.ContentRange?.ToString());
    }

    [Theory]
    [InlineData("sig")]
    [InlineData("size")]
    [InlineData("expires")]
    [InlineData("id")]
    public async Task An_upload_url_with_any_part_changed_is_forbidden(string part)
    {
        var id = MediaIds.New();
        var upload = await store.UploadUrlAsync(id, 100, ValidFor, None);
        var url = Tamper(upload.Url, part);

        using var response = await http.PutAsync(url, new ByteArrayContent(new byte[100]));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Null(await store.StatAsync(id, None));
        Assert.Empty(Files());
    }

    [Theory]
    [InlineData("sig")]
    [InlineData("expires")]
    [InlineData("id")]
    public async Task A_download_url_with_any_part_changed_is_forbidden(string part)
    {
        var id = await UploadAsync(RandomNumberGenerator.GetBytes(100));
        var download = await store.DownloadUrlAsync(id, ValidFor, None);

        using var response = await http.GetAsync(Tamper(download.Url, part));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task An_expired_url_is_forbidden_and_one_still_valid_is_not()
    {
        var id = await UploadAsync(RandomNumberGenerator.GetBytes(100));
        var download = await store.DownloadUrlAsync(id, ValidFor, None);
        var other = MediaIds.New();
        var upload = await store.UploadUrlAsync(other, 10, ValidFor, None);

        time.Advance(ValidFor - TimeSpan.FromMilliseconds(1));
        using (var stillValid = await http.GetAsync(download.Url))
            Assert.Equal(HttpStatusCode.OK, stillValid.StatusCode);
        time.Advance(TimeSpan.FromMilliseconds(1));

        using var get = await http.GetAsync(download.Url);
        using var put = await http.PutAsync(upload.Url, new ByteArrayContent(new byte[10]));
        Assert.Equal(HttpStatusCode.Forbidden, get.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, put.StatusCode);
        Assert.Null(await store.StatAsync(other, None));
    }

    [Fact]
    public async Task A_url_used_with_another_method_is_forbidden()
    {
        var id = await UploadAsync(RandomNumberGenerator.GetBytes(100));
        var download = await store.DownloadUrlAsync(id, ValidFor, None);
        var fresh = MediaIds.New();
        var upload = await store.UploadUrlAsync(fresh, 100, ValidFor, None);

        using var putWithGetUrl = await http.PutAsync(download.Url, new ByteArrayContent(new byte[100]));
        using var getWithPutUrl = await http.GetAsync(upload.Url);
        using var deleteWithGetUrl = await http.DeleteAsync(download.Url);
        using var postWithPutUrl = await http.PostAsync(upload.Url, new ByteArrayContent(new byte[100]));

        Assert.Equal(HttpStatusCode.Forbidden, putWithGetUrl.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, getWithPutUrl.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, deleteWithGetUrl.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, postWithPutUrl.StatusCode);
        Assert.NotNull(await store.StatAsync(id, None));
        Assert.Null(await store.StatAsync(fresh, None));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_upload_of_more_bytes_than_signed_is_refused_and_nothing_is_stored(bool chunked)
    {
        var id = MediaIds.New();
        var upload = await store.UploadUrlAsync(id, 1000, ValidFor, None);
        // Chunked, the server only learns the size by reading: it stops at the first byte over the signed size.
        var body = chunked ? RandomContent.Chunked(200_000, seed: 1) : RandomContent.Sized(1001, seed: 1);

        using var response = await http.SendAsync(Http.Request(upload, body));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Null(await store.StatAsync(id, None));
        Assert.Empty(Files());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_upload_of_fewer_bytes_than_signed_is_refused_and_nothing_is_stored(bool chunked)
    {
        var id = MediaIds.New();
        var upload = await store.UploadUrlAsync(id, 1000, ValidFor, None);
        var body = chunked ? RandomContent.Chunked(999, seed: 2) : RandomContent.Sized(999, seed: 2);

        using var response = await http.SendAsync(Http.Request(upload, body));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Null(await store.StatAsync(id, None));
        Assert.Empty(Files());
    }

    [Fact]
    public async Task An_upload_in_progress_is_invisible_until_it_is_complete()
    {
        var id = MediaIds.New();
        var bytes = RandomNumberGenerator.GetBytes(256 * 1024);
        var content = new GatedContent(bytes, sentBeforeGate: 100 * 1024);
        var download = await store.DownloadUrlAsync(id, ValidFor, None);

        var uploading = http.SendAsync(Http.Request(await store.UploadUrlAsync(id, bytes.Length, ValidFor, None), content));
        await Eventually.Until(() => Files().Any(f => f.EndsWith(".part", StringComparison.Ordinal) && new FileInfo(f).Length == 100 * 1024),
            TimeSpan.FromSeconds(20), "the first 100 KiB of the upload to reach the disk", () => string.Join(", ", Files()));

        Assert.Null(await store.StatAsync(id, None));
        using (var during = await http.GetAsync(download.Url))
            Assert.Equal(HttpStatusCode.NotFound, during.StatusCode);

        content.Release();
        using var put = await uploading;
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.Equal(bytes.Length, (await store.StatAsync(id, None))?.Size);
        using var after = await http.GetAsync(download.Url);
        Assert.Equal(bytes, await after.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task An_upload_over_a_stored_object_conflicts_and_leaves_it_unchanged()
    {
        var bytes = RandomNumberGenerator.GetBytes(100);
        var id = await UploadAsync(bytes);

        var again = await store.UploadUrlAsync(id, 100, ValidFor, None);
        using var response = await http.SendAsync(Http.Request(again, new ByteArrayContent(new byte[100])));

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal(SHA256.HashData(bytes), (await store.StatAsync(id, None))?.Sha256);
    }

    [Fact]
    public async Task Deleting_is_idempotent_and_the_object_is_gone_afterwards()
    {
        var id = await UploadAsync(RandomNumberGenerator.GetBytes(100));
        var download = await store.DownloadUrlAsync(id, ValidFor, None);

        await store.DeleteAsync(id, None);
        await store.DeleteAsync(id, None);
        await store.DeleteAsync(MediaIds.New(), None);

        Assert.Null(await store.StatAsync(id, None));
        using var response = await http.GetAsync(download.Url);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Empty(Files());
    }

    [Fact]
    public async Task Objects_are_readable_by_the_owner_only()
    {
        if (OperatingSystem.IsWindows())
            return; // no Unix file modes there
        var id = await UploadAsync(RandomNumberGenerator.GetBytes(100));

        var files = Files();
        Assert.Equal(2, files.Count); // the data and its sidecar
        foreach (var file in files)
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute,
            File.GetUnixFileMode(Path.Combine(root, id[..2])));
    }

    [Fact]
    public async Task A_malformed_media_id_is_refused_by_the_api_and_unknown_over_http()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => store.StatAsync("../etc/passwd", None));
        await Assert.ThrowsAsync<ArgumentException>(() => store.UploadUrlAsync("ABCDEF", 1, ValidFor, None));
        await Assert.ThrowsAsync<ArgumentException>(() => store.DeleteAsync(MediaIds.New().ToUpperInvariant(), None));

        using var response = await http.GetAsync(new Uri(store.BaseUrl, "media/not-a-media-id?expires=1&sig=x"));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Urls_point_at_the_bound_port_and_size_and_validity_are_bounded()
    {
        var upload = await store.UploadUrlAsync(MediaIds.New(), 1, ValidFor, None);

        Assert.Equal(store.Port, upload.Url.Port);
        Assert.Equal("127.0.0.1", upload.Url.Host);
        Assert.StartsWith(store.BaseUrl + "media/", upload.Url.AbsoluteUri);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.UploadUrlAsync(MediaIds.New(), 64L * 1024 * 1024 + 1, ValidFor, None));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.UploadUrlAsync(MediaIds.New(), -1, ValidFor, None));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.DownloadUrlAsync(MediaIds.New(), TimeSpan.Zero, None));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.DownloadUrlAsync(MediaIds.New(), TimeSpan.FromDays(8), None));
    }

    [Fact]
    public async Task Urls_follow_the_public_base_url_and_a_store_bound_everywhere_hands_out_loopback()
    {
        var id = MediaIds.New();
        await using var proxied = new LocalDiskMediaStore(new LocalMediaOptions
        {
            Root = root, Secret = RandomNumberGenerator.GetBytes(32), Time = time, PublicBaseUrl = new Uri("https://media.example.org/wa"),
        });
        await proxied.StartAsync(None);
        await using var everywhere = new LocalDiskMediaStore(new LocalMediaOptions { Root = root, Secret = RandomNumberGenerator.GetBytes(32), BindAddress = "0.0.0.0" });
        await everywhere.StartAsync(None);

        Assert.StartsWith($"https://media.example.org/wa/media/{id}?expires=", (await proxied.DownloadUrlAsync(id, ValidFor, None)).Url.AbsoluteUri);
        Assert.Equal(new Uri($"http://127.0.0.1:{everywhere.Port}/"), everywhere.BaseUrl);
        var upload = await everywhere.UploadUrlAsync(id, 3, ValidFor, None);
        using var response = await http.SendAsync(Http.Request(upload, new ByteArrayContent([1, 2, 3])));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public void A_short_secret_is_refused()
    {
        Assert.Throws<ArgumentException>(() => new LocalDiskMediaStore(new LocalMediaOptions { Root = root, Secret = new byte[31] }));
    }

    private async Task<string> UploadAsync(byte[] bytes)
    {
        var id = MediaIds.New();
        using var response = await http.SendAsync(Http.Request(await store.UploadUrlAsync(id, bytes.Length, ValidFor, None), new ByteArrayContent(bytes)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return id;
    }

    private List<string> Files() => Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).ToList();

    /// <summary>The URL with one part changed: the signature, a query value, or the media id in the path.</summary>
    private static Uri Tamper(Uri url, string part)
    {
        var builder = new UriBuilder(url);
        if (part == "id")
        {
            builder.Path = "/media/" + MediaIds.New();
            return builder.Uri;
        }
        var query = System.Web.HttpUtility.ParseQueryString(builder.Query);
        query[part] = part switch
        {
            "sig" => Flip(query[part]!),
            _ => (long.Parse(query[part]!, System.Globalization.CultureInfo.InvariantCulture) + 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        builder.Query = query.ToString();
        return builder.Uri;
    }

    private static string Flip(string signature) => (signature[0] == 'A' ? "B" : "A") + signature[1..];
}
