using System.Collections.Concurrent;
using System.Threading.Channels;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;

namespace Akka.WhatsApp.Client;

/// <summary>Where and how a client connects.</summary>
public sealed record ClientOptions(string Host = "127.0.0.1", int Port = 5222)
{
    public string ClientName { get; init; } = "Akka.WhatsApp.Client";
    /// <summary>What this client runs on, told to the server in Hello and shown in the user's device list.</summary>
    public Platform Platform { get; init; } = Platform.Other;
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(15);
    public TimeSpan MinReconnectDelay { get; init; } = TimeSpan.FromMilliseconds(200);
    public TimeSpan MaxReconnectDelay { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>How many times a send is retried (same message id) across reconnects before it fails.</summary>
    public int MaxSendAttempts { get; init; } = 8;
    /// <summary>Set when the server's edge speaks TLS.</summary>
    public TlsOptions? Tls { get; init; }
    /// <summary>
    /// Where this device keeps what it receives (<see cref="Storage.MessageStore"/>): every message and receipt is written
    /// there before it is acknowledged, and the ack cursor with it. Null: the application must store what it reads from
    /// <see cref="WhatsAppClient.Events"/> itself before the next batch arrives.
    /// </summary>
    public Storage.MessageStore? Store { get; init; }
    /// <summary>
    /// This device's key store: when set, everything sent is end-to-end encrypted and everything received decrypted
    /// (PROTOCOL.md §13a, <see cref="WhatsAppClient.Encryption"/>), and the device publishes its keys at login. Null:
    /// payloads are opaque bytes the application encrypts itself.
    /// </summary>
    public Crypto.KeyStore? Keys { get; init; }

    /// <summary>History sync for newly linked devices (PROTOCOL.md §17): what a primary answers, how a companion waits.</summary>
    public HistorySyncOptions HistorySync { get; init; } = new();

    /// <summary>
    /// For a client that talks to a local process holding the device (the CLI's relay) rather than to the server: that
    /// process encrypts, so sends carry the payload in one PLAINTEXT ciphertext for device 0, which never leaves the machine.
    /// </summary>
    public bool EncryptedByRelay { get; init; }

    /// <summary>The local address to connect from (default: chosen by the OS).</summary>
    public System.Net.IPAddress? LocalAddress { get; init; }

    /// <summary>
    /// Other edge nodes of the same cluster. A logged-in client that loses its connection, or is asked to move
    /// by a draining node (<c>Reconnect</c>), tries them in turn after <see cref="Host"/>:<see cref="Port"/>.
    /// </summary>
    public IReadOnlyList<System.Net.DnsEndPoint> Alternates { get; init; } = [];

    /// <summary>Where a client may connect, in the order it tries them.</summary>
    public IReadOnlyList<System.Net.DnsEndPoint> Endpoints => [new(Host, Port), .. Alternates];
}

/// <summary>
/// A logged-in device: reconnects with backoff and resumes after its last ack, retries sends under a stable
/// message id, drops duplicate deliveries, acknowledges what it handed to <see cref="Events"/>, and fixes its
/// device lists from STALE_DEVICES answers. With <see cref="ClientOptions.Keys"/> it encrypts and decrypts end to end
/// (WhatsAppClient.Encryption.cs); without, payload bytes are opaque.
/// </summary>
public sealed partial class WhatsAppClient : IAsyncDisposable
{
    private const int SeenWindow = 10_000;

    private readonly ClientOptions _options;
    private readonly Channel<ClientEvent> _events = Channel.CreateUnbounded<ClientEvent>(new UnboundedChannelOptions { SingleWriter = false });
    private readonly ConcurrentDictionary<string, uint[]> _devices = new(StringComparer.Ordinal);
    private readonly HashSet<DeliveryKey> _seen = [];
    private readonly Queue<DeliveryKey> _seenOrder = new();
    private readonly CancellationTokenSource _closing = new();
    private TaskCompletionSource<WhatsAppConnection> _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _loop;
    private long _lastAcked;
    private int _disposed;
    private int _endpoint;
    private Reconnect? _moveHint;
    private readonly TaskCompletionSource _backlogStored = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private WhatsAppClient(ClientOptions options, Credentials credentials, ulong lastAckedSeq)
    {
        _options = options;
        Credentials = credentials;
        _lastAcked = (long)lastAckedSeq;
    }

