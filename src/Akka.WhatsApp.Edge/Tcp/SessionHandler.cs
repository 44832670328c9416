using System.Net;
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
        if (Volatile.Read(ref _closing) == 1)
            return; // frames decoded before the close: the session ignores them anyway
        _reading = true;
        switch (message)
        {
            case Frame frame:
                OnDefaultScheduler(Session.Receive, frame);
                break;
            case FrameDecodeFailure failure:
                Session.DecodeFailed(failure.Status, failure.Limit);
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
        // A broken socket or a bug in one session closes that connection only. A peer that went away is routine
        // (mobile networks drop connections all day); anything else is a defect of ours and is logged as one.
        if (IsPeerGone(exception))
            log.LogDebug("Connection {Connection} dropped by the network: {Reason}", Id, exception.Message);
        else
            log.LogWarning(exception, "Connection {Connection} failed; closing it", Id);
        context.CloseAsync();
    }

    /// <summary>Resets, aborts and timeouts of the socket itself, however DotNetty wraps them.</summary>
    public static bool IsPeerGone(Exception exception) => exception switch
    {
        System.Net.Sockets.SocketException => true,
        ObjectDisposedException => true,
        DotNetty.Transport.Channels.ClosedChannelException => true,
        IOException { InnerException: { } inner } => IsPeerGone(inner),
        IOException => true,
        AggregateException { InnerExceptions.Count: 1 } one => IsPeerGone(one.InnerExceptions[0]),
        _ => false,
    };

    /// <summary>
    /// Sends a frame. Replies written while this connection's reads are being processed are flushed once at the
    /// end of the read batch. Frames from other threads (pushes from actors, replies after an Ask) go through
    /// <see cref="_outbound"/>: the first one schedules a single drain on the event loop, and whatever queued up
    /// until it runs is written and flushed together — one event-loop task and one socket write for a burst,
    /// where writing each frame on its own cost one of each (the send path was 40 % of the server's CPU under load).
    /// </summary>
    public void Send(Frame frame)
    {
        if (_context is not { } ctx)
            return;
        if (ctx.Executor.InEventLoop)
        {
            WriteQueued(ctx); // what other threads sent before this goes first
            if (_reading)
                ctx.WriteAsync(frame);
            else
                ctx.WriteAndFlushAsync(frame);
            return;
        }
        _outbound.Enqueue(frame);
        if (Interlocked.Exchange(ref _drainScheduled, 1) == 0)
            ctx.Executor.Execute(_drain ??= () => Drain(ctx));
    }

    private readonly System.Collections.Concurrent.ConcurrentQueue<Frame> _outbound = new();
    private int _drainScheduled;
    private Action? _drain;

    private void Drain(IChannelHandlerContext ctx)
    {
        // A frame enqueued from now on schedules the next drain. A full fence, not Volatile.Write: a release store lets
        // the queue reads below move before it (store-load reordering, also on x86), and then a frame enqueued in
        // between finds the flag still set, schedules nothing and stays queued until some later frame (the last
        // message before a quiet spell was never pushed: seen in the kill -9 test).
        Interlocked.Exchange(ref _drainScheduled, 0);
        if (WriteQueued(ctx) && !_reading)
            ctx.Flush();
    }

    /// <summary>Writes (without flushing) what other threads queued; true if there was anything.</summary>
    private bool WriteQueued(IChannelHandlerContext ctx)
    {
        var any = false;
        while (_outbound.TryDequeue(out var queued))
        {
            ctx.WriteAsync(queued);
            any = true;
        }
        return any;
    }

    /// <summary>How long a closing connection keeps reading (and dropping) what the peer still sends after the last frame.</summary>
    public static readonly TimeSpan CloseLinger = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Ends the connection so that the peer reads <paramref name="frame"/> (PROTOCOL.md §2, "Closing"): from now on input
    /// is read and dropped, the frame is written, and the socket is closed when the peer closes its side or after
    /// <see cref="CloseLinger"/>. Closing at once with input still unread makes the kernel answer with a reset, which
    /// discards the error on its way (about 1 in 10,000 fuzzed connections lost it so). There is no half-close (FIN)
    /// first: DotNetty 0.7.6 takes a socket whose output is shut down for a closed one and resets it at its next read.
    /// </summary>
    public void SendAndClose(Frame frame)
    {
        if (_context is not { } ctx || Interlocked.Exchange(ref _closing, 1) == 1)
            return;
        ctx.Executor.Execute(() =>
        {
            if (ctx.Channel.Pipeline.Get("frame-decoder") is not null)
                ctx.Channel.Pipeline.Replace("frame-decoder", "discard", new DiscardInbound());
            WriteQueued(ctx); // pushes sent before the closing frame still reach the peer ahead of it
            ctx.WriteAndFlushAsync(frame).ContinueWith(written =>
            {
                if (written.IsCompletedSuccessfully && ctx.Channel is DotNetty.Transport.Channels.Sockets.TcpSocketChannel { Active: true })
                    _ = ctx.Executor.Schedule(() => _ = ctx.CloseAsync(), CloseLinger);
                else
                    _ = ctx.CloseAsync(); // not a TCP socket (tests' embedded channels), or already broken
            }, TaskContinuationOptions.ExecuteSynchronously);
        });
    }

    private int _closing;

    /// <summary>Takes the place of the frame decoder on a closing connection: what the peer still sends is read and dropped.</summary>
    private sealed class DiscardInbound : ChannelHandlerAdapter
    {
        public override void ChannelRead(IChannelHandlerContext context, object message) => DotNetty.Common.Utilities.ReferenceCountUtil.Release(message);
    }
}
