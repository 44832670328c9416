using System.Security.Cryptography;
using Akka.WhatsApp.Client;
using Akka.WhatsApp.Client.Media;
using Akka.WhatsApp.Domain.Media;
using Akka.WhatsApp.Host;
using Akka.WhatsApp.Media.S3;
using Akka.WhatsApp.Protocol;
using Akka.WhatsApp.Testing;
using Google.Protobuf;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using static Akka.WhatsApp.Integration.Tests.TestUsers;

namespace Akka.WhatsApp.Integration.Tests;

/// <summary>A node on SQLite with the embedded default media store: the local disk behind its own signed-URL HTTP port.</summary>
public sealed class LocalMediaNode() : MediaNode(JournalKind.Sqlite, s3: false);

/// <summary>A node on PostgreSQL with the S3 media store, against the s3rver that ./build.sh test starts.</summary>
public sealed class S3MediaNode() : MediaNode(JournalKind.Postgres, s3: true);

public abstract class MediaNode(JournalKind journal, bool s3) : IAsyncLifetime
{
    /// <summary>A low upload rate, so that the rate limit is reached in a test; each test uses its own users.</summary>
    public const int UploadsPerMinute = 8;

    public WhatsAppNode Node { get; private set; } = null!;
    public HostSettings Settings { get; private set; } = null!;
    public ShiftedTime Time { get; } = new();
    public bool S3 => s3;

    public MediaService Media => Node.App.Services.GetRequiredService<MediaService>();

    public async Task InitializeAsync()
    {
        var settings = await TestNodes.SettingsAsync(journal);
        Settings = settings with
        {
            Media = settings.Media with
            {
                UploadsPerMinute = UploadsPerMinute,
                S3 = s3 ? new S3MediaOptions
                {
                    Endpoint = TestS3.Endpoint, AccessKey = TestS3.AccessKey, SecretKey = TestS3.SecretKey, Bucket = TestS3.NewBucket("wa-it"), CreateBucket = true,
                } : null,
            },
        };
        await StartAsync();
    }

    protected async Task StartAsync() => Node = await TestNodes.StartAsync(Settings, Time);

    public async Task DisposeAsync() => await Node.DisposeAsync();
}

public sealed class LocalMediaSpec(LocalMediaNode node) : MediaSpec(node), IClassFixture<LocalMediaNode>;

public sealed class S3MediaSpec(S3MediaNode node) : MediaSpec(node), IClassFixture<S3MediaNode>;

/// <summary>
/// Media end to end (PROTOCOL.md §12) through a real node and a real store: the SDK encrypts, reserves, uploads to the
/// presigned URL and completes; the recipient gets the reference inside a message, downloads (resuming with Range)
/// and gets the same bytes. The server checks what was uploaded and refuses what does not match.
/// </summary>
public abstract class MediaSpec(MediaNode fixture) : IAsyncLifetime
{
    private static readonly HttpClient Http = new();
    private readonly string _folder = Directory.CreateTempSubdirectory("wa-media-it-").FullName;
    private readonly List<WhatsAppClient> _clients = [];

    private async Task<WhatsAppClient> UserAsync()
    {
        var client = await ConnectAsync(fixture.Node, await RegisterAsync(fixture.Node));
        _clients.Add(client);
        return client;
    }