    public Credentials Credentials { get; }

    /// <summary>The highest seq this device acknowledged: persist it and pass it back to <see cref="ConnectAsync"/>.</summary>
    public ulong LastAckedSeq => (ulong)Interlocked.Read(ref _lastAcked);

    /// <summary>
    /// Completes once the backlog the server held at the first login (everything up to its QueueEmpty) was stored,
    /// handed to <see cref="Events"/> and acknowledged. A short-lived command waits for it before it leaves, so what
    /// arrived meanwhile is kept and counted rather than left to a later connection.
    /// </summary>
    public Task BacklogStored => _backlogStored.Task;

    /// <summary>Everything pushed to this device, in order, each message once.</summary>
    public ChannelReader<ClientEvent> Events => _events.Reader;

    /// <summary>Asks the server to send a verification code to <paramref name="phone"/> (E.164).</summary>
    public static async Task<CodeSent> RequestCodeAsync(ClientOptions options, string phone, CancellationToken cancellationToken = default)
    {
        await using var connection = await HelloAsync(options, cancellationToken);
        var reply = await connection.RequestAsync(new Frame { RequestCode = new RequestCode { PhoneNumber = phone } }, cancellationToken)
            .WaitAsync(options.RequestTimeout, cancellationToken);
        return reply.CodeSent;
    }

    /// <summary>Proves the number with the code and returns the new primary device's credentials.</summary>
    public static async Task<(Credentials Credentials, bool NewAccount)> VerifyAsync(ClientOptions options, string phone, string code,
        string deviceName = "primary", CancellationToken cancellationToken = default)
    {
        await using var connection = await HelloAsync(options, cancellationToken);
        var reply = await connection.RequestAsync(new Frame { VerifyCode = new VerifyCode { PhoneNumber = phone, Code = code, DeviceName = deviceName } },
            cancellationToken).WaitAsync(options.RequestTimeout, cancellationToken);
        var r = reply.Registered;
        return (new Credentials(r.UserId, r.DeviceId, r.Token.ToByteArray()), r.NewAccount);
    }

