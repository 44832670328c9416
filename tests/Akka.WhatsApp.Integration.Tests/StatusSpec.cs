using System.Security.Cryptography;
using System.Text;
using Akka.WhatsApp.Client;
using Akka.WhatsApp.Domain.Media;
using Akka.WhatsApp.Host;
using Akka.WhatsApp.Protocol;
using Akka.WhatsApp.Testing;
using Google.Protobuf;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Xunit;
using static Akka.WhatsApp.Integration.Tests.TestUsers;

using Device = Akka.WhatsApp.Integration.Tests.BareDevice;

namespace Akka.WhatsApp.Integration.Tests;

/// <summary>A node whose clock the status tests move over the 24 hours; heartbeats far apart so that moving it closes nothing.</summary>
public sealed class StatusNodeFixture : IAsyncLifetime
{
    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    public WhatsAppNode Node { get; private set; } = null!;

    public async Task InitializeAsync() => Node = await TestNodes.StartAsync(await StatusSpec.SettingsAsync(JournalKind.Sqlite), Clock);

    public async Task DisposeAsync() => await Node.DisposeAsync();
}

/// <summary>
/// Status posts (PROTOCOL.md §14) on a real node over bare connections, so that what each device gets is visible: the
/// audience is who the poster encrypted for, less blocks either way; views are counted and named by read receipts;
/// deletion hints and removes; a post expires at 24 hours on the node's clock, also across a restart, with its
/// ciphertexts gone from the journal and its media released.
/// </summary>
public sealed class StatusSpec(StatusNodeFixture fixture) : IClassFixture<StatusNodeFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private static readonly HttpClient Http = new();
    private readonly List<IAsyncDisposable> _open = [];

    private WhatsAppNode Node => fixture.Node;

    private FakeTimeProvider Clock => fixture.Clock;

    /// <summary>Heartbeats an hour apart (the most allowed): moving the clock by minutes closes nothing; by a day, devices log in again.</summary>
    public static async Task<HostSettings> SettingsAsync(JournalKind journal) =>
        await TestNodes.SettingsAsync(journal) with { HeartbeatSeconds = 3600 };

    private async Task<Device> LoginAsync(Credentials credentials, WhatsAppNode? node = null)
    {
        var device = await BareDevice.LoginAsync(node ?? Node, credentials, "status-spec");
        _open.Add(device.Connection);
        return device;
    }

    private async Task<Device> OnlineAsync(WhatsAppNode? node = null) => await LoginAsync(await RegisterAsync(node ?? Node), node);

    /// <summary>A status for the given devices, each ciphertext naming the device it is for (what a client would encrypt).</summary>
    private static Frame Post(ByteString id, string marker, IEnumerable<Device> audience, ContentKind kind = ContentKind.Text, string mediaId = "")
    {
        var post = new PostStatus
        {
            StatusId = id, Kind = kind, MediaId = mediaId, PerDevice = new RecipientCiphertexts(),
            Audience = new StatusAudience { Mode = StatusAudienceMode.OnlyShareWith },
        };
        foreach (var d in audience)
        {
            post.Audience.UserIds.Add(d.User);
            post.PerDevice.Items.Add(new RecipientCiphertext
            {
                UserId = d.User,
                Device = new DeviceCiphertext { DeviceId = d.Id, Ciphertext = Ciphertext(marker, d), Type = CiphertextType.SignalMessage },
            });
        }
        return new Frame { PostStatus = post };
    }

    private static ByteString Ciphertext(string marker, Device d) => ByteString.CopyFromUtf8($"{marker} for {d.User}:{d.Id}");

    private static ByteString NewId() => ByteString.CopyFrom(Guid.NewGuid().ToByteArray());

    private static async Task<StatusFeed> FeedAsync(Device device) =>
        (await device.Connection.RequestAsync(new Frame { GetStatusFeed = new GetStatusFeed() })).StatusFeed;

    private static async Task<ErrorCode?> ErrorOfAsync(Device device, Frame frame)
    {
        try
        {
            await device.Connection.RequestAsync(frame);
            return null;
        }
        catch (ServerErrorException e)
        {
            return e.Code;
        }
    }

    /// <summary>The next StatusUpdated the device gets (other pushes are skipped).</summary>
    private static async Task<StatusUpdated> NextHintAsync(Device device)
    {
        using var timeout = new CancellationTokenSource(Wait);
        while (true)
            if (await device.Connection.Pushes.ReadAsync(timeout.Token) is { PacketCase: Frame.PacketOneofCase.StatusUpdated } push)
                return push.StatusUpdated;
    }

    /// <summary>Uploads <paramref name="bytes"/> as the device's STATUS media over the node's media store.</summary>
    private static async Task<string> UploadStatusMediaAsync(Device device, byte[] bytes)
    {
        var url = (await device.Connection.RequestAsync(new Frame
        {
            RequestUploadUrl = new RequestUploadUrl { Size = (ulong)bytes.Length, Sha256 = ByteString.CopyFrom(SHA256.HashData(bytes)), Kind = MediaKind.Status },
        })).UploadUrl;
        using var put = new HttpRequestMessage(HttpMethod.Put, url.Url) { Content = new ByteArrayContent(bytes) };
        foreach (var h in url.Headers)
            if (!put.Headers.TryAddWithoutValidation(h.Name, h.Value))
                put.Content.Headers.TryAddWithoutValidation(h.Name, h.Value);
        (await Http.SendAsync(put)).EnsureSuccessStatusCode();
        await device.Connection.RequestAsync(new Frame { UploadComplete = new UploadComplete { MediaId = url.MediaId } });
        return url.MediaId;
    }

    private static MediaRecord? Media(WhatsAppNode node, string id) =>
        node.App.Services.GetRequiredService<IMediaCatalog>().FindAsync(id, CancellationToken.None).GetAwaiter().GetResult();

    [Fact]
    public async Task A_post_is_seen_by_the_audience_devices_only_and_never_by_a_blocked_user()
    {
        var (alice, bob, carol, dave) = (await OnlineAsync(), await OnlineAsync(), await OnlineAsync(), await OnlineAsync());
        await dave.Connection.RequestAsync(new Frame { BlockUser = new BlockUser { UserId = alice.User } });
        var id = NewId();

        var posted = (await alice.Connection.RequestAsync(Post(id, "story", [bob, dave]))).StatusPosted;
        Assert.False(posted.Duplicate);
        Assert.Equal(posted.ServerTimestamp + 24 * 3600 * 1000UL, posted.ExpiresAt);

        var hint = await NextHintAsync(bob);
        Assert.Equal((alice.User, id, false), (hint.OwnerUserId, hint.StatusId, hint.Deleted));
        var item = Assert.Single((await FeedAsync(bob)).Items);
        Assert.Equal((alice.User, alice.Id, id), (item.OwnerUserId, item.OwnerDeviceId, item.StatusId));
        Assert.Equal(Ciphertext("story", bob), item.Ciphertext);
        Assert.Empty((await FeedAsync(carol)).Items); // not in the audience
        Assert.Empty((await FeedAsync(dave)).Items);  // blocked the poster: left out at post time
        Assert.Equal(ErrorCode.NotFound, await ErrorOfAsync(dave, new Frame { ViewStatus = new ViewStatus { OwnerUserId = alice.User, StatusIds = { id } } }));

        // The poster's own device sees its post (without a ciphertext: it encrypted for the others), with the audience it chose.
        var own = Assert.Single((await FeedAsync(alice)).Items);
        Assert.True(own.Ciphertext.IsEmpty);
        Assert.Contains(bob.User, own.Audience.UserIds);

        // A retry is the same post; a block made after the post hides it at fetch time.
        Assert.True((await alice.Connection.RequestAsync(Post(id, "story", [bob]))).StatusPosted.Duplicate);
        await bob.Connection.RequestAsync(new Frame { BlockUser = new BlockUser { UserId = alice.User } });
        Assert.Empty((await FeedAsync(bob)).Items);
    }

    [Fact]
    public async Task A_post_naming_stale_devices_is_refused_with_the_devices_to_fix()
    {
        var (alice, bob) = (await OnlineAsync(), await OnlineAsync());
        var wrong = bob with { Credentials = bob.Credentials with { DeviceId = 3 } };

        var error = await Assert.ThrowsAsync<ServerErrorException>(() => alice.Connection.RequestAsync(Post(NewId(), "stale", [wrong])));

        Assert.Equal(ErrorCode.StaleDevices, error.Code);
        var stale = Assert.Single(error.Error.StaleDevices);
        Assert.Equal(bob.User, stale.UserId);
        Assert.Equal([1u], stale.MissingDeviceIds);
        Assert.Equal([3u], stale.ExtraDeviceIds);

        // Encrypted for an install of bob's device that is not the current one (it published no keys: registration id 0).
        var reinstalled = Post(NewId(), "old install", [bob]);
        reinstalled.PostStatus.PerDevice.Items[0].Device.RegistrationId = 777;
        error = await Assert.ThrowsAsync<ServerErrorException>(() => alice.Connection.RequestAsync(reinstalled));
        Assert.Equal(ErrorCode.StaleDevices, error.Code);
        Assert.Equal([1u], Assert.Single(error.Error.StaleDevices).StaleDeviceIds);
        Assert.Empty((await FeedAsync(bob)).Items);
    }

    [Fact]
    public async Task Views_are_counted_and_viewers_with_read_receipts_off_are_counted_but_not_listed()
    {
        var (alice, bob, carol, dave) = (await OnlineAsync(), await OnlineAsync(), await OnlineAsync(), await OnlineAsync());
        await carol.Connection.RequestAsync(new Frame { SetPrivacy = new SetPrivacy { Settings = new PrivacySettings { ReadReceipts = false } } });
        var id = NewId();
        await alice.Connection.RequestAsync(Post(id, "viewed", [bob, carol]));
        Frame View(string owner) => new() { ViewStatus = new ViewStatus { OwnerUserId = owner, StatusIds = { id } } };

        Clock.Advance(TimeSpan.FromMinutes(1));
        await bob.Connection.RequestAsync(View(alice.User));
        await bob.Connection.RequestAsync(View(alice.User)); // once per viewer
        await carol.Connection.RequestAsync(View(alice.User));
        Assert.Equal(ErrorCode.NotFound, await ErrorOfAsync(dave, View(alice.User)));

        var viewers = (await alice.Connection.RequestAsync(new Frame { GetStatusViewers = new GetStatusViewers { StatusId = id } })).StatusViewers;
        Assert.Equal(2u, viewers.ViewCount);
        Assert.Equal([bob.User], viewers.Viewers.Select(v => v.UserId));
        Assert.True(Assert.Single((await FeedAsync(bob)).Items).Viewed);
        // Only the owner can list viewers: for anyone else the post is not theirs.
        Assert.Equal(ErrorCode.NotFound, await ErrorOfAsync(bob, new Frame { GetStatusViewers = new GetStatusViewers { StatusId = id } }));
    }

    [Fact]
    public async Task Deleting_a_post_hints_the_audience_removes_it_from_the_feed_and_releases_its_media()
    {
        var (alice, bob) = (await OnlineAsync(), await OnlineAsync());
        var media = await UploadStatusMediaAsync(alice, RandomNumberGenerator.GetBytes(4096));
        var id = NewId();
        var posted = (await alice.Connection.RequestAsync(Post(id, "deleted", [bob], ContentKind.Image, media))).StatusPosted;
        Assert.Equal(posted.ExpiresAt, (ulong)Media(Node, media)!.RetainedUntil!.Value.ToUnixTimeMilliseconds()); // kept exactly as long as the post
        Assert.False((await NextHintAsync(bob)).Deleted);

        await alice.Connection.RequestAsync(new Frame { DeleteStatus = new DeleteStatus { StatusId = id } });

        var hint = await NextHintAsync(bob);
        Assert.Equal((id, true), (hint.StatusId, hint.Deleted));
        Assert.Empty((await FeedAsync(bob)).Items);
        Assert.True(Media(Node, media)!.RetainedUntil <= Clock.GetUtcNow(), "the deleted post's media must be released for the sweeper");
        Assert.Equal(ErrorCode.NotFound, await ErrorOfAsync(alice, new Frame { DeleteStatus = new DeleteStatus { StatusId = id } }));
    }

    [Fact]
    public async Task A_post_needs_its_own_status_upload_as_media()
    {
        var (alice, bob) = (await OnlineAsync(), await OnlineAsync());
        var bobs = await UploadStatusMediaAsync(bob, RandomNumberGenerator.GetBytes(100));

        Assert.Equal(ErrorCode.InvalidArgument, await ErrorOfAsync(alice, Post(NewId(), "theft", [bob], ContentKind.Image, bobs)));
        Assert.Equal(ErrorCode.InvalidArgument, await ErrorOfAsync(alice, Post(NewId(), "none", [bob], ContentKind.Image)));
    }

    [Fact]
    public async Task A_post_expires_after_24_hours_with_its_ciphertexts_gone_from_the_journal_and_its_media_released()
    {
        var (alice, bob) = (await OnlineAsync(), await OnlineAsync());
        var media = await UploadStatusMediaAsync(alice, RandomNumberGenerator.GetBytes(2048));
        var marker = "expiring-" + Guid.NewGuid().ToString("N");
        await alice.Connection.RequestAsync(Post(NewId(), marker, [bob], ContentKind.Video, media));
        await NextHintAsync(bob);
        Assert.True(await JournalHoldsAsync(Node.Settings, alice.User, marker), "the post is stored while it lives");

        Clock.Advance(TimeSpan.FromHours(24) - TimeSpan.FromSeconds(1));
        bob = await LoginAsync(bob.Credentials); // the silence closed the connections
        Assert.Single((await FeedAsync(bob)).Items);

        Clock.Advance(TimeSpan.FromSeconds(2));
        await Eventually.Until(async () => (await FeedAsync(bob)).Items.Count == 0, Wait, "the post to leave the feed at 24 h");
        await Eventually.Until(() => Task.FromResult(Media(Node, media)?.RetainedUntil <= Clock.GetUtcNow()), Wait, "the media to be released");
        await Eventually.Until(async () => !await JournalHoldsAsync(Node.Settings, alice.User, marker), Wait, "the ciphertexts to be deleted from the journal");
        Assert.Empty((await FeedAsync(await LoginAsync(alice.Credentials))).Items);
    }

    [Fact]
    public async Task The_sdk_posts_to_every_device_of_its_audience_after_a_stale_devices_answer_and_raises_StatusChanged()
    {
        var (alice, bob) = (await RegisterAsync(Node), await RegisterAsync(Node));
        await using var bobClient = await ConnectAsync(Node, bob);
        var key = Guid.NewGuid().ToByteArray();
        var (code, linked) = await WhatsAppClient.RequestLinkAsync(await OptionsAsync(Node), "bob's tablet", key);
        await bobClient.ApproveLinkAsync(code, key);
        var tablet = await linked.WaitAsync(Wait);
        await using var tabletClient = await ConnectAsync(Node, tablet);
        await using var aliceClient = await ConnectAsync(Node, alice);

        // Alice's client knows only bob's primary: the server names the tablet, the SDK adds it and posts again.
        var posted = await aliceClient.PostStatusAsync("from the sdk", [bob.UserId]);

        Assert.Equal([bob.UserId], posted.Audience);
        var changed = (await tabletClient.NextAsync<Client.Status.StatusChanged>()).Single();
        Assert.Equal((alice.UserId, posted.StatusId, false), (changed.Owner, changed.StatusId, changed.Deleted));
        var seen = Assert.Single(await tabletClient.GetStatusFeedAsync());
        Assert.Equal(("from the sdk", posted.ExpiresAt), (seen.Text, seen.ExpiresAt));
        Assert.Equal("from the sdk", Assert.Single(await bobClient.GetStatusFeedAsync()).Text);

        await bobClient.ViewStatusAsync(alice.UserId, [posted.StatusId]);
        var viewers = await aliceClient.GetStatusViewersAsync(posted.StatusId);
        Assert.Equal((1, bob.UserId), (viewers.Count, Assert.Single(viewers.Viewers).UserId));

        await aliceClient.DeleteStatusAsync(posted.StatusId);
        Assert.True((await tabletClient.NextAsync<Client.Status.StatusChanged>()).Single().Deleted);
        Assert.Empty(await tabletClient.GetStatusFeedAsync());
    }

    /// <summary>Whether the journal or snapshot rows of <paramref name="user"/>'s Status entity hold <paramref name="marker"/>.</summary>
    public static async Task<bool> JournalHoldsAsync(HostSettings settings, string user, string marker)
    {
        var id = "status-" + user;
        var needle = Encoding.UTF8.GetBytes(marker);
        var rows = new List<byte[]>();
        const string Journal = "select message from journal where persistence_id = @id";
        const string Snapshots = "select snapshot from snapshot where persistence_id = @id";
        if (settings.Journal == JournalKind.Sqlite)
        {
            await using var connection = new SqliteConnection($"Data Source={settings.SqlitePath}");
            await connection.OpenAsync();
            foreach (var sql in new[] { Journal, Snapshots })
            {
                await using var command = new SqliteCommand(sql, connection);
                command.Parameters.AddWithValue("@id", id);
                await using var reader = await command.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                    rows.Add((byte[])reader[0]);
            }
        }
        else
        {
            await using var connection = new NpgsqlConnection(settings.PostgresConnectionString);
            await connection.OpenAsync();
            foreach (var sql in new[] { Journal, Snapshots })
            {
                await using var command = new NpgsqlCommand(sql, connection);
                command.Parameters.AddWithValue("id", id);
                await using var reader = await command.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                    rows.Add((byte[])reader[0]);
            }
        }
        return rows.Any(r => r.AsSpan().IndexOf(needle) >= 0);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var open in _open)
            await open.DisposeAsync();
    }
}