    /// <summary>Deterministic pseudo-random bytes (a seeded stream): the same seed gives the same file.</summary>
    private static byte[] Bytes(int size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    [Theory]
    [InlineData(1 << 20)]
    [InlineData(50 << 20)]
    public async Task A_file_sent_as_media_arrives_identical_and_the_store_holds_only_ciphertext(int size)
    {
        var (alice, bob) = (await UserAsync(), await UserAsync());
        var file = Bytes(size, size);
        var reference = await new MediaTransfer(alice, Http).UploadAsync(new MemoryStream(file), size > 16 << 20 ? MediaKind.Document : MediaKind.Image,
            new MediaReference { MimeType = "application/octet-stream", FileName = "data.bin", Caption = "look" });
        Assert.Equal((ulong)size, reference.FileLength);
        Assert.Equal((ulong)MediaCipher.EncryptedLengthOf(size), reference.EncLength);

        await alice.SendAsync(bob.Credentials.UserId, reference.ToByteArray(), ContentKind.Document);
        var got = MediaReference.Parser.ParseFrom((await bob.NextAsync<MessageReceived>()).Single().Deliver.Ciphertext);
        Assert.Equal((reference.MediaId, "look", "data.bin"), (got.MediaId, got.Caption, got.FileName));

        var path = Path.Combine(_folder, $"received-{size}.bin");
        await new MediaTransfer(bob, Http).DownloadAsync(got, path);
        Assert.Equal(SHA256.HashData(file), SHA256.HashData(await File.ReadAllBytesAsync(path)));
        Assert.False(File.Exists(path + ".blob"));

        // What the store holds is the blob, not the file: fetched raw through a download URL.
        var url = (await bob.RequestAsync(new Frame { RequestDownloadUrl = new RequestDownloadUrl { MediaId = got.MediaId } })).DownloadUrl;
        using var ranged = new HttpRequestMessage(HttpMethod.Get, url.Url) { Headers = { Range = new System.Net.Http.Headers.RangeHeaderValue(0, 4095) } };
        var stored = await (await Http.SendAsync(ranged)).Content.ReadAsByteArrayAsync();
        Assert.Equal(4096, stored.Length);
        Assert.NotEqual(file.AsSpan(0, 4096).ToArray(), stored);
        Assert.Equal((ulong)MediaCipher.EncryptedLengthOf(size), url.Size);
    }

    [Fact]
    public async Task An_interrupted_download_resumes_where_it_stopped()
    {
        var alice = await UserAsync();
        var file = Bytes(3 << 20, 3);
        var reference = await new MediaTransfer(alice, Http).UploadAsync(new MemoryStream(file), MediaKind.Video);
        var path = Path.Combine(_folder, "resumed.bin");
        using (var stop = new CancellationTokenSource())
        {
            var progress = new SynchronousProgress(p =>
            {
                if (p.Done >= 1 << 20)
                    stop.Cancel();
            });
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new MediaTransfer(alice, Http).DownloadAsync(reference, path, progress, stop.Token));
        }
        var partial = new FileInfo(path + ".blob").Length;
        Assert.InRange(partial, 1 << 20, (3 << 20) - 1);
        Assert.False(File.Exists(path));

        var first = -1L;
        await new MediaTransfer(alice, Http).DownloadAsync(reference, path, new SynchronousProgress(p =>
        {
            if (first < 0)
                first = p.Done;
        }));
        Assert.Equal(partial, first); // asked the rest only, with Range
        Assert.Equal(SHA256.HashData(file), SHA256.HashData(await File.ReadAllBytesAsync(path)));
    }

    [Fact]
    public async Task An_upload_that_is_missing_or_differs_from_what_was_announced_is_refused_and_deleted()
    {
        var alice = await UserAsync();
        var blob = Bytes(10_000, 1);
        async Task<UploadUrl> ReserveAsync(byte[] sha, ulong size) => (await alice.RequestAsync(new Frame
        {
            RequestUploadUrl = new RequestUploadUrl { Size = size, Sha256 = ByteString.CopyFrom(sha), Kind = MediaKind.Image, MimeType = "image/jpeg" },
        })).UploadUrl;
        async Task<ErrorCode> CompleteAsync(string id) =>
            (await Assert.ThrowsAsync<ServerErrorException>(() => alice.RequestAsync(new Frame { UploadComplete = new UploadComplete { MediaId = id } }))).Code;

        var missing = await ReserveAsync(SHA256.HashData(blob), (ulong)blob.Length);
        Assert.Equal(ErrorCode.MediaNotUploaded, await CompleteAsync(missing.MediaId));

        var wrongHash = await ReserveAsync(SHA256.HashData(Bytes(10_000, 2)), (ulong)blob.Length);
        Assert.True((await PutAsync(wrongHash, blob)).IsSuccessStatusCode);
        Assert.Equal(ErrorCode.MediaNotUploaded, await CompleteAsync(wrongHash.MediaId));
        Assert.Null(await fixture.Media.Store.StatAsync(wrongHash.MediaId, CancellationToken.None)); // deleted
        Assert.Equal(ErrorCode.NotFound, await CompleteAsync(wrongHash.MediaId)); // and forgotten

        // A different size: the local store refuses the PUT itself (the size is signed); S3 takes it, the completion does not.
        var wrongSize = await ReserveAsync(SHA256.HashData(blob), (ulong)blob.Length + 1);
        var put = await PutAsync(wrongSize, blob);
        Assert.Equal(fixture.S3, put.IsSuccessStatusCode);
        Assert.Equal(ErrorCode.MediaNotUploaded, await CompleteAsync(wrongSize.MediaId));

        var right = await ReserveAsync(SHA256.HashData(blob), (ulong)blob.Length);
        Assert.True((await PutAsync(right, blob)).IsSuccessStatusCode);
        var bob = await UserAsync();
        Assert.Equal(ErrorCode.NotFound, (await Assert.ThrowsAsync<ServerErrorException>(() =>
            bob.RequestAsync(new Frame { UploadComplete = new UploadComplete { MediaId = right.MediaId } }))).Code); // not bob's upload
        var info = (await alice.RequestAsync(new Frame { UploadComplete = new UploadComplete { MediaId = right.MediaId } })).MediaInfo;
        Assert.Equal(((ulong)blob.Length, MediaKind.Image), (info.Size, info.Kind));
        Assert.InRange(DateTimeOffset.FromUnixTimeMilliseconds((long)info.RetainedUntil) - fixture.Time.GetUtcNow(), TimeSpan.FromDays(29.9), TimeSpan.FromDays(30));
        Assert.Equal(ErrorCode.NotFound, (await Assert.ThrowsAsync<ServerErrorException>(() =>
            bob.RequestAsync(new Frame { RequestDownloadUrl = new RequestDownloadUrl { MediaId = missing.MediaId } }))).Code); // never completed
    }

