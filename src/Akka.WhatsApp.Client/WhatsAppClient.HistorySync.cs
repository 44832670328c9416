using System.Security.Cryptography;
using System.Threading.Channels;
using Akka.WhatsApp.Client.Crypto;
using Akka.WhatsApp.Client.Media;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;

namespace Akka.WhatsApp.Client;

/// <summary>How a device takes part in history sync (PROTOCOL.md §17).</summary>
public sealed record HistorySyncOptions
{
    /// <summary>
    /// On the primary: answer a companion's history_sync_requested by itself (exporting from <see cref="ClientOptions.Store"/>).
    /// Off: the application answers with <see cref="WhatsAppClient.SendHistoryAsync"/>, or not at all.
    /// </summary>
    public bool AnswerRequests { get; init; } = true;

    /// <summary>What the primary sends when the companion leaves it to the primary (max_messages / max_days 0).</summary>
    public int DefaultMaxMessages { get; init; } = 10_000;

    public int DefaultMaxDays { get; init; } = 365;

    /// <summary>Encrypted archives up to this size travel inline in chunks; larger ones are uploaded as HISTORY_SYNC media.</summary>
    public long InlineLimit { get; init; } = 1024 * 1024;

    /// <summary>The encrypted bytes per inline chunk (the server takes up to 128 KiB; a frame holds it with room to spare).</summary>
    public int ChunkBytes { get; init; } = 96 * 1024;

    /// <summary>On the companion: how long it waits for the next progress push before it looks for the next chunk itself.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>On the companion: how long a whole sync may take (the primary may be offline, §17).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Downloads and uploads of media archives; null: one client shared by the SDK.</summary>
    public HttpClient? Http { get; init; }
}

/// <summary>The companion's history sync moved on: <see cref="ChunksFetched"/> of the <see cref="ChunksAvailable"/> uploaded so far.</summary>
public sealed record HistorySyncProgressed(ByteString SyncId, uint ChunksFetched, uint ChunksAvailable, long BytesReceived, int MessagesImported) : ClientEvent;

/// <summary>The companion imported the primary's history: <see cref="MessagesImported"/> messages new to its store.</summary>
public sealed record HistorySyncCompleted(ByteString SyncId, int MessagesInArchive, int MessagesImported) : ClientEvent;

/// <summary>The primary sent its history to its device <see cref="DeviceId"/> (or failed to: <see cref="Error"/>).</summary>
public sealed record HistorySyncSent(ByteString SyncId, uint DeviceId, int Messages, string? Error = null) : ClientEvent;

/// <summary>
/// History sync (PROTOCOL.md §17). The primary exports the newest messages of its store (<see cref="Storage.MessageStore.ExportRecentTo"/>),
/// encrypts the file with a fresh media key (the §12 media scheme, kind "History Sync") and sends it inline in chunks or,
/// when large, as HISTORY_SYNC media; chunk 0 carries the key and hashes (<see cref="HistorySyncArchive"/>) inside a message
/// of the 1:1 session with the companion, so the server relays and keeps only what it cannot read. The companion asks,
/// follows the progress pushes, fetches, checks and decrypts, and imports into its own store.
/// </summary>
public sealed partial class WhatsAppClient
{
    /// <summary>What the archive is: a SQLite file of this SDK's message store.</summary>
    public const string HistoryArchiveFormat = "akka.whatsapp.message-store.sqlite";

    private static readonly Lazy<HttpClient> SharedHttp = new(() => new HttpClient());

    private readonly Channel<HistorySyncProgress> _syncProgress =
        Channel.CreateBounded<HistorySyncProgress>(new BoundedChannelOptions(64) { FullMode = BoundedChannelFullMode.DropOldest });

    private HttpClient SyncHttp => _options.HistorySync.Http ?? SharedHttp.Value;

    // ---- the primary ----

