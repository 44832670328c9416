using Akka.WhatsApp.Client;
using Akka.WhatsApp.Client.Crypto;
using Akka.WhatsApp.Client.Storage;
using Akka.WhatsApp.Host;
using Akka.WhatsApp.Protocol;
using Akka.WhatsApp.Testing;
using Google.Protobuf;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Xunit;
using static Akka.WhatsApp.Integration.Tests.TestUsers;

namespace Akka.WhatsApp.Integration.Tests;

/// <summary>A PostgreSQL node whose clock the history sync tests move (retention runs on it); heartbeats far apart so that moving it closes nothing.</summary>
public sealed class HistorySyncNodeFixture : IAsyncLifetime
{
    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    public WhatsAppNode Node { get; private set; } = null!;

    public HostSettings Settings { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Settings = await TestNodes.SettingsAsync(JournalKind.Postgres) with { HeartbeatSeconds = 3600 };
        Node = await TestNodes.StartAsync(Settings, Clock);
    }

    /// <summary>Stops the node and starts it again on the same database and clock.</summary>
    public async Task RestartAsync()
    {
        await Node.DisposeAsync();
        Node = await TestNodes.StartAsync(Settings, Clock);
    }

    public async Task DisposeAsync() => await Node.DisposeAsync();
}

/// <summary>
/// History sync for a newly linked companion (PROTOCOL.md §17) on a real node: real SDK clients with encryption and
/// message stores (the companion ends with the primary's last N messages, inline and as media), and bare connections
/// for the rules (who may request, upload and fetch, and with which error), progress pushes, device removal and retention.
/// </summary>
public sealed class HistorySyncSpec(HistorySyncNodeFixture fixture) : IClassFixture<HistorySyncNodeFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly string _folder = Directory.CreateTempSubdirectory("wa-sync-it-").FullName;
    private readonly List<IDisposable> _stores = [];
    private readonly List<IAsyncDisposable> _open = [];

    private WhatsAppNode Node => fixture.Node;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var open in Enumerable.Reverse(_open))
            await open.DisposeAsync();
        foreach (var store in _stores)
            store.Dispose();
    }

    // ---- SDK devices ----

    private sealed record Device(WhatsAppClient Client, MessageStore Store, KeyStore Keys)
    {
        public string User => Client.Credentials.UserId;

        public async Task SendTextAsync(string to, string text)
        {
            var result = await Client.SendAsync(to, Payload(text));
            Store.RecordSent(User, Client.Credentials.DeviceId, ChatId.User(to), result.MessageId, result.ServerTimestamp, ContentKind.Text, Payload(text));
        }
    }

    private KeyStore NewKeys()
    {
        var keys = KeyStore.Open(Path.Combine(_folder, $"{Guid.NewGuid():N}-keys.db"));
        _stores.Add(keys);
        return keys;
    }

    private async Task<Device> DeviceAsync(Credentials? credentials = null, KeyStore? keys = null, HistorySyncOptions? sync = null)
    {
        credentials ??= await RegisterAsync(Node);
        var store = MessageStore.Open(Path.Combine(_folder, $"{credentials.UserId}-{credentials.DeviceId}-messages.db"));
        _stores.Add(store);
        keys ??= NewKeys();
        var client = await WhatsAppClient.ConnectAsync(await OptionsAsync(Node) with { Store = store, Keys = keys, HistorySync = sync ?? new() }, credentials);
        _open.Add(client);
        return new Device(client, store, keys);
    }

    /// <summary>A companion of <paramref name="primary"/>'s account with its own keys (signed by the primary, §7) and an empty store.</summary>
    private async Task<Device> CompanionAsync(Device primary, string name = "laptop")
    {
        var keys = NewKeys();
        var (code, linked) = await WhatsAppClient.RequestLinkAsync(await OptionsAsync(Node) with { Keys = keys }, name, identityKey: null);
        await primary.Client.ApproveLinkAsync(code, keys.Identity.PublicKey);
        return await DeviceAsync(await linked.WaitAsync(Wait), keys,
            new HistorySyncOptions { PollInterval = TimeSpan.FromSeconds(1), Timeout = TimeSpan.FromMinutes(2) });
    }

    /// <summary>Alice (the primary) and Bob exchange <paramref name="count"/> texts, alternating; returns Alice's chat with Bob as her store has it.</summary>
    private static async Task<IReadOnlyList<Akka.WhatsApp.Client.Storage.StoredMessage>> ConversationAsync(Device alice, Device bob, int count)
    {
        for (var i = 0; i < count; i++)
        {
            if (i % 2 == 0)
            {
                await bob.SendTextAsync(alice.User, $"bob says {i}");
                Assert.Equal($"bob says {i}", (await alice.Client.NextAsync<MessageReceived>(timeout: Wait)).Single().Text());
            }
            else
            {
                await alice.SendTextAsync(bob.User, $"alice says {i}");
            }
        }
        var chat = alice.Store.History(ChatId.User(bob.User), limit: 1000);
        Assert.Equal(count, chat.Count);
        return chat;
    }

    private static IEnumerable<(string Id, string From, string? Text, bool Outgoing)> Shown(IEnumerable<Akka.WhatsApp.Client.Storage.StoredMessage> messages) =>
        messages.Select(m => (m.MessageId, m.From, m.Text, m.Outgoing));

    [Fact]
    public async Task A_new_companion_gets_the_primarys_last_N_messages_inline()
    {
        var alice = await DeviceAsync();
        var bob = await DeviceAsync();
        var chat = await ConversationAsync(alice, bob, 9);
        var laptop = await CompanionAsync(alice);
        Assert.Empty(laptop.Store.History(ChatId.User(bob.User)));

        var done = await laptop.Client.RequestHistorySyncAsync(maxMessages: 6);

        Assert.Equal((6, 6), (done.MessagesInArchive, done.MessagesImported));
        Assert.Equal(Shown(chat.TakeLast(6)), Shown(laptop.Store.History(ChatId.User(bob.User), limit: 1000)));
        var progress = await laptop.Client.NextAsync<HistorySyncProgressed>(count: 2, timeout: Wait);
        Assert.True(progress[^1].ChunksFetched >= 2, "the archive key and at least one inline chunk were fetched");
        var sent = (await alice.Client.NextAsync<HistorySyncSent>(timeout: Wait)).Single();
        Assert.Equal((done.SyncId, laptop.Client.Credentials.DeviceId, 6, (string?)null), (sent.SyncId, sent.DeviceId, sent.Messages, sent.Error));
    }

    [Fact]
    public async Task A_large_history_goes_as_HISTORY_SYNC_media_that_only_the_accounts_devices_may_download()
    {
        var alice = await DeviceAsync(sync: new HistorySyncOptions { InlineLimit = 0 });
        var bob = await DeviceAsync();
        var chat = await ConversationAsync(alice, bob, 4);
        var laptop = await CompanionAsync(alice);

        var done = await laptop.Client.RequestHistorySyncAsync();

        Assert.Equal(4, done.MessagesImported);
        Assert.Equal(Shown(chat), Shown(laptop.Store.History(ChatId.User(bob.User), limit: 1000)));
        // The only chunk names the archive; the companion may download it, another account may not even learn it exists.
        var chunk = await laptop.Client.RequestAsync(new Frame { GetHistorySyncChunk = new GetHistorySyncChunk { SyncId = done.SyncId, Index = 0 } });
        Assert.True(chunk.HistorySyncChunk.Last);
        var mediaId = Assert.Single(chunk.HistorySyncChunk.MediaIds);
        var ok = await laptop.Client.RequestAsync(new Frame { RequestDownloadUrl = new RequestDownloadUrl { MediaId = mediaId } });
        Assert.Equal(Frame.PacketOneofCase.DownloadUrl, ok.PacketCase);
        var refused = await Assert.ThrowsAsync<ServerErrorException>(() =>
            bob.Client.RequestAsync(new Frame { RequestDownloadUrl = new RequestDownloadUrl { MediaId = mediaId } }));
        Assert.Equal(ErrorCode.NotFound, refused.Code);
    }

    // ---- bare connections: the rules ----

    private sealed record Raw(Credentials Credentials, WhatsAppConnection Connection)
    {
        public async Task<Frame> AskAsync(Frame request) => await Connection.RequestAsync(request).WaitAsync(Wait);

        public async Task<ErrorCode> RefusedAsync(Frame request) => (await Assert.ThrowsAsync<ServerErrorException>(() => AskAsync(request))).Code;
    }

    private async Task<Raw> LoginAsync(Credentials credentials)
    {
        var connection = await WhatsAppConnection.ConnectAsync("127.0.0.1", (await Node.EdgeEndpoint).Port);
        _open.Add(connection);
        await connection.HelloAsync("history-sync-spec");
        var reply = await connection.RequestAsync(new Frame
        {
            Login = new Login { UserId = credentials.UserId, DeviceId = credentials.DeviceId, Token = ByteString.CopyFrom(credentials.Token) },
        });
        Assert.Equal(Frame.PacketOneofCase.LoginOk, reply.PacketCase);
        return new Raw(credentials, connection);
    }

    /// <summary>A primary and <paramref name="companions"/> companions (keys not needed: nothing here is decrypted), all logged in.</summary>
    private async Task<Raw[]> AccountAsync(int companions)
    {
        var primary = await RegisterAsync(Node);
        var all = new List<Credentials> { primary };
        await using (var client = await ConnectAsync(Node, primary))
        {
            for (var i = 0; i < companions; i++)
            {
                var key = Guid.NewGuid().ToByteArray();
                var (code, linked) = await WhatsAppClient.RequestLinkAsync(await OptionsAsync(Node), $"companion {i}", key);
                await client.ApproveLinkAsync(code, key);
                all.Add(await linked.WaitAsync(Wait));
            }
        }
        return await Task.WhenAll(all.Select(LoginAsync));
    }

    private static Frame Request(uint maxMessages = 0) => new() { RequestHistorySync = new RequestHistorySync { MaxMessages = maxMessages } };

    private static Frame Upload(ByteString sync, uint index, bool last, string ciphertext) => new()
    {
        UploadHistorySyncChunk = new UploadHistorySyncChunk { SyncId = sync, Index = index, Last = last, Ciphertext = ByteString.CopyFromUtf8(ciphertext) },
    };

    private static Frame Fetch(ByteString sync, uint index) => new() { GetHistorySyncChunk = new GetHistorySyncChunk { SyncId = sync, Index = index } };

    /// <summary>The next push of <paramref name="kind"/> on a bare connection (other pushes are skipped).</summary>
    private static async Task<Frame> NextAsync(Raw device, Frame.PacketOneofCase kind, Func<Frame, bool>? matching = null)
    {
        using var timeout = new CancellationTokenSource(Wait);
        while (true)
        {
            var push = await device.Connection.Pushes.ReadAsync(timeout.Token);
            if (push.PacketCase == kind && (matching?.Invoke(push) ?? true))
                return push;
        }
    }

    [Fact]
    public async Task Only_a_companion_asks_only_the_primary_uploads_and_only_the_asking_companion_fetches()
    {
        var (primary, laptop, tablet) = await AccountAsync(2) switch { var a => (a[0], a[1], a[2]) };
        var carol = (await AccountAsync(0))[0];

        Assert.Equal(ErrorCode.Forbidden, await primary.RefusedAsync(Request()));
        var sync = (await laptop.AskAsync(Request(maxMessages: 50))).HistorySyncStarted.SyncId;
        Assert.Equal(16, sync.Length);
        // Asking again while the sync is under way answers the same sync (a lost answer, a restart).
        Assert.Equal(sync, (await laptop.AskAsync(Request(maxMessages: 50))).HistorySyncStarted.SyncId);

        // The primary is told, as a SYSTEM message for device 1 only (the tablet's backlog has no such message).
        var asked = (await NextAsync(primary, Frame.PacketOneofCase.Deliver, f => f.Deliver.System?.HistorySyncRequested is not null)).Deliver;
        Assert.Equal((ContentKind.System, sync, laptop.Credentials.DeviceId, 50u),
            (asked.Kind, asked.System.HistorySyncRequested.SyncId, asked.System.HistorySyncRequested.DeviceId, asked.System.HistorySyncRequested.MaxMessages));

        // Another account learns nothing of the sync; a companion may not upload.
        Assert.Equal(ErrorCode.NotFound, await carol.RefusedAsync(Upload(sync, 0, false, "carol's")));
        Assert.Equal(ErrorCode.NotFound, await carol.RefusedAsync(Fetch(sync, 0)));
        Assert.Equal(ErrorCode.NotPrimary, await tablet.RefusedAsync(Upload(sync, 0, false, "tablet's")));
        Assert.Equal(ErrorCode.NotPrimary, await laptop.RefusedAsync(Upload(sync, 0, false, "laptop's own")));
        Assert.Equal(ErrorCode.InvalidArgument, await primary.RefusedAsync(Upload(ByteString.CopyFromUtf8("short"), 0, false, "x")));
        Assert.Equal(ErrorCode.NotFound, await laptop.RefusedAsync(Fetch(sync, 0)));

        Assert.Equal(Frame.PacketOneofCase.Ok, (await primary.AskAsync(Upload(sync, 0, false, "chunk zero"))).PacketCase);
        var progress = (await NextAsync(laptop, Frame.PacketOneofCase.HistorySyncProgress)).HistorySyncProgress;
        Assert.Equal((sync, 1u, false), (progress.SyncId, progress.AvailableChunks, progress.Complete));
        Assert.Equal(Frame.PacketOneofCase.Ok, (await primary.AskAsync(Upload(sync, 0, false, "chunk zero"))).PacketCase); // a retry
        Assert.Equal(Frame.PacketOneofCase.Ok, (await primary.AskAsync(Upload(sync, 1, true, "chunk one"))).PacketCase);
        Assert.Equal(ErrorCode.InvalidArgument, await primary.RefusedAsync(Upload(sync, 2, false, "after the last")));
        progress = (await NextAsync(laptop, Frame.PacketOneofCase.HistorySyncProgress, f => f.HistorySyncProgress.Complete)).HistorySyncProgress;
        Assert.Equal(2u, progress.AvailableChunks);

        // The other companion and the primary itself may not fetch what is for the laptop.
        Assert.Equal(ErrorCode.Forbidden, await tablet.RefusedAsync(Fetch(sync, 0)));
        Assert.Equal(ErrorCode.Forbidden, await primary.RefusedAsync(Fetch(sync, 0)));
        var first = (await laptop.AskAsync(Fetch(sync, 0))).HistorySyncChunk;
        var second = (await laptop.AskAsync(Fetch(sync, 1))).HistorySyncChunk;
        Assert.Equal(("chunk zero", false, "chunk one", true), (first.Ciphertext.ToStringUtf8(), first.Last, second.Ciphertext.ToStringUtf8(), second.Last));
        Assert.Equal(ErrorCode.NotFound, await laptop.RefusedAsync(Fetch(sync, 2)));

        // What the mailbox holds for each device (neither acknowledged anything): the request is the primary's only.
        Assert.Contains(await RawBacklogAsync(Node, primary.Credentials), d => d.System?.HistorySyncRequested?.SyncId == sync);
        Assert.DoesNotContain(await RawBacklogAsync(Node, tablet.Credentials), d => d.System?.HistorySyncRequested is not null);
    }

    [Fact]
    public async Task A_removed_companion_has_no_sync_left()
    {
        var (primary, laptop) = await AccountAsync(1) switch { var a => (a[0], a[1]) };
        var sync = (await laptop.AskAsync(Request())).HistorySyncStarted.SyncId;
        Assert.Equal(Frame.PacketOneofCase.Ok, (await primary.AskAsync(Upload(sync, 0, true, "for the laptop"))).PacketCase);

        await primary.AskAsync(new Frame { RemoveDevice = new RemoveDevice { DeviceId = laptop.Credentials.DeviceId } });
        var removed = await NextAsync(laptop, Frame.PacketOneofCase.Error);
        Assert.Equal(ErrorCode.DeviceRemoved, removed.Error.Code);

        // Its connection is gone and its token too; what was uploaded for it is dropped, and the primary learns so.
        Assert.Equal(ErrorCode.NotFound, await primary.RefusedAsync(Upload(sync, 0, true, "again")));
        var relogin = await WhatsAppConnection.ConnectAsync("127.0.0.1", (await Node.EdgeEndpoint).Port);
        _open.Add(relogin);
        await relogin.HelloAsync("history-sync-spec");
        var login = await Assert.ThrowsAsync<ServerErrorException>(() => relogin.RequestAsync(new Frame
        {
            Login = new Login { UserId = laptop.Credentials.UserId, DeviceId = laptop.Credentials.DeviceId, Token = ByteString.CopyFrom(laptop.Credentials.Token) },
        }));
        Assert.Equal(ErrorCode.BadCredentials, login.Code);
    }

    [Fact]
    public async Task Chunks_are_kept_7_days_then_deleted_from_the_journal_too()
    {
        var (primary, laptop) = await AccountAsync(1) switch { var a => (a[0], a[1]) };
        var sync = (await laptop.AskAsync(Request())).HistorySyncStarted.SyncId;
        Assert.Equal(Frame.PacketOneofCase.Ok, (await primary.AskAsync(Upload(sync, 0, true, "kept for a week"))).PacketCase);
        var persistenceId = "history-sync-" + primary.Credentials.UserId;
        Assert.True(await LiveEventsAsync(persistenceId) > 0, "the sync is in the journal");

        fixture.Clock.Advance(TimeSpan.FromDays(7) - TimeSpan.FromMinutes(1));
        Assert.Equal("kept for a week", (await laptop.AskAsync(Fetch(sync, 0))).HistorySyncChunk.Ciphertext.ToStringUtf8());

        fixture.Clock.Advance(TimeSpan.FromMinutes(2));
        // The entity's timer (on the node's clock) forgets the sync and compacts its journal, with nobody asking.
        await Eventually.Until(async () => await LiveEventsAsync(persistenceId) == 0, Wait, "the expired sync's events to be deleted");
        Assert.Equal(ErrorCode.NotFound, await laptop.RefusedAsync(Fetch(sync, 0)));
        Assert.Equal(ErrorCode.NotFound, await primary.RefusedAsync(Upload(sync, 0, true, "too late")));
        // Once the old one is gone, the companion may ask again: a new sync.
        Assert.NotEqual(sync, (await laptop.AskAsync(Request())).HistorySyncStarted.SyncId);
    }

    [Fact]
    public async Task Retention_survives_a_restart_of_the_node_without_anyone_asking()
    {
        var (primary, laptop) = await AccountAsync(1) switch { var a => (a[0], a[1]) };
        var sync = (await laptop.AskAsync(Request())).HistorySyncStarted.SyncId;
        Assert.Equal(Frame.PacketOneofCase.Ok, (await primary.AskAsync(Upload(sync, 0, true, "kept across a restart"))).PacketCase);
        var persistenceId = "history-sync-" + primary.Credentials.UserId;

        await fixture.RestartAsync();
        fixture.Clock.Advance(TimeSpan.FromDays(7) + TimeSpan.FromMinutes(1));

        // The entity is remembered: the restarted node starts it, and its timer deletes the sync with no request about it.
        await Eventually.Until(async () => await LiveEventsAsync(persistenceId) == 0, Wait, "the expired sync's events to be deleted after the restart");
        var again = await LoginAsync(laptop.Credentials);
        Assert.Equal(ErrorCode.NotFound, await again.RefusedAsync(Fetch(sync, 0)));
    }

    /// <summary>Events of <paramref name="persistenceId"/> still in the journal (not deleted).</summary>
    private async Task<long> LiveEventsAsync(string persistenceId)
    {
        await using var connection = new NpgsqlConnection(fixture.Settings.PostgresConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM journal WHERE persistence_id = @id AND NOT deleted", connection);
        command.Parameters.AddWithValue("id", persistenceId);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