    [Fact]
    public async Task Sizes_kinds_hashes_and_the_upload_rate_are_checked()
    {
        var alice = await UserAsync();
        Task<ServerErrorException> Refused(RequestUploadUrl r) => Assert.ThrowsAsync<ServerErrorException>(() => alice.RequestAsync(new Frame { RequestUploadUrl = r }));
        var sha = ByteString.CopyFrom(new byte[32]);
        Assert.Equal(ErrorCode.MediaTooLarge, (await Refused(new() { Size = (16 << 20) + 1, Sha256 = sha, Kind = MediaKind.Image })).Code);
        Assert.Equal(ErrorCode.MediaTooLarge, (await Refused(new() { Size = 0, Sha256 = sha, Kind = MediaKind.Image })).Code);
        Assert.Equal(ErrorCode.InvalidArgument, (await Refused(new() { Size = 10, Sha256 = sha })).Code);
        Assert.Equal(ErrorCode.InvalidArgument, (await Refused(new() { Size = 10, Sha256 = ByteString.CopyFrom(new byte[31]), Kind = MediaKind.Image })).Code);
        Assert.Equal(ErrorCode.InvalidArgument, (await Refused(new() { Size = 10, Sha256 = sha, Kind = (MediaKind)77 })).Code);

        // A 100 MiB video is fine, a document up to 2 GiB too (nothing is uploaded: the reservation is what is checked).
        await alice.RequestAsync(new Frame { RequestUploadUrl = new() { Size = 100 << 20, Sha256 = sha, Kind = MediaKind.Video } });
        for (var i = 1; i < MediaNode.UploadsPerMinute; i++)
            await alice.RequestAsync(new Frame { RequestUploadUrl = new() { Size = 10, Sha256 = sha, Kind = MediaKind.Document } });
        var limited = await Refused(new() { Size = 10, Sha256 = sha, Kind = MediaKind.Document });
        Assert.Equal(ErrorCode.RateLimited, limited.Code);
        Assert.True(limited.Error.RetryAfterMs > 0);
        // Another user is not limited by alice's uploads.
        var bob = await UserAsync();
        await bob.RequestAsync(new Frame { RequestUploadUrl = new() { Size = 10, Sha256 = sha, Kind = MediaKind.Document } });
    }

