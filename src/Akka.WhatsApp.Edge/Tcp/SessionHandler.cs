using System.Net;
using Akka.WhatsApp.Edge.Backend;
using Akka.WhatsApp.Edge.Sessions;
using Akka.WhatsApp.Protocol;
using DotNetty.Handlers.Timeout;
using DotNetty.Transport.Channels;
using Microsoft.Extensions.Logging;

namespace Akka.WhatsApp.Edge.Tcp;

/// <summary>
/// The last handler of a connection's pipeline: owns its <see cref="ClientSession"/> and adapts the
/// DotNetty channel to <see cref="IClientConnection"/>. Replies written while reading are flushed once per read batch.
/// </summary>
public sealed class SessionHandler(EdgeSettings settings, TimeProvider time, ILogger log, ConnectionRegistry registry, Func<EdgeBackend>? backend = null)
    : ChannelHandlerAdapter, IClientConnection
{
    private IChannelHandlerContext? _context;
    private ClientSession? _session;
    private bool _reading;

    public string Id => _context?.Channel.Id.AsShortText() ?? "-";

    public EndPoint? RemoteAddress => _context?.Channel.RemoteAddress;

    public ClientSession Session => _session ?? throw new InvalidOperationException("the channel is not active yet");

    public override void ChannelActive(IChannelHandlerContext context)
    {
        _context = context;
        _session = new ClientSession(this, settings, time, log, backend);
        registry.Add(context.Channel);
        settings.Metrics.ConnectionOpened();
        base.ChannelActive(context);
    }

    public override void ChannelInactive(IChannelHandlerContext context)
    {
        _session?.Closed();
        registry.Remove(context.Channel);
        if (_session is not null)
            settings.Metrics.ConnectionClosed();
        base.ChannelInactive(context);
    }

    public override void ChannelRead(IChannelHandlerContext context, object message)
    {
        _reading = true;
        switch (message)
        {
            case Frame frame:
                OnDefaultScheduler(Session.Receive, frame);
                break;
            case FrameDecodeFailure failure:
                Session.DecodeFailed(failure.Status);
                break;
        }
    }

    /// <summary>
    /// Runs a frame's handler here, on the event loop and in frame order (what keeps a connection's sends in
    /// order), but with the thread pool as the current TaskScheduler. DotNetty runs each event loop inside a task
    /// of its own scheduler, so otherwise every await in a handler (each Ask to an entity) resumed on this loop,
    /// through a locked queue and a wake-up of the loop thread: measured under 1:1 load, the loops' waits and
    /// those locks were a third of the server's CPU.
    /// </summary>
    private static void OnDefaultScheduler(Action<Frame> handler, Frame frame)
    {
        var task = new Task(() => handler(frame));
        task.RunSynchronously(TaskScheduler.Default);
        if (task.Exception is { } failed)
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failed.InnerException ?? failed);
    }

    public override void ChannelReadComplete(IChannelHandlerContext context)
    {
        _reading = false;
        context.Flush();
    }

    public override void ChannelWritabilityChanged(IChannelHandlerContext context)
    {
        // Past the write high water mark the device stops getting deliveries until its buffer drains.
        _session?.WritabilityChanged(context.Channel.IsWritable);
        base.ChannelWritabilityChanged(context);
    }

    public override void UserEventTriggered(IChannelHandlerContext context, object evt)
    {
        if (evt is IdleStateEvent { State: IdleState.ReaderIdle })
            Session.HeartbeatExpired();
        else
            base.UserEventTriggered(context, evt);
    }

    public override void ExceptionCaught(IChannelHandlerContext context, Exception exception)
    {
        // A broken socket or a bug in one session closes that connection only.
        log.LogDebug(exception, "Connection {Connection} failed; closing it", Id);
        context.CloseAsync();
    }

    public void Send(Frame frame)
    {
        if (_context is not { } ctx)
            return;
        // Replies written while this connection's reads are being processed are flushed once at the end of
        // the batch; anything written from another thread (actor pushes, async replies) is flushed at once.
        if (_reading && ctx.Executor.InEventLoop)
            ctx.WriteAsync(frame);
        else
            ctx.WriteAndFlushAsync(frame);
    }

    public void SendAndClose(Frame frame)
    {
        if (_context is not { } ctx)
            return;
        ctx.WriteAndFlushAsync(frame).ContinueWith(_ => ctx.CloseAsync(), TaskContinuationOptions.ExecuteSynchronously);
    }
}
