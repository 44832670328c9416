using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Akka.WhatsApp.Protocol;
using Akka.WhatsApp.Protocol.Framing;

namespace Akka.WhatsApp.Client.Tests;

/// <summary>
/// Just enough of a server for client tests on a loopback socket: Hello and Login are welcomed (then
/// <see cref="PushAfterLogin"/> is pushed), every other frame is recorded, and requests are answered by the
/// test's script; a script answer of null closes the connection instead, as a server node dying would.
/// </summary>
internal sealed class ScriptedServer : IAsyncDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Func<Frame, Frame?> _script;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Frame> _received = [];
    private readonly Channel<Frame> _arrivals = Channel.CreateUnbounded<Frame>();
    private readonly List<TcpClient> _connections = [];
    private readonly Task _accepting;
    private int _logins;

    public ScriptedServer(Func<Frame, Frame?> script)
    {
        _script = script;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public ClientOptions Options => new("127.0.0.1", Port)
    {
        MinReconnectDelay = TimeSpan.FromMilliseconds(10),
        MaxReconnectDelay = TimeSpan.FromMilliseconds(100),
        RequestTimeout = TimeSpan.FromSeconds(30),
    };

    public static Credentials Alice { get; } = new("alice", 1, [1, 2, 3]);

    /// <summary>Announced in Welcome (0: none, the client's default).</summary>
    public uint HeartbeatSeconds { get; init; }

    /// <summary>Pings are answered with Pong (without asking the script) unless this is off.</summary>
    public bool AnswerPings { get; init; } = true;

    /// <summary>UploadKeys are answered with their PreKeyCount (without asking the script) unless this is off.</summary>
    public bool AnswerKeyUploads { get; init; } = true;

    /// <summary>Pushed to a connection right after its LoginOk.</summary>
    public IReadOnlyList<Frame> PushAfterLogin { get; init; } = [];

    /// <summary>After those pushes, QueueEmpty ends the backlog, as the real server does (PROTOCOL.md §8.4).</summary>
    public bool EndsBacklog { get; init; } = true;

    public int Logins => Volatile.Read(ref _logins);

    /// <summary>Every frame received after login (requests, acks), in order.</summary>
    public IReadOnlyList<Frame> Received
    {
        get
        {
            lock (_received)
                return [.. _received];
        }
    }

    public IEnumerable<T> Requests<T>(Func<Frame, T?> packet) where T : class => Received.Select(packet).OfType<T>();

    /// <summary>The next received frame that matches, waiting for it.</summary>
    public async Task<Frame> ReceiveAsync(Func<Frame, bool> match)
    {
        using var timeout = new CancellationTokenSource(Wait);
        await foreach (var frame in _arrivals.Reader.ReadAllAsync(timeout.Token))
            if (match(frame))
                return frame;
        throw new InvalidOperationException("the server stopped before the expected frame arrived");
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var tcp = await _listener.AcceptTcpClientAsync(_stop.Token);
                lock (_connections)
                    _connections.Add(tcp);
                _ = Task.Run(() => ServeAsync(tcp));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task ServeAsync(TcpClient tcp)
    {
        var stream = tcp.GetStream();
        var reader = new FrameReader(stream, FrameCodec.DefaultMaxFrameSize);
        try
        {
            while (await reader.ReadAsync(_stop.Token) is { } frame)
            {
                switch (frame.PacketCase)
                {
                    case Frame.PacketOneofCase.Hello:
                        await stream.WriteFrameAsync(new Frame { RequestId = frame.RequestId, Welcome = new Welcome { HeartbeatIntervalSeconds = HeartbeatSeconds } },
                            _stop.Token);
                        continue;
                    case Frame.PacketOneofCase.Login:
                        Interlocked.Increment(ref _logins);
                        await stream.WriteFrameAsync(new Frame { RequestId = frame.RequestId, LoginOk = new LoginOk() }, _stop.Token);
                        foreach (var push in PushAfterLogin)
                            await stream.WriteFrameAsync(push, _stop.Token);
                        if (EndsBacklog)
                            await stream.WriteFrameAsync(new Frame { QueueEmpty = new QueueEmpty() }, _stop.Token);
                        continue;
                }
                lock (_received)
                    _received.Add(frame);
                await _arrivals.Writer.WriteAsync(frame);
                if (frame.PacketCase == Frame.PacketOneofCase.Ping)
                {
                    if (AnswerPings)
                        await stream.WriteFrameAsync(new Frame { RequestId = frame.RequestId, Pong = new Pong { ClientTimestamp = frame.Ping.ClientTimestamp } },
                            _stop.Token);
                    continue;
                }
                if (frame.RequestId == 0)
                    continue;
                // A `wa` device publishes its keys at login (PROTOCOL.md §13): the key directory takes them.
                if (frame.PacketCase == Frame.PacketOneofCase.UploadKeys && AnswerKeyUploads)
                {
                    await stream.WriteFrameAsync(new Frame
                    {
                        RequestId = frame.RequestId,
                        PreKeyCount = new PreKeyCount { OneTimePrekeys = (uint)frame.UploadKeys.OneTimePrekeys.Count, SignedPrekeyId = frame.UploadKeys.SignedPrekey?.KeyId ?? 0 },
                    }, _stop.Token);
                    continue;
                }
                if (_script(frame) is not { } reply)
                {
                    tcp.Close();
                    return;
                }
                reply.RequestId = frame.RequestId;
                await stream.WriteFrameAsync(reply, _stop.Token);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
        finally
        {
            tcp.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _accepting;
        lock (_connections)
            foreach (var tcp in _connections)
                tcp.Dispose();
        _arrivals.Writer.TryComplete();
        _stop.Dispose();
    }
}