    [Fact]
    public async Task A_profile_photo_is_served_only_to_those_its_owner_shows_it_to_and_a_replaced_one_is_deleted()
    {
        var (alice, bob) = (await UserAsync(), await UserAsync());
        async Task<string> PhotoAsync()
        {
            var jpeg = Bytes(3000, Random.Shared.Next());
            var url = (await alice.RequestAsync(new Frame
            {
                RequestUploadUrl = new() { Size = (ulong)jpeg.Length, Sha256 = ByteString.CopyFrom(SHA256.HashData(jpeg)), Kind = MediaKind.ProfilePhoto, MimeType = "image/jpeg" },
            })).UploadUrl;
            Assert.True((await PutAsync(url, jpeg)).IsSuccessStatusCode);
            await alice.RequestAsync(new Frame { UploadComplete = new UploadComplete { MediaId = url.MediaId } });
            return url.MediaId;
        }
        Task<Frame> SetPhotoAsync(string id) => alice.RequestAsync(new Frame { SetProfile = new SetProfile { PhotoMediaId = id } });
        async Task<ErrorCode?> DownloadAsync(WhatsAppClient who, string id)
        {
            try
            {
                await who.RequestAsync(new Frame { RequestDownloadUrl = new RequestDownloadUrl { MediaId = id } });
                return null;
            }
            catch (ServerErrorException e)
            {
                return e.Code;
            }
        }

        Assert.Equal(ErrorCode.InvalidArgument, (await Assert.ThrowsAsync<ServerErrorException>(() => SetPhotoAsync(MediaIds.New()))).Code);
        var first = await PhotoAsync();
        Assert.Equal(ErrorCode.NotFound, await DownloadAsync(bob, first)); // not her photo yet
        await SetPhotoAsync(first);
        Assert.Null(await DownloadAsync(bob, first));

        await alice.RequestAsync(new Frame { SetPrivacy = new SetPrivacy { Settings = new PrivacySettings { ProfilePhoto = Visibility.Nobody } } });
        Assert.Equal(ErrorCode.NotFound, await DownloadAsync(bob, first));
        Assert.Null(await DownloadAsync(alice, first));
        await alice.RequestAsync(new Frame { SetPrivacy = new SetPrivacy { Settings = new PrivacySettings { ProfilePhoto = Visibility.Everyone } } });

        var second = await PhotoAsync();
        await SetPhotoAsync(second);
        Assert.Null(await DownloadAsync(bob, second));
        Assert.Equal(ErrorCode.NotFound, await DownloadAsync(bob, first));
        await fixture.Media.SweepAsync(1000, CancellationToken.None);
        Assert.Null(await fixture.Media.Store.StatAsync(first, CancellationToken.None)); // the replaced photo is gone
        Assert.NotNull(await fixture.Media.Store.StatAsync(second, CancellationToken.None));
    }

    [Fact]
    public async Task A_group_icon_is_the_setters_own_upload_served_only_to_members_and_a_replaced_one_is_deleted()
    {
        var (alice, bob, carol) = (await UserAsync(), await UserAsync(), await UserAsync());
        var group = (await alice.CreateGroupAsync("icons", [bob.Credentials.UserId])).Group.GroupId;
        var (atAlice, atBob, atCarol) = (new MediaTransfer(alice, Http), new MediaTransfer(bob, Http), new MediaTransfer(carol, Http));
        var picture = Bytes(2500, 7);
        var first = await atAlice.UploadPublicAsync(picture, MediaKind.GroupIcon);
        async Task<ErrorCode?> Refused(Func<Task> act)
        {
            try
            {
                await act();
                return null;
            }
            catch (ServerErrorException e)
            {
                return e.Code;
            }
        }

        // Only one's own completed GROUP_ICON upload can become an icon: not a profile photo, not another user's upload.
        var photo = await atAlice.UploadPublicAsync(Bytes(100, 1), MediaKind.ProfilePhoto);
        Assert.Equal(ErrorCode.InvalidArgument, await Refused(() => alice.UpdateGroupAsync(group, iconMediaId: photo)));
        var bobs = await atBob.UploadPublicAsync(Bytes(100, 2), MediaKind.GroupIcon);
        Assert.Equal(ErrorCode.InvalidArgument, await Refused(() => alice.UpdateGroupAsync(group, iconMediaId: bobs)));
        Assert.Equal(ErrorCode.NotFound, await Refused(() => atBob.DownloadPublicAsync(first, group))); // not the group's icon yet

        Assert.Equal(first, (await alice.UpdateGroupAsync(group, iconMediaId: first)).IconMediaId);
        Assert.Equal(picture, await atBob.DownloadPublicAsync(first, group));
        Assert.Equal(ErrorCode.NotFound, await Refused(() => atBob.DownloadPublicAsync(first))); // the group must be named
        Assert.Equal(ErrorCode.NotFound, await Refused(() => atCarol.DownloadPublicAsync(first, group))); // not a member
        Assert.Equal(ErrorCode.NotFound, await Refused(() => atCarol.DownloadPublicAsync(first, "not-a-group-id")));

        // Bob, a member, sets his own icon: the one it replaces is released and swept, though Alice uploaded it.
        var second = await atBob.UploadPublicAsync(Bytes(1200, 3), MediaKind.GroupIcon);
        Assert.Equal(second, (await bob.UpdateGroupAsync(group, iconMediaId: second)).IconMediaId);
        Assert.Equal(ErrorCode.NotFound, await Refused(() => atBob.DownloadPublicAsync(first, group)));
        await fixture.Media.SweepAsync(1000, CancellationToken.None);
        Assert.Null(await fixture.Media.Store.StatAsync(first, CancellationToken.None));
        Assert.NotNull(await fixture.Media.Store.StatAsync(second, CancellationToken.None));

        // A removed member no longer gets it (an uploader always gets their own upload); removing the icon releases it too.
        var third = await atAlice.UploadPublicAsync(Bytes(900, 4), MediaKind.GroupIcon);
        await alice.UpdateGroupAsync(group, iconMediaId: third);
        Assert.Equal(Bytes(900, 4), await atBob.DownloadPublicAsync(third, group));
        await alice.RemoveMembersAsync(group, [bob.Credentials.UserId]);
        Assert.Equal(ErrorCode.NotFound, await Refused(() => atBob.DownloadPublicAsync(third, group)));
        Assert.Equal("", (await alice.UpdateGroupAsync(group, iconMediaId: "")).IconMediaId);
        await fixture.Media.SweepAsync(1000, CancellationToken.None);
        Assert.Null(await fixture.Media.Store.StatAsync(second, CancellationToken.None));
        Assert.Null(await fixture.Media.Store.StatAsync(third, CancellationToken.None));
    }

