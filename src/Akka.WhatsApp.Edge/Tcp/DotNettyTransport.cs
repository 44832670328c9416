using System.Net;
using Akka.WhatsApp.Edge.Backend;
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
            pipeline.AddLast("tls", TlsHandler.Server(certificate));
        pipeline.AddLast("idle", new IdleStateHandler(idle, TimeSpan.Zero, TimeSpan.Zero));
        pipeline.AddLast("frame-decoder", new FrameDecoder(settings.MaxFrameSize, settings.Metrics));
        pipeline.AddLast("frame-encoder", new FrameEncoder(settings.MaxFrameSize, settings.Metrics));
        pipeline.AddLast("session", new SessionHandler(settings, time, sessionLog, _connections, backend));
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_listener is { } listener)
        {
            await listener.CloseAsync();
            _listener = null;
        }
        await _connections.CloseAllAsync();
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

    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None);
}