    /// <summary>
    /// Starts linking this (new) device: returns the link code to show to the primary, and a task that completes
    /// with this device's credentials once the primary approved the code (within its expiry). With a key store in
    /// <paramref name="options"/>, the identity key is the store's (<paramref name="identityKey"/> may be null) and the
    /// primary's account signature is kept in it, for the device's first upload.
    /// </summary>
    public static async Task<(string LinkCode, Task<Credentials> Linked)> RequestLinkAsync(ClientOptions options, string deviceName, byte[]? identityKey,
        CancellationToken cancellationToken = default)
    {
        identityKey = options.Keys?.Identity.PublicKey ?? identityKey ?? throw new ArgumentNullException(nameof(identityKey), "an identity key or a key store is needed");
        var connection = await HelloAsync(options, cancellationToken);
        try
        {
            var reply = await connection.RequestAsync(new Frame
            {
                RequestDeviceLink = new RequestDeviceLink { DeviceName = deviceName, IdentityKey = ByteString.CopyFrom(identityKey), Platform = options.Platform },
            }, cancellationToken).WaitAsync(options.RequestTimeout, cancellationToken);
            return (reply.DeviceLinkCode.LinkCode, WaitForLinkAsync(connection, options.Keys));
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private static async Task<Credentials> WaitForLinkAsync(WhatsAppConnection connection, Crypto.KeyStore? keys)
    {
        await using (connection)
        {
            await foreach (var push in connection.Pushes.ReadAllAsync())
            {
                if (push.PacketCase == Frame.PacketOneofCase.DeviceLinked)
                {
                    if (keys is not null)
                        keys.AccountSignature = push.DeviceLinked.AccountSignature.ToByteArray();
                    return new Credentials(push.DeviceLinked.UserId, push.DeviceLinked.DeviceId, push.DeviceLinked.Token.ToByteArray());
                }
                if (push.PacketCase == Frame.PacketOneofCase.DeviceLinkFailed)
                    throw new ServerErrorException(new Error { Code = push.DeviceLinkFailed.Reason, Message = "linking failed" });
            }
        }
        throw new IOException("the connection closed before the link was approved");
    }

    /// <summary>Logs in and keeps the device connected until disposed.</summary>
    public static async Task<WhatsAppClient> ConnectAsync(ClientOptions options, Credentials credentials, ulong lastAckedSeq = 0,
        CancellationToken cancellationToken = default)
    {
        var client = new WhatsAppClient(options, credentials, Math.Max(lastAckedSeq, options.Store?.LastAckedSeq ?? 0));
        if (options.Keys is { } keys)
            client._e2e = new Crypto.EndToEnd(keys, credentials.UserId, credentials.DeviceId);
        var first = await client.LoginAsync(cancellationToken);
        client._connected.TrySetResult(first);
        client._loop = Task.Run(() => client.RunAsync(first));
        if (client._e2e is not null)
        {
            try
            {
                await client.PublishKeysAsync(cancellationToken);
            }
            catch
            {
                await client.DisposeAsync();
                throw;
            }
        }
        return client;
    }

    private static Task<WhatsAppConnection> HelloAsync(ClientOptions options, CancellationToken cancellationToken) =>
        HelloAsync(options, new System.Net.DnsEndPoint(options.Host, options.Port), cancellationToken);

    private static async Task<WhatsAppConnection> HelloAsync(ClientOptions options, System.Net.DnsEndPoint endpoint, CancellationToken cancellationToken)
    {
        var connection = await WhatsAppConnection.ConnectAsync(endpoint.Host, endpoint.Port, cancellationToken, tls: options.Tls, localAddress: options.LocalAddress);
        try
        {
            await connection.HelloAsync(options.ClientName, cancellationToken, options.Platform).WaitAsync(options.RequestTimeout, cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>The endpoint this client (re)connects to; see <see cref="ClientOptions.Alternates"/>.</summary>
    public System.Net.DnsEndPoint Endpoint
    {
        get
        {
            var endpoints = _options.Endpoints;
            return endpoints[Volatile.Read(ref _endpoint) % endpoints.Count];
        }
    }

    private void NextEndpoint() => Interlocked.Increment(ref _endpoint);

    private async Task<WhatsAppConnection> LoginAsync(CancellationToken cancellationToken)
    {
        var connection = await HelloAsync(_options, Endpoint, cancellationToken);
        try
        {
            await connection.RequestAsync(new Frame
            {
                Login = new Login
                {
                    UserId = Credentials.UserId,
                    DeviceId = Credentials.DeviceId,
                    Token = ByteString.CopyFrom(Credentials.Token),
                    LastAckedSeq = LastAckedSeq,
                },
            }, cancellationToken).WaitAsync(_options.RequestTimeout, cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Pumps pushes into <see cref="Events"/> and reconnects with backoff when the connection drops.</summary>
    private async Task RunAsync(WhatsAppConnection connection)
    {
        var delay = _options.MinReconnectDelay;
        while (!_closing.IsCancellationRequested)
        {
            using var beating = CancellationTokenSource.CreateLinkedTokenSource(_closing.Token);
            var heartbeat = HeartbeatAsync(connection, beating.Token);
            var reason = await PumpAsync(connection);
            await beating.CancelAsync();
            await heartbeat;
            await connection.DisposeAsync();
            var fatal = reason is "DEVICE_REPLACED" or "DEVICE_REMOVED";
            if (_closing.IsCancellationRequested)
                break;
            await _events.Writer.WriteAsync(new Disconnected(reason, WillReconnect: !fatal));
            if (fatal)
                break;
            _connected = new TaskCompletionSource<WhatsAppConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
            // A draining node names when (a random part of delay_ms, to spread the load) and maybe where to go;
            // otherwise the first attempt is at once on the next endpoint (the node may be dead), then with backoff.
            var wait = TimeSpan.Zero;
            if (Interlocked.Exchange(ref _moveHint, null) is { } hint)
            {
                wait = TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * hint.DelayMs);
                MoveTo(hint);
            }
            else if (_options.Alternates.Count > 0)
            {
                NextEndpoint();
            }
            else
            {
                wait = Jitter(delay);
            }
            var attempt = 0;
            while (!_closing.IsCancellationRequested)
            {
                try
                {
                    attempt++;
                    // Said before every wait that a user would notice, so that a client can show "reconnecting in N s".
                    if (wait >= TimeSpan.FromSeconds(1))
                        await _events.Writer.WriteAsync(new Reconnecting(wait, attempt, Endpoint));
                    await Task.Delay(wait, _closing.Token);
                    connection = await LoginAsync(_closing.Token);
                    _connected.TrySetResult(connection);
                    await _events.Writer.WriteAsync(new Reconnected());
                    delay = _options.MinReconnectDelay;
                    break;
                }
                catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or TimeoutException or ServerErrorException)
                {
                    NextEndpoint();
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxReconnectDelay.Ticks));
                    wait = Jitter(delay);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
        // Also after a fatal disconnect, whose dead connection would otherwise stay "current" for every request.
        var stopped = new ObjectDisposedException(nameof(WhatsAppClient));
        if (!_connected.TrySetException(stopped))
        {
            var ended = new TaskCompletionSource<WhatsAppConnection>();
            ended.SetException(stopped);
            _connected = ended;
        }
        _events.Writer.TryComplete();
    }

    /// <summary>
    /// Follows a Reconnect hint: to the endpoint it names (added to the rotation when new), else to the next one,
    /// so that a client of a draining node goes to another node when it knows one.
    /// </summary>
    private void MoveTo(Reconnect hint)
    {
        if (string.IsNullOrEmpty(hint.Host) && hint.Port == 0)
        {
            NextEndpoint();
            return;
        }
        var current = Endpoint;
        var target = new System.Net.DnsEndPoint(string.IsNullOrEmpty(hint.Host) ? current.Host : hint.Host, hint.Port == 0 ? current.Port : (int)hint.Port);
        var endpoints = _options.Endpoints;
        var index = endpoints.ToList().FindIndex(e => string.Equals(e.Host, target.Host, StringComparison.OrdinalIgnoreCase) && e.Port == target.Port);
        if (index >= 0)
            Volatile.Write(ref _endpoint, index);
        else
            NextEndpoint();
    }

    /// <summary>The heartbeat interval when the server announces none.</summary>
    public static readonly TimeSpan DefaultHeartbeat = TimeSpan.FromSeconds(30);

    /// <summary>
    /// PROTOCOL.md §4, heartbeats: a Ping every interval the server announced in Welcome (it closes a connection
    /// silent for three), and a connection that answers nothing for two intervals is taken for dead and closed,
    /// which makes the client reconnect (a node that vanished without a reset, a half-open NAT mapping).
    /// </summary>
    private static async Task HeartbeatAsync(WhatsAppConnection connection, CancellationToken cancellationToken)
    {
        var interval = connection.Welcome?.HeartbeatIntervalSeconds is > 0 and var seconds ? TimeSpan.FromSeconds(seconds) : DefaultHeartbeat;
        try
        {
            while (true)
            {
                await Task.Delay(interval, cancellationToken);
                await connection.RequestAsync(new Frame { Ping = new Ping { ClientTimestamp = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() } },
                    cancellationToken).WaitAsync(2 * interval, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is TimeoutException or IOException or ObjectDisposedException or ServerErrorException)
        {
            await connection.DisposeAsync(); // the pump sees the connection end and the client reconnects
        }
    }

    private static TimeSpan Jitter(TimeSpan delay) => TimeSpan.FromTicks((long)(delay.Ticks * (0.5 + Random.Shared.NextDouble() / 2)));

    /// <summary>Reads pushes until the connection closes; acks each batch after handing it to Events. Returns why it ended.</summary>
    private async Task<string> PumpAsync(WhatsAppConnection connection)
    {
        var reader = connection.Pushes;
        try
        {
            // One batch is what arrived together: stored (when there is a store), then handed to Events, then acknowledged.
            var batch = new List<Frame>();
            var events = new List<ClientEvent>();
            while (await reader.WaitToReadAsync(_closing.Token))
            {
                ulong ackUpTo = 0;
                var backlogDone = false;
                while (reader.TryRead(out var push))
                {
                    switch (push.PacketCase)
                    {
                        case Frame.PacketOneofCase.Deliver:
                            ackUpTo = Math.Max(ackUpTo, push.Deliver.Seq);
                            if (!FirstSight(DeliveryKey.Of(push.Deliver)))
                                break;
                            if (push.Deliver.System?.HistorySyncRequested is { } syncAsked)
                                AnswerHistorySync(syncAsked);
                            if (_options.Store?.Holds(push.Deliver, out var unshown) == true)
                            {
                                // Stored before, not acknowledged (a crash, a lost ack): not decrypted again, shown once.
                                if (unshown is not null)
                                    events.Add(new MessageReceived(unshown));
                            }
                            else if (Open(push.Deliver, events) is { } opened)
                            {
                                batch.Add(ReferenceEquals(opened, push.Deliver) ? push : new Frame { Deliver = opened });
                                events.Add(new MessageReceived(opened));
                            }
                            break;
                        case Frame.PacketOneofCase.Receipt:
                            batch.Add(push);
                            events.Add(new ReceiptReceived(push.Receipt));
                            ackUpTo = Math.Max(ackUpTo, push.Receipt.Seq);
                            break;
                        case Frame.PacketOneofCase.QueueEmpty:
                            events.Add(new BacklogDone(push.QueueEmpty.LastSeq));
                            backlogDone = true;
                            break;
                        case Frame.PacketOneofCase.Presence:
                            events.Add(new PresenceChanged(push.Presence));
                            break;
                        case Frame.PacketOneofCase.TypingNotification:
                            events.Add(new TypingChanged(push.TypingNotification));
                            break;
                        case Frame.PacketOneofCase.StatusUpdated:
                            events.Add(new Status.StatusChanged(push.StatusUpdated.OwnerUserId, push.StatusUpdated.StatusId, push.StatusUpdated.Deleted));
                            break;
                        case Frame.PacketOneofCase.CallSignal:
                            OnCallSignal(push.CallSignal, connection);
                            break;
                        case Frame.PacketOneofCase.HistorySyncProgress:
                            _syncProgress.Writer.TryWrite(push.HistorySyncProgress);
                            break;
                        case Frame.PacketOneofCase.PreKeyLow:
                            events.Add(new PreKeysLow(push.PreKeyLow));
                            Replenish();
                            break;
                        case Frame.PacketOneofCase.Reconnect:
                            // Acknowledge what was handed over so far, then leave: requests in flight on this
                            // connection fail with IOException and are retried (same ids) on the next one.
                            Volatile.Write(ref _moveHint, push.Reconnect);
                            await HandOverAsync(connection, batch, events, ackUpTo);
                            return "the server asked to reconnect (" + push.Reconnect.Reason + ")";
                        case Frame.PacketOneofCase.Error when push.Error.Code is ErrorCode.DeviceReplaced or ErrorCode.DeviceRemoved:
                            await HandOverAsync(connection: null, batch, events, ackUpTo);
                            return push.Error.Code == ErrorCode.DeviceReplaced ? "DEVICE_REPLACED" : "DEVICE_REMOVED";
                    }
                }
                await HandOverAsync(connection, batch, events, ackUpTo);
                if (backlogDone)
                    _backlogStored.TrySetResult();
            }
            return "connection closed";
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or System.Net.Sockets.SocketException)
        {
            return e.Message;
        }
    }

    /// <summary>
    /// PROTOCOL.md §8.4: what arrived is stored durably (in <see cref="ClientOptions.Store"/>), then given to the
    /// application, and only then acknowledged; without a connection (it is closing) nothing is acknowledged.
    /// </summary>
    private async Task HandOverAsync(WhatsAppConnection? connection, List<Frame> batch, List<ClientEvent> events, ulong ackUpTo)
    {
        if (_options.Store is { } store && (batch.Count > 0 || ackUpTo > LastAckedSeq))
            store.Save(Credentials.UserId, batch, connection is null ? 0 : ackUpTo);
        // The ratchet steps of what was decrypted, once the messages are stored (see EndToEnd on durability).
        _e2e?.Commit();
        foreach (var e in events)
            await _events.Writer.WriteAsync(e);
        batch.Clear();
        events.Clear();
        if (connection is not null)
            await AckAsync(connection, ackUpTo);
    }

    private async Task AckAsync(WhatsAppConnection connection, ulong ackUpTo)
    {
        if (ackUpTo <= LastAckedSeq)
            return;
        Interlocked.Exchange(ref _lastAcked, (long)ackUpTo);
        await connection.SendAsync(new Frame { Ack = new Ack { UpToSeq = ackUpTo } }, _closing.Token);
    }

    private bool FirstSight(DeliveryKey id)
    {
        if (!_seen.Add(id))
            return false;
        _seenOrder.Enqueue(id);
        if (_seenOrder.Count > SeenWindow)
            _seen.Remove(_seenOrder.Dequeue());
        return true;
    }

    /// <summary>
    /// Sends a request on the current connection; while the client is reconnecting it waits for the next one.
    /// </summary>
    public async Task<Frame> RequestAsync(Frame request, CancellationToken cancellationToken = default)
    {
        var connection = await _connected.Task.WaitAsync(cancellationToken);
        return await connection.RequestAsync(request, cancellationToken).WaitAsync(_options.RequestTimeout, cancellationToken);
    }

    /// <summary>
    /// Sends a 1:1 message; returns when the server stored it (✓). Retried under the same message id across
    /// lost replies and reconnects, so it is stored and shown once.
    /// </summary>
    /// <remarks>With <paramref name="sendAt"/> the message is scheduled (§8.8): SendResult.scheduled_for says when it goes out.</remarks>
    public async Task<SendResult> SendAsync(string to, ReadOnlyMemory<byte> payload, ContentKind kind = ContentKind.Text, byte[]? messageId = null,
        byte[]? targetMessageId = null, CancellationToken cancellationToken = default, bool silent = false, DateTimeOffset? sendAt = null)
    {
        var id = ByteString.CopyFrom(messageId ?? Guid.NewGuid().ToByteArray());
        var sentAt = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var target = targetMessageId is null ? ByteString.Empty : ByteString.CopyFrom(targetMessageId);
        var template = new Send
        {
            MessageId = id, ToUserId = to, Kind = kind, ClientTimestamp = sentAt, TargetMessageId = target, Silent = silent, SendAt = SendAtOf(sendAt),
        };
        var content = new Protocol.E2eContent { Body = ByteString.CopyFrom(payload.Span) };
        // Rebuilt (and with encryption re-encrypted) for every attempt: a STALE_DEVICES answer changes whom the ciphertexts are for.
        Task<Frame> Build()
        {
            if (_e2e is not null)
                return EncryptedSendAsync(template, content, cancellationToken);
            var send = template.Clone();
            if (_options.EncryptedByRelay)
            {
                send.Ciphertexts.Add(new DeviceCiphertext { DeviceId = 0, Ciphertext = content.Body, Type = CiphertextType.Plaintext });
                return Task.FromResult(new Frame { Send = send });
            }
            send.Ciphertexts.AddRange(DevicesOf(to, [1]).Select(d => Ciphertext(d, payload)));
            send.SelfCiphertexts.AddRange(DevicesOf(Credentials.UserId, [Credentials.DeviceId]).Where(d => d != Credentials.DeviceId)
                .Select(d => Ciphertext(d, payload)));
            return Task.FromResult(new Frame { Send = send });
        }
        var reply = await RequestWithRetriesAsync(Build, "the message could not be sent", RecoverStale, cancellationToken);
        return reply.SendResult;
    }

    /// <summary>STALE_DEVICES: the device lists it names are corrected (and their sessions forgotten), then the request is tried again.</summary>
    private bool RecoverStale(ServerErrorException refused)
    {
        if (refused.Code != ErrorCode.StaleDevices)
            return false;
        foreach (var stale in refused.Error.StaleDevices)
        {
            var self = stale.UserId == Credentials.UserId;
            var known = DevicesOf(stale.UserId, _e2e?.Keys.KnownDevices(stale.UserId) ?? (self ? [Credentials.DeviceId] : [1]));
            _devices[stale.UserId] = known.Except(stale.ExtraDeviceIds).Union(stale.MissingDeviceIds).Order().ToArray();
            ForgetStale(stale);
        }
        return true;
    }

    /// <summary>
    /// Sends a request whose idempotency key (message id, request key) the caller keeps stable, until the server
    /// answers: it is tried again after a lost reply or connection (on the next connection), after TIMEOUT or
    /// UNAVAILABLE, and after RATE_LIMITED once the server's delay passed, at most <see cref="ClientOptions.MaxSendAttempts"/>
    /// times apart from rate limiting. <paramref name="recover"/> may fix the client's state after a refusal and return
    /// true to try again; other refusals throw <see cref="ServerErrorException"/>.
    /// </summary>
    private Task<Frame> RequestWithRetriesAsync(Func<Frame> request, string failure, Func<ServerErrorException, bool>? recover,
        CancellationToken cancellationToken) =>
        RequestWithRetriesAsync(() => Task.FromResult(request()), failure, recover, cancellationToken);

    private async Task<Frame> RequestWithRetriesAsync(Func<Task<Frame>> request, string failure, Func<ServerErrorException, bool>? recover,
        CancellationToken cancellationToken)
    {
        Exception? last = null;
        WhatsAppConnection? lost = null;
        for (var attempt = 0; attempt < _options.MaxSendAttempts; attempt++)
        {
            var connection = await ConnectionOtherThanAsync(lost, cancellationToken);
            try
            {
                return await connection.RequestAsync(await request(), cancellationToken).WaitAsync(_options.RequestTimeout, cancellationToken);
            }
            catch (ServerErrorException e) when (e.Code == ErrorCode.RateLimited)
            {
                // Sending faster than the server allows is not a failure: wait as told, then try again.
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Max(10, e.Error.RetryAfterMs)), cancellationToken);
                attempt--;
                last = e;
            }
            catch (Exception e) when (e is IOException or TimeoutException or ServerErrorException { Code: ErrorCode.Timeout or ErrorCode.Unavailable }
                                          || (e is ObjectDisposedException && Volatile.Read(ref _disposed) == 0))
            {
                // An IOException means this connection is gone: the next attempt waits for the reconnect. So does an
                // ObjectDisposedException while the client itself is not disposed: the heartbeat or the pump closed the
                // connection while this request was being written to it.
                lost = e is IOException or ObjectDisposedException ? connection : null;
                last = e;
            }
            catch (ServerErrorException e) when (recover is not null)
            {
                if (!recover(e))
                    throw;
                last = e;
            }
        }
        throw new IOException($"{failure} after {_options.MaxSendAttempts} attempts", last);
    }

    /// <summary>
    /// The current connection, waiting while the client reconnects; never <paramref name="lost"/>, which a request
    /// saw close before the reconnect loop noticed (so retries do not burn their attempts on a dead connection).
    /// </summary>
    private async Task<WhatsAppConnection> ConnectionOtherThanAsync(WhatsAppConnection? lost, CancellationToken cancellationToken)
    {
        while (true)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) == 1, this);
            var connection = await _connected.Task.WaitAsync(cancellationToken);
            if (!ReferenceEquals(connection, lost))
                return connection;
            await Task.Delay(LostConnectionPoll, cancellationToken);
        }
    }

    private static readonly TimeSpan LostConnectionPoll = TimeSpan.FromMilliseconds(20);

    private uint[] DevicesOf(string user, uint[] fallback) => _devices.GetValueOrDefault(user) ?? fallback;

    private static DeviceCiphertext Ciphertext(uint device, ReadOnlyMemory<byte> payload) =>
        new() { DeviceId = device, Ciphertext = ByteString.CopyFrom(payload.Span), Type = CiphertextType.SignalMessage };

    /// <summary>
    /// Receipts for messages received from <paramref name="to"/>; for group messages pass their <paramref name="groupId"/>
    /// (the sender then sees them in <see cref="ReceiptReceived"/> and in <see cref="GetGroupReceiptsAsync"/>).
    /// </summary>
    public Task SendReceiptAsync(string to, ReceiptType type, IEnumerable<ByteString> messageIds, string? groupId = null,
        CancellationToken cancellationToken = default)
    {
        var receipt = new SendReceipt { ToUserId = to, Type = type, GroupId = groupId ?? "" };
        receipt.MessageIds.AddRange(messageIds);
        return RequestAsync(new Frame { SendReceipt = receipt }, cancellationToken);
    }

    /// <summary>Receipts for 1:1 messages received from <paramref name="to"/>.</summary>
    public Task SendReceiptAsync(string to, ReceiptType type, IEnumerable<ByteString> messageIds, CancellationToken cancellationToken) =>
        SendReceiptAsync(to, type, messageIds, groupId: null, cancellationToken);

    /// <summary>Sends a notification (a frame that gets no answer, PROTOCOL.md §3) on the current connection as it is.</summary>
    public async Task NotifyAsync(Frame notification, CancellationToken cancellationToken = default)
    {
        var connection = await _connected.Task.WaitAsync(cancellationToken);
        await connection.SendAsync(notification, cancellationToken);
    }

    /// <summary>Typing is a notification: nothing is answered unless it is refused.</summary>
    public async Task TypingAsync(string to, TypingState state, CancellationToken cancellationToken = default)
    {
        var connection = await _connected.Task.WaitAsync(cancellationToken);
        await connection.SendAsync(new Frame { Typing = new Typing { To = to, State = state } }, cancellationToken);
    }

    public async Task<PresenceList> SubscribePresenceAsync(IEnumerable<string> users, CancellationToken cancellationToken = default)
    {
        var subscribe = new SubscribePresence();
        subscribe.UserIds.AddRange(users);
        return (await RequestAsync(new Frame { SubscribePresence = subscribe }, cancellationToken)).PresenceList;
    }

    public async Task<ContactsResult> SyncContactsAsync(IEnumerable<string> phones, ContactSyncMode mode = ContactSyncMode.Replace,
        CancellationToken cancellationToken = default)
    {
        var sync = new SyncContacts { Mode = mode };
        sync.PhoneNumbers.AddRange(phones);
        return (await RequestAsync(new Frame { SyncContacts = sync }, cancellationToken)).ContactsResult;
    }

    /// <summary>A user's profile as the caller may see it (PROTOCOL.md §10); <paramref name="user"/> null: the caller's own.</summary>
    public async Task<Profile> GetProfileAsync(string? user = null, CancellationToken cancellationToken = default)
    {
        var reply = await RequestAsync(new Frame { GetProfile = new GetProfile { UserId = user ?? "" } }, cancellationToken);
        return Expect(reply, reply.Profile);
    }

    /// <summary>
    /// Changes what is given of the caller's profile and leaves the rest; <paramref name="photoMediaId"/> "" removes the
    /// photo, otherwise it is the caller's own completed PROFILE_PHOTO upload (<see cref="Media.MediaTransfer.UploadPublicAsync"/>).
    /// </summary>
    public async Task<Profile> SetProfileAsync(string? name = null, string? about = null, string? photoMediaId = null, CancellationToken cancellationToken = default)
    {
        var set = new SetProfile();
        if (name is not null)
            set.Name = name;
        if (about is not null)
            set.About = about;
        if (photoMediaId is not null)
            set.PhotoMediaId = photoMediaId;
        var reply = await RequestAsync(new Frame { SetProfile = set }, cancellationToken);
        return Expect(reply, reply.Profile);
    }

    public Task BlockAsync(string user, bool block = true, CancellationToken cancellationToken = default) =>
        RequestAsync(block ? new Frame { BlockUser = new BlockUser { UserId = user } } : new Frame { UnblockUser = new UnblockUser { UserId = user } },
            cancellationToken);

    /// <summary>
    /// Approves a device that shows <paramref name="linkCode"/> (primary only). With encryption on, the approval carries
    /// this device's signature over the new device's identity key, which the new device publishes so that contacts can
    /// check it belongs to the account (PROTOCOL.md §7).
    /// </summary>
    public async Task<DeviceList> ApproveLinkAsync(string linkCode, byte[] identityKey, CancellationToken cancellationToken = default)
    {
        var approve = new ApproveDeviceLink { LinkCode = linkCode, IdentityKey = ByteString.CopyFrom(identityKey) };
        if (_e2e is not null)
            approve.AccountSignature = ByteString.CopyFrom(_e2e.SignCompanion(identityKey));
        return (await RequestAsync(new Frame { ApproveDeviceLink = approve }, cancellationToken)).DeviceList;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
            return;
        _closing.Cancel();
        // Read once: the loop, ending, may replace _connected with a faulted one between a check and a second read.
        var connected = _connected.Task;
        if (connected.IsCompletedSuccessfully)
            await connected.Result.DisposeAsync();
        if (_loop is not null)
            await _loop;
        _closing.Dispose();
    }
}