/// <summary>Expiry survives a restart: a post that became overdue while its node was down is removed when the node is back, by itself.</summary>
public sealed class StatusRestartSpec
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(JournalKind.Sqlite)]
    [InlineData(JournalKind.Postgres)]
    public async Task A_post_overdue_while_the_node_was_down_is_removed_when_it_restarts(JournalKind journal)
    {
        var settings = await StatusSpec.SettingsAsync(journal);
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var marker = "restart-" + Guid.NewGuid().ToString("N");
        Credentials alice, bob;
        string media;
        await using (var first = await TestNodes.StartAsync(settings, clock))
        {
            (alice, bob) = (await RegisterAsync(first), await RegisterAsync(first));
            await using var connection = await WhatsAppConnection.ConnectAsync("127.0.0.1", (await first.EdgeEndpoint).Port);
            await connection.HelloAsync("status-spec");
            await connection.RequestAsync(new Frame { Login = new Login { UserId = alice.UserId, DeviceId = alice.DeviceId, Token = ByteString.CopyFrom(alice.Token) } });
            var bytes = RandomNumberGenerator.GetBytes(1000);
            var url = (await connection.RequestAsync(new Frame
            {
                RequestUploadUrl = new RequestUploadUrl { Size = (ulong)bytes.Length, Sha256 = ByteString.CopyFrom(SHA256.HashData(bytes)), Kind = MediaKind.Status },
            })).UploadUrl;
            using var http = new HttpClient();
            using var put = new HttpRequestMessage(HttpMethod.Put, url.Url) { Content = new ByteArrayContent(bytes) };
            foreach (var h in url.Headers)
                if (!put.Headers.TryAddWithoutValidation(h.Name, h.Value))
                    put.Content.Headers.TryAddWithoutValidation(h.Name, h.Value);
            (await http.SendAsync(put)).EnsureSuccessStatusCode();
            await connection.RequestAsync(new Frame { UploadComplete = new UploadComplete { MediaId = url.MediaId } });
            media = url.MediaId;
            var post = new PostStatus
            {
                StatusId = ByteString.CopyFrom(Guid.NewGuid().ToByteArray()), Kind = ContentKind.Image, MediaId = media,
                PerDevice = new RecipientCiphertexts
                {
                    Items = { new RecipientCiphertext { UserId = bob.UserId, Device = new DeviceCiphertext { DeviceId = bob.DeviceId, Ciphertext = ByteString.CopyFromUtf8(marker) } } },
                },
            };
            await connection.RequestAsync(new Frame { PostStatus = post });
            Assert.True(await StatusSpec.JournalHoldsAsync(settings, alice.UserId, marker));
        }

        clock.Advance(TimeSpan.FromHours(25));
        await using var second = await TestNodes.StartAsync(settings, clock);

        // Nobody asks the entity anything: the remembered entity comes back with its shard and expires the post itself.
        var catalog = second.App.Services.GetRequiredService<IMediaCatalog>();
        await Eventually.Until(async () => (await catalog.FindAsync(media, CancellationToken.None))?.RetainedUntil <= clock.GetUtcNow(), Wait,
            "the overdue post's media to be released after the restart");
        await Eventually.Until(async () => !await StatusSpec.JournalHoldsAsync(settings, alice.UserId, marker), Wait,
            "the overdue post's ciphertexts to be deleted from the journal");
    }
}