    [Fact]
    public async Task Auto_download_settings_are_kept_with_the_account_for_all_its_devices()
    {
        var credentials = await RegisterAsync(fixture.Node);
        await using var phone = await ConnectAsync(fixture.Node, credentials);
        var defaults = await AutoDownload.GetAsync(phone);
        Assert.True(defaults.IsDefault);
        Assert.True(AutoDownload.Allows(defaults, NetworkClass.Wifi, MediaKind.Video, 50 << 20));
        Assert.False(AutoDownload.Allows(defaults, NetworkClass.Cellular, MediaKind.Video, 1));
        Assert.False(AutoDownload.Allows(defaults, NetworkClass.Roaming, MediaKind.Image, 1));

        await AutoDownload.SetAsync(phone, new MediaSettings
        {
            AutoDownload = { new AutoDownloadRule { Network = NetworkClass.Cellular, Kinds = { MediaKind.Image, MediaKind.Video }, MaxBytes = 5 << 20 } },
        });
        await phone.DisposeAsync();
        await using var later = await ConnectAsync(fixture.Node, credentials); // another session (another device reads the same account)
        var kept = await AutoDownload.GetAsync(later);
        Assert.False(kept.IsDefault);
        Assert.True(AutoDownload.Allows(kept, NetworkClass.Cellular, MediaKind.Video, 5 << 20));
        Assert.False(AutoDownload.Allows(kept, NetworkClass.Cellular, MediaKind.Video, (5 << 20) + 1));
        Assert.False(AutoDownload.Allows(kept, NetworkClass.Wifi, MediaKind.Image, 1)); // no rule for Wi-Fi any more

        foreach (var bad in new[]
                 {
                     new MediaSettings { AutoDownload = { new AutoDownloadRule { Kinds = { MediaKind.Image } } } },
                     new MediaSettings { AutoDownload = { new AutoDownloadRule { Network = NetworkClass.Wifi }, new AutoDownloadRule { Network = NetworkClass.Wifi } } },
                     new MediaSettings { AutoDownload = { new AutoDownloadRule { Network = NetworkClass.Wifi, Kinds = { (MediaKind)99 } } } },
                 })
            Assert.Equal(ErrorCode.InvalidArgument, (await Assert.ThrowsAsync<ServerErrorException>(() => AutoDownload.SetAsync(later, bad))).Code);
    }

    private static async Task<HttpResponseMessage> PutAsync(UploadUrl url, byte[] bytes)
    {
        using var request = new HttpRequestMessage(new HttpMethod(url.Method), url.Url) { Content = new ByteArrayContent(bytes) };
        foreach (var header in url.Headers)
            request.Content.Headers.TryAddWithoutValidation(header.Name, header.Value);
        return await Http.SendAsync(request);
    }

