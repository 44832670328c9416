using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Threading.Channels;
using Akka.WhatsApp.Protocol;
using Akka.WhatsApp.Protocol.Framing;

namespace Akka.WhatsApp.Client;

/// <summary>TLS to the server: the name to verify and, for private deployments and tests, a custom certificate check.</summary>
public sealed record TlsOptions(string? ServerName = null, System.Net.Security.RemoteCertificateValidationCallback? ValidateServerCertificate = null);

/// <summary>Thrown when the server answers a request with an <see cref="Error"/> packet.</summary>
public sealed class ServerErrorException(Error error) : Exception($"{error.Code}: {error.Message}")
{
    public Error Error { get; } = error;
    public ErrorCode Code => Error.Code;
}

/// <summary>
/// One framed connection to a server: request/response correlation by request id, and every
/// server push (and every error without a request id) delivered in order on <see cref="Pushes"/>.
/// The higher-level client (login, resume, retries) is built on this.
/// </summary>
public sealed class WhatsAppConnection : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly Stream _stream;
    private readonly FrameReader _reader;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ConcurrentDictionary<uint, TaskCompletionSource<Frame>> _pending = new();
    private readonly Channel<Frame> _pushes = Channel.CreateUnbounded<Frame>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _closing = new();
    private readonly Task _readLoop;
    private SemaphoreSlim _requestSlots = new(DefaultMaxInFlight, DefaultMaxInFlight);
    private int _nextRequestId;
    private int _disposed;
    private int _closed;

    private WhatsAppConnection(TcpClient tcp, Stream stream, int maxFrameSize)
    {
        _tcp = tcp;
        _stream = stream;
        _reader = new FrameReader(_stream, maxFrameSize);
        _readLoop = Task.Run(ReadLoopAsync);
    }

    /// <summary>Server pushes in arrival order; completes when the connection closes.</summary>
    public ChannelReader<Frame> Pushes => _pushes.Reader;

    /// <summary>Completes when the server closed the connection (or it broke).</summary>
    public Task Closed => _readLoop;

    /// <summary>
    /// Opens a connection; with <paramref name="tls"/> the frames travel inside TLS. <paramref name="localAddress"/>
    /// binds the local end first (a load generator spreads its connections over 127.0.0.x source addresses, since
    /// one address pair runs out of ephemeral ports near 28,000).
    /// </summary>
    public static async Task<WhatsAppConnection> ConnectAsync(string host, int port, CancellationToken cancellationToken = default,
        int maxFrameSize = FrameCodec.DefaultMaxFrameSize, TlsOptions? tls = null, System.Net.IPAddress? localAddress = null)
    {
        var tcp = localAddress is null ? new TcpClient() : new TcpClient(new System.Net.IPEndPoint(localAddress, 0));
        tcp.NoDelay = true;
        try
        {
            await tcp.ConnectAsync(host, port, cancellationToken);
            Stream stream = tcp.GetStream();
            if (tls is not null)
            {
                var ssl = new System.Net.Security.SslStream(stream, leaveInnerStreamOpen: false, tls.ValidateServerCertificate);
                await ssl.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions { TargetHost = tls.ServerName ?? host },
                    cancellationToken);
                stream = ssl;
            }
            return new WhatsAppConnection(tcp, stream, maxFrameSize);
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    /// <summary>The server's answer to Hello, once <see cref="HelloAsync"/> returned.</summary>
    public Welcome? Welcome { get; private set; }

    /// <summary>Unanswered requests allowed until the server's Welcome says otherwise.</summary>
    public const int DefaultMaxInFlight = 64;

    /// <summary>Sends Hello and returns the server's Welcome; later requests keep within its in-flight limit.</summary>
    public async Task<Welcome> HelloAsync(string clientName = "Akka.WhatsApp.Client", CancellationToken cancellationToken = default,
        Platform platform = Platform.Unspecified)
    {
        var reply = await RequestAsync(new Frame
        {
            Hello = new Hello { ProtocolVersion = ProtocolVersion.Current, ClientName = clientName, Platform = platform },
        }, cancellationToken);
        if (reply.Welcome.MaxInFlightRequests is > 0 and var max && max != DefaultMaxInFlight)
            _requestSlots = new SemaphoreSlim((int)max, (int)max);
        Welcome = reply.Welcome;
        return reply.Welcome;
    }

    /// <summary>Sends a request (a request id is assigned) and returns the reply; an Error reply throws.</summary>
    public async Task<Frame> RequestAsync(Frame request, CancellationToken cancellationToken = default)
    {
        var id = unchecked((uint)Interlocked.Increment(ref _nextRequestId));
        if (id == 0)
            id = unchecked((uint)Interlocked.Increment(ref _nextRequestId));
        request.RequestId = id;
        var reply = new TaskCompletionSource<Frame>(TaskCreationOptions.RunContinuationsAsynchronously);
        var slots = _requestSlots;
        // Requests leave in call order: the write lock (first come, first served for async waiters) is taken first
        // and the in-flight slot inside it. Taking the slot first let requests released together race for the lock,
        // so that a later message could overtake an earlier one (found by the load test once a connection had its
        // 64 requests in flight). Writes of other frames wait meanwhile; replies, which free the slots, do not.
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            await slots.WaitAsync(cancellationToken);
        }
        catch
        {
            _writeLock.Release();
            throw;
        }
        _pending[id] = reply;
        try
        {
            try
            {
                // Registered before the (fenced) check: either the read loop's cleanup fails this request or we see it closed here;
                // otherwise a request on a connection that just closed would wait for its timeout, or hit the disposed stream.
                if (Interlocked.CompareExchange(ref _closed, 0, 0) == 1)
                    throw new IOException("the connection closed");
                await _stream.WriteFrameAsync(request, cancellationToken);
            }
            finally
            {
                _writeLock.Release();
            }
            var frame = await reply.Task.WaitAsync(cancellationToken);
            return frame.PacketCase == Frame.PacketOneofCase.Error ? throw new ServerErrorException(frame.Error) : frame;
        }
        finally
        {
            _pending.TryRemove(id, out _);
            slots.Release();
        }
    }

    /// <summary>Writes one frame as it is (no request id is assigned).</summary>
    public async Task SendAsync(Frame frame, CancellationToken cancellationToken = default)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            await _stream.WriteFrameAsync(frame, cancellationToken);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Writes raw bytes: for tests of how the server treats malformed input.</summary>
    public async Task SendRawAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken = default)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            await _stream.WriteAsync(bytes, cancellationToken);
            await _stream.FlushAsync(cancellationToken);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async Task ReadLoopAsync()
    {
        Exception? failure = null;
        try
        {
            while (await _reader.ReadAsync(_closing.Token) is { } frame)
            {
                if (frame.RequestId != 0 && _pending.TryRemove(frame.RequestId, out var waiter))
                    waiter.TrySetResult(frame);
                else
                    await _pushes.Writer.WriteAsync(frame);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or SocketException or FrameFormatException)
        {
            failure = e;
        }
        finally
        {
            Interlocked.Exchange(ref _closed, 1);
            var closed = new IOException("the connection closed", failure);
            foreach (var waiter in _pending.Values)
                waiter.TrySetException(closed);
            _pushes.Writer.TryComplete();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
            return;
        _closing.Cancel();
        _tcp.Dispose();
        try
        {
            await _readLoop;
        }
        catch
        {
            // The read loop ends with the socket; nothing to report on dispose.
        }
        _closing.Dispose();
    }
}
