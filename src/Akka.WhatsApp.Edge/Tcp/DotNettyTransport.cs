using System.Net;
using DotNetty.Buffers;
using DotNetty.Handlers.Timeout;
using DotNetty.Handlers.Tls;
using DotNetty.Transport.Bootstrapping;
using DotNetty.Transport.Channels;
using DotNetty.Transport.Channels.Sockets;
using Microsoft.Extensions.Logging;

namespace Akka.WhatsApp.Edge.Tcp;

/// <summary>The TCP client transport on DotNetty: one pipeline and one session per connection.</summary>
public sealed class DotNettyTransport(EdgeSettings settings, TimeProvider time, ILoggerFactory loggerFactory, Func<EdgeBackend>? backend = null)
    : IClientTransport
{
    private readonly ILogger _log = loggerFactory.CreateLogger<DotNettyTransport>();
    private readonly ConnectionRegistry _connections = new();
    private MultithreadEventLoopGroup? _boss;
    private MultithreadEventLoopGroup? _workers;
    private IChannel? _listener;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _stopping;

    public int ConnectionCount => _connections.Count;

    public async Task<IPEndPoint> StartAsync(CancellationToken cancellationToken)
    {
        _boss = new MultithreadEventLoopGroup(1);
        _workers = new MultithreadEventLoopGroup(Math.Max(1, settings.EventLoopThreads));
        var sessionLog = loggerFactory.CreateLogger("Akka.WhatsApp.Edge.Session");

        var bootstrap = new ServerBootstrap()
            .Group(_boss, _workers)
            .Channel<TcpServerSocketChannel>()
            .Option(ChannelOption.SoBacklog, 1024)
            .Option(ChannelOption.SoReuseaddr, true)
            .ChildOption(ChannelOption.TcpNodelay, true)
            .ChildOption(ChannelOption.SoKeepalive, true)
            .ChildOption(ChannelOption.Allocator, PooledByteBufferAllocator.Default)
            .ChildOption(ChannelOption.WriteBufferHighWaterMark, settings.WriteBufferHighWaterMark)
            .ChildOption(ChannelOption.WriteBufferLowWaterMark, settings.WriteBufferLowWaterMark)
            .ChildHandler(new ActionChannelInitializer<ISocketChannel>(channel => ConfigurePipeline(channel.Pipeline, sessionLog)));

        var address = IPAddress.Parse(settings.Host);
        _listener = await bootstrap.BindAsync(new IPEndPoint(address, settings.Port));
        var bound = (IPEndPoint)_listener.LocalAddress;
        _log.LogInformation("Edge listening on {Scheme}://{Address}:{Port} (max frame {MaxFrame} bytes, heartbeat {Heartbeat} s)",
            settings.TlsCertificate is null ? "tcp" : "tls", settings.Host, bound.Port, settings.MaxFrameSize, settings.HeartbeatInterval.TotalSeconds);
        return bound;
    }

    /// <summary>The handlers of one connection, in order; shared with the pipeline tests.</summary>
    public void ConfigurePipeline(IChannelPipeline pipeline, ILogger sessionLog)
    {
        var idle = TimeSpan.FromTicks(settings.HeartbeatInterval.Ticks * 3);
        if (settings.TlsCertificate is { } certificate)
            pipeline.AddLast("tls", new TlsHandler(new ServerTlsSettings(certificate, negotiateClientCertificate: false,
                checkCertificateRevocation: false, System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13)));
        pipeline.AddLast("idle", new IdleStateHandler(idle, TimeSpan.Zero, TimeSpan.Zero));
        pipeline.AddLast("frame-decoder", new FrameDecoder(settings.MaxFrameSize, settings.Metrics));
        pipeline.AddLast("frame-encoder", new FrameEncoder(settings.MaxFrameSize, settings.Metrics));
        pipeline.AddLast("session", new SessionHandler(settings, time, sessionLog, _connections, backend));
    }

    /// <summary>
    /// Drains, then stops: no new connections; every client is told to reconnect (to another node, PROTOCOL.md
    /// §18) and given <see cref="EdgeSettings.DrainTimeout"/> to leave; those still here are closed with
    /// SERVER_SHUTTING_DOWN. Called twice (coordinated shutdown, then the host), the second call waits for the first.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _stopping, 1) == 1)
        {
            await _stopped.Task.WaitAsync(cancellationToken);
            return;
        }
        try
        {
            if (_listener is { } listener)
            {
                await listener.CloseAsync();
                _listener = null;
            }
            await DrainAsync(cancellationToken);
            await _connections.CloseAllAsync(new Frame
            {
                Error = new Error { Code = ErrorCode.ServerShuttingDown, Message = "this node is shutting down; reconnect" },
            });
            var (boss, workers) = (_boss, _workers);
            (_boss, _workers) = (null, null);
            if (boss is null && workers is null)
                return;
            var quiet = TimeSpan.FromMilliseconds(100);
            var timeout = TimeSpan.FromSeconds(5);
            await Task.WhenAll(
                boss?.ShutdownGracefullyAsync(quiet, timeout) ?? Task.CompletedTask,
                workers?.ShutdownGracefullyAsync(quiet, timeout) ?? Task.CompletedTask);
            _log.LogInformation("Edge stopped");
        }
        finally
        {
            _stopped.TrySetResult();
        }
    }

    private async Task DrainAsync(CancellationToken cancellationToken)
    {
        var open = _connections.Count;
        if (open == 0 || settings.DrainTimeout <= TimeSpan.Zero)
            return;
        _log.LogInformation("Edge draining: asking {Count} connections to reconnect elsewhere (up to {Timeout} s)",
            open, settings.DrainTimeout.TotalSeconds);
        _connections.Broadcast(new Frame
        {
            Reconnect = new Reconnect
            {
                Reason = ReconnectReason.NodeDraining,
                DelayMs = (uint)settings.ReconnectSpread.TotalMilliseconds,
            },
        });
        var deadline = time.GetTimestamp() + (long)(settings.DrainTimeout.TotalSeconds * time.TimestampFrequency);
        while (_connections.Count > 0 && time.GetTimestamp() < deadline && !cancellationToken.IsCancellationRequested)
            await Task.Delay(50, CancellationToken.None);
        _log.LogInformation("Edge drained: {Left} of {Count} connections left on their own", open - _connections.Count, open);
    }

    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None);
}