    private void AnswerHistorySync(HistorySyncRequested asked)
    {
        if (!_options.HistorySync.AnswerRequests || Credentials.DeviceId != 1 || _e2e is null || _options.Store is null)
            return;
        _ = Task.Run(async () =>
        {
            try
            {
                var sent = await SendHistoryAsync(asked, _closing.Token);
                await _events.Writer.WriteAsync(new HistorySyncSent(asked.SyncId, asked.DeviceId, sent), _closing.Token);
            }
            catch (Exception e) when (e is IOException or TimeoutException or ServerErrorException or EncryptionException or CryptographicException
                                          or HttpRequestException or InvalidOperationException)
            {
                _events.Writer.TryWrite(new HistorySyncSent(asked.SyncId, asked.DeviceId, 0, e.Message));
            }
            catch (OperationCanceledException)
            {
            }
        });
    }

    /// <summary>
    /// Sends this (primary) device's recent history to the companion that asked (<paramref name="asked"/>, from the SYSTEM
    /// message history_sync_requested); returns how many messages went. Uploading again is harmless (chunks are replaced by index).
    /// </summary>
    public async Task<int> SendHistoryAsync(HistorySyncRequested asked, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(asked);
        var e2e = _e2e ?? throw new InvalidOperationException("history is sent end-to-end encrypted: the client needs a key store");
        var store = _options.Store ?? throw new InvalidOperationException("history comes from the message store: the client needs one");
        var settings = _options.HistorySync;
        var maxMessages = asked.MaxMessages == 0 ? settings.DefaultMaxMessages : (int)Math.Min(asked.MaxMessages, int.MaxValue);
        var maxDays = asked.MaxDays == 0 ? settings.DefaultMaxDays : (int)Math.Min(asked.MaxDays, 36_500);
        await OwnSessionAsync(asked.DeviceId, cancellationToken);

        var folder = Directory.CreateTempSubdirectory("wa-history-").FullName;
        try
        {
            var export = Path.Combine(folder, "history.db");
            var count = store.ExportRecentTo(export, maxMessages, DateTimeOffset.UtcNow - TimeSpan.FromDays(maxDays));
            var archive = new HistorySyncArchive { Format = HistoryArchiveFormat, MessageCount = (uint)count };
            var chunks = new List<UploadHistorySyncChunk>();
            if (new FileInfo(export).Length + 26 <= settings.InlineLimit)
            {
                var blob = new MemoryStream();
                await using (var plain = File.OpenRead(export))
                    Describe(archive, await MediaCipher.EncryptAsync(plain, blob, MediaKind.HistorySync, cancellationToken));
                var bytes = blob.ToArray();
                for (var at = 0; at < bytes.Length; at += settings.ChunkBytes)
                {
                    chunks.Add(new UploadHistorySyncChunk
                    {
                        Index = (uint)chunks.Count + 1, Ciphertext = ByteString.CopyFrom(bytes, at, Math.Min(settings.ChunkBytes, bytes.Length - at)),
                    });
                }
            }
            else
            {
                MediaReference uploaded;
                await using (var plain = File.OpenRead(export))
                    uploaded = await new MediaTransfer(this, SyncHttp).UploadAsync(plain, MediaKind.HistorySync, cancellationToken: cancellationToken);
                archive.MediaId = uploaded.MediaId;
                archive.MediaKey = uploaded.MediaKey;
                archive.FileSha256 = uploaded.FileSha256;
                archive.FileEncSha256 = uploaded.FileEncSha256;
                archive.FileLength = uploaded.FileLength;
                archive.EncLength = uploaded.EncLength;
            }
            // Encrypted once: a retried upload must carry the same ciphertext (its ratchet step is spent).
            var key = e2e.Encrypt(Credentials.UserId, asked.DeviceId, new E2eContent { Body = archive.ToByteString() });
            var first = new UploadHistorySyncChunk { Index = 0, Ciphertext = key.ToByteString() };
            if (archive.MediaId.Length > 0)
                first.MediaIds.Add(archive.MediaId);
            chunks.Insert(0, first);
            chunks[^1].Last = true;
            foreach (var chunk in chunks)
            {
                chunk.SyncId = asked.SyncId;
                await RequestWithRetriesAsync(() => new Frame { UploadHistorySyncChunk = chunk }, "the history could not be uploaded", null, cancellationToken);
            }
            return count;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static void Describe(HistorySyncArchive archive, MediaEncryption encryption)
    {
        archive.MediaKey = ByteString.CopyFrom(encryption.MediaKey);
        archive.FileSha256 = ByteString.CopyFrom(encryption.FileSha256);
        archive.FileEncSha256 = ByteString.CopyFrom(encryption.FileEncSha256);
        archive.FileLength = (ulong)encryption.PlaintextLength;
        archive.EncLength = (ulong)encryption.EncryptedLength;
    }

    /// <summary>A session with one of this user's own devices, from its bundle, which must be signed by this (primary) device (§7).</summary>
    private async Task OwnSessionAsync(uint device, CancellationToken cancellationToken)
    {
        var e2e = _e2e!;
        await _sessionSetup.WaitAsync(cancellationToken);
        try
        {
            if (e2e.HasSession(Credentials.UserId, device))
                return;
            var bundle = (await FetchPreKeyBundlesAsync(Credentials.UserId, [device], cancellationToken)).Bundles.SingleOrDefault(b => b.DeviceId == device)
                         ?? throw new EncryptionException($"your device {device} has published no encryption keys: it cannot be sent history");
            if (!EndToEnd.BelongsToAccount(bundle, e2e.Identity.PublicKey))
                throw new EncryptionException($"your device {device} is not signed by this primary device: no history is sent to it (the server may have added it)");
            if (e2e.Start(Credentials.UserId, bundle))
                await _events.Writer.WriteAsync(new SecurityCodeChanged(Credentials.UserId, device), cancellationToken);
        }
        finally
        {
            _sessionSetup.Release();
        }
    }

    // ---- the companion ----

    /// <summary>
    /// Asks the primary for its history (PROTOCOL.md §17: <paramref name="maxDays"/> / <paramref name="maxMessages"/> 0 =
    /// the primary decides) and imports it into this device's store, raising <see cref="HistorySyncProgressed"/> as chunks
    /// arrive and <see cref="HistorySyncCompleted"/> at the end (also returned). Waits for the primary, which must be online,
    /// at most <see cref="HistorySyncOptions.Timeout"/>.
    /// </summary>
    public async Task<HistorySyncCompleted> RequestHistorySyncAsync(uint maxDays = 0, uint maxMessages = 0, CancellationToken cancellationToken = default)
    {
        var e2e = _e2e ?? throw new InvalidOperationException("history arrives end-to-end encrypted: the client needs a key store");
        var store = _options.Store ?? throw new InvalidOperationException("history is imported into the message store: the client needs one");
        var settings = _options.HistorySync;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(settings.Timeout);
        var ct = deadline.Token;

        var started = await RequestAsync(new Frame { RequestHistorySync = new RequestHistorySync { MaxDays = maxDays, MaxMessages = maxMessages } }, ct);
        var syncId = Expect(started, started.HistorySyncStarted).SyncId;
        HistorySyncArchive? archive = null;
        var blob = new MemoryStream();
        uint next = 0, available = 0;
        while (true)
        {
            if (next >= available)
            {
                // A push says how far the primary got; without one for a while (it was sent while this device reconnected),
                // the next chunk is looked for directly.
                available = Math.Max(available, await NextProgressAsync(syncId, next, settings.PollInterval, ct));
                if (next >= available)
                {
                    if (await TryFetchAsync(syncId, next, ct) is not { } found)
                        continue;
                    available = next + 1;
                    if (!Take(found))
                        continue;
                    break;
                }
            }
            var chunk = await TryFetchAsync(syncId, next, ct)
                        ?? throw new IOException($"chunk {next} of the history sync is gone (the sync expired or was replaced)");
            if (Take(chunk))
                break;
        }

        // All chunks are here: the archive, checked and decrypted, goes into the store.
        var folder = Directory.CreateTempSubdirectory("wa-history-").FullName;
        try
        {
            var file = Path.Combine(folder, "history.db");
            if (archive!.MediaId.Length > 0)
            {
                await new MediaTransfer(this, SyncHttp).DownloadAsync(new MediaReference
                {
                    MediaId = archive.MediaId, MediaKey = archive.MediaKey, FileSha256 = archive.FileSha256, FileEncSha256 = archive.FileEncSha256,
                    FileLength = archive.FileLength, EncLength = archive.EncLength, Kind = MediaKind.HistorySync,
                }, file, cancellationToken: ct);
            }
            else
            {
                blob.Position = 0;
                await MediaCipher.DecryptToFileAsync(blob, file, archive.MediaKey.Memory, MediaKind.HistorySync, archive.FileEncSha256.ToByteArray(),
                    archive.FileSha256.ToByteArray(), ct);
            }
            var imported = store.ImportFrom(file);
            await _events.Writer.WriteAsync(new HistorySyncProgressed(syncId, next, available, blob.Length, imported), ct);
            var done = new HistorySyncCompleted(syncId, (int)archive.MessageCount, imported);
            await _events.Writer.WriteAsync(done, ct);
            return done;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }

        // Takes one fetched chunk in; true once the last one is in.
        bool Take(HistorySyncChunk chunk)
        {
            if (chunk.Index == 0)
            {
                archive = OpenArchive(e2e, chunk.Ciphertext);
                if (archive.MediaId.Length > 0 && !chunk.MediaIds.Contains(archive.MediaId))
                    throw new CryptographicException("the history's first chunk does not name the archive its key is for");
            }
            else
            {
                blob.Write(chunk.Ciphertext.Span);
            }
            next = chunk.Index + 1;
            _events.Writer.TryWrite(new HistorySyncProgressed(syncId, next, Math.Max(available, next), blob.Length, 0));
            return chunk.Last;
        }
    }

    /// <summary>Chunk 0: the archive's key and hashes, in a message of the 1:1 session with the primary (device 1).</summary>
    private HistorySyncArchive OpenArchive(EndToEnd e2e, ByteString ciphertext)
    {
        DeviceCiphertext sealedKey;
        try
        {
            sealedKey = DeviceCiphertext.Parser.ParseFrom(ciphertext);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new CryptographicException("the history's first chunk is not an end-to-end message", e);
        }
        if (sealedKey.DeviceId != Credentials.DeviceId)
            throw new CryptographicException($"the history was encrypted for device {sealedKey.DeviceId}, not this one");
        var opened = e2e.Decrypt(Credentials.UserId, 1, sealedKey.Type, sealedKey.Ciphertext);
        e2e.Commit();
        var archive = HistorySyncArchive.Parser.ParseFrom(opened.Content.Body);
        if (archive.Format != HistoryArchiveFormat)
            throw new InvalidDataException($"the history archive is '{archive.Format}', which this SDK cannot import");
        return archive;
    }

    /// <summary>The newest available_chunks pushed for <paramref name="syncId"/> beyond <paramref name="have"/>, or 0 when none came within <paramref name="wait"/>.</summary>
    private async Task<uint> NextProgressAsync(ByteString syncId, uint have, TimeSpan wait, CancellationToken cancellationToken)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timer.CancelAfter(wait);
        try
        {
            while (true)
            {
                var progress = await _syncProgress.Reader.ReadAsync(timer.Token);
                if (progress.SyncId.Equals(syncId) && progress.AvailableChunks > have)
                    return progress.AvailableChunks;
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return 0;
        }
    }

    /// <summary>One chunk, or null when it is not uploaded yet (NOT_FOUND).</summary>
    private async Task<HistorySyncChunk?> TryFetchAsync(ByteString syncId, uint index, CancellationToken cancellationToken)
    {
        try
        {
            var reply = await RequestWithRetriesAsync(() => new Frame { GetHistorySyncChunk = new GetHistorySyncChunk { SyncId = syncId, Index = index } },
                "the history could not be fetched", null, cancellationToken);
            return Expect(reply, reply.HistorySyncChunk);
        }
        catch (ServerErrorException e) when (e.Code == ErrorCode.NotFound)
        {
            return null;
        }
    }
}