    /// <summary>An IProgress that reports on the caller's thread (Progress&lt;T&gt; posts to the thread pool, too late to cancel at a byte count).</summary>
    private sealed class SynchronousProgress(Action<MediaProgress> report) : IProgress<MediaProgress>
    {
        public void Report(MediaProgress value) => report(value);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var client in _clients)
            await client.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }
}

/// <summary>A node of its own for the tests that move its clock by weeks or restart it.</summary>
public sealed class RetentionMediaNode() : MediaNode(JournalKind.Sqlite, s3: false)
{
    public async Task RestartAsync()
    {
        await Node.DisposeAsync();
        await StartAsync();
    }
}

/// <summary>Media expiry and restarts: the catalog, not a node's memory, says what is kept.</summary>
public sealed class MediaRetentionSpec(RetentionMediaNode fixture) : IClassFixture<RetentionMediaNode>
{
    private static readonly HttpClient Http = new();

    private static async Task<(UploadUrl Url, byte[] Blob)> ReserveAsync(WhatsAppClient client, MediaKind kind)
    {
        var blob = RandomNumberGenerator.GetBytes(5000);
        var url = (await client.RequestAsync(new Frame
        {
            RequestUploadUrl = new RequestUploadUrl { Size = (ulong)blob.Length, Sha256 = ByteString.CopyFrom(SHA256.HashData(blob)), Kind = kind },
        })).UploadUrl;
        return (url, blob);
    }

    private static async Task PutAsync(UploadUrl url, byte[] blob) =>
        (await Http.SendAsync(new HttpRequestMessage(HttpMethod.Put, url.Url) { Content = new ByteArrayContent(blob) })).EnsureSuccessStatusCode();

    [Fact]
    public async Task Expired_media_and_abandoned_uploads_are_swept_from_the_store_and_the_catalog_and_an_upload_survives_a_restart()
    {
        var credentials = await RegisterAsync(fixture.Node);
        await using (var alice = await ConnectAsync(fixture.Node, credentials))
        {
            // Uploaded before a restart, completed after it.
            var (survivor, blob) = await ReserveAsync(alice, MediaKind.Image);
            await PutAsync(survivor, blob);
            await alice.DisposeAsync();
            await fixture.RestartAsync();
            await using var again = await ConnectAsync(fixture.Node, credentials);
            var info = (await again.RequestAsync(new Frame { UploadComplete = new UploadComplete { MediaId = survivor.MediaId } })).MediaInfo;
            Assert.Equal((ulong)blob.Length, info.Size);

            var (status, statusBlob) = await ReserveAsync(again, MediaKind.Status);
            await PutAsync(status, statusBlob);
            await again.RequestAsync(new Frame { UploadComplete = new UploadComplete { MediaId = status.MediaId } });
            var (abandoned, _) = await ReserveAsync(again, MediaKind.Document);

            var media = fixture.Media;
            Assert.Equal(0, await media.SweepAsync(100, CancellationToken.None));
            fixture.Time.Advance(TimeSpan.FromHours(25)); // the status media and the abandoned upload are over
            Assert.Equal(2, await media.SweepAsync(100, CancellationToken.None));
            Assert.Null(await media.Store.StatAsync(status.MediaId, CancellationToken.None));
            Assert.Equal(ErrorCode.NotFound, (await Assert.ThrowsAsync<ServerErrorException>(() =>
                again.RequestAsync(new Frame { RequestDownloadUrl = new RequestDownloadUrl { MediaId = status.MediaId } }))).Code);
            Assert.Equal(ErrorCode.NotFound, (await Assert.ThrowsAsync<ServerErrorException>(() =>
                again.RequestAsync(new Frame { UploadComplete = new UploadComplete { MediaId = abandoned.MediaId } }))).Code);
            await again.RequestAsync(new Frame { RequestDownloadUrl = new RequestDownloadUrl { MediaId = survivor.MediaId } }); // chat media: 30 days

            fixture.Time.Advance(TimeSpan.FromDays(30));
            Assert.Equal(ErrorCode.NotFound, (await Assert.ThrowsAsync<ServerErrorException>(() =>
                again.RequestAsync(new Frame { RequestDownloadUrl = new RequestDownloadUrl { MediaId = survivor.MediaId } }))).Code);
            Assert.Equal(1, await media.SweepAsync(100, CancellationToken.None));
            Assert.Null(await media.Store.StatAsync(survivor.MediaId, CancellationToken.None));
        }
    }
}
