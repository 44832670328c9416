using Akka.WhatsApp.Domain.Messaging;
using Akka.WhatsApp.Edge.Handlers;
using Akka.WhatsApp.Protocol.Framing;
using Microsoft.Extensions.Logging;
using static Akka.WhatsApp.Edge.Handlers.EdgeSessionExtensions;

namespace Akka.WhatsApp.Edge.Sessions;

/// <summary>Where a connection stands in the handshake (protocol/PROTOCOL.md, "Connection state machine").</summary>
public enum SessionState
{
    /// <summary>Connected; the first frame must be Hello.</summary>
    AwaitingHello,

    /// <summary>Hello accepted; only registration, login and ping are allowed.</summary>
    Handshaking,

    /// <summary>A login or registration is being checked; further requests wait for its answer.</summary>
    LoggingIn,

    /// <summary>Logged in as a user's device.</summary>
    Authenticated,

    Closed,
}

/// <summary>
/// The protocol state machine of one client connection, independent of the transport that carries it: it checks
/// that a packet is allowed in the connection's state (PROTOCOL.md §4), then hands it to the handler of its area
/// found in the <see cref="PacketTable"/>, within the in-flight limit and the send rate, and turns failures into
/// error codes. Frames arrive on the transport's thread; requests run asynchronously, so state changes take a lock.
/// </summary>
public sealed class ClientSession : IEdgeSession
{
    /// <summary>Unanswered requests allowed per connection (announced in Welcome).</summary>
    public const int MaxInFlight = 64;

    private readonly IClientConnection _connection;
    private readonly EdgeSettings _settings;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly Func<EdgeBackend>? _backend;
    private readonly PacketTable _packets;
    private readonly object _gate = new();
    private readonly SendRateLimiter _sendRate;
    private readonly RequestRunner _requests;
    private IActorRef? _deviceActor;
    private IActorRef? _linkWaiter;
    private PresenceSubscriptions? _presence;

    public ClientSession(IClientConnection connection, EdgeSettings settings, TimeProvider time, ILogger log, Func<EdgeBackend>? backend = null,
        PacketTable? packets = null)
    {
        _connection = connection;
        _settings = settings;
        _time = time;
        _log = log;
        _backend = backend;
        _packets = backend is null ? PacketTable.Empty : packets ?? EdgeHandlers.Table;
        _sendRate = new SendRateLimiter(settings.SendsPerSecond, settings.SendBurst, time);
        _requests = new RequestRunner(this, connection, settings.Metrics, log);
        SessionId = Convert.ToHexString(Guid.NewGuid().ToByteArray()).ToLowerInvariant();
        _helloTimer = time.CreateTimer(_ => HelloTimedOut(), null, settings.HelloTimeout, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Runs out <see cref="EdgeSettings.HelloTimeout"/> after the connection opened; stopped by Hello.</summary>
    private readonly ITimer _helloTimer;

    private void HelloTimedOut()
    {
        lock (_gate)
            if (State != SessionState.AwaitingHello)
                return;
        Close(ErrorFrame(0, ErrorCode.HelloTimeout, $"no Hello within {_settings.HelloTimeout.TotalSeconds:0.#} s of connecting"));
    }

    public string SessionId { get; }

    public SessionState State { get; private set; } = SessionState.AwaitingHello;

    /// <summary>The logged-in user and device, once authenticated.</summary>
    public UserId User { get; private set; }

    public DeviceId Device { get; private set; }

    public EdgeBackend Backend => _backend?.Invoke() ?? throw new InvalidOperationException("this edge has no backend");

    public EdgeSettings Settings => _settings;

    public TimeProvider Time => _time;

    public ILogger Log => _log;

    public Platform Platform { get; private set; }

    public System.Net.IPAddress? RemoteAddress => (_connection.RemoteAddress as System.Net.IPEndPoint)?.Address is { } a
        ? a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a
        : null;

    public SendOrder SendOrder { get; } = new();

    public SendRateLimiter KeyFetches => _keyFetches ??= new SendRateLimiter(EdgeSettings.KeyFetchesPerSecond, EdgeSettings.KeyFetchBurst, _time);

    private SendRateLimiter? _keyFetches;

    public PresenceSubscriptions Presence
    {
        get
        {
            lock (_gate)
                return _presence ??= new PresenceSubscriptions();
        }
    }

    public IActorRef? DeviceActor
    {
        get
        {
            lock (_gate)
                return _deviceActor;
        }
    }

    /// <summary>Handles one decoded frame from the client.</summary>
    public void Receive(Frame frame)
    {
        SessionState state;
        lock (_gate)
            state = State;
        if (state == SessionState.Closed)
            return;

        if (!PacketKinds.IsClientPacket(frame.PacketCase))
        {
            // An empty frame, a server packet sent by a client, or a packet newer than this server.
            Reply(frame, ErrorCode.UnknownPacket, $"packet {PacketKinds.Describe(frame)} is not a client request this server knows",
                close: state == SessionState.AwaitingHello);
            return;
        }

        switch (state)
        {
            case SessionState.AwaitingHello when frame.PacketCase == Frame.PacketOneofCase.Hello:
                OnHello(frame);
                break;
            case SessionState.AwaitingHello:
                Reply(frame, ErrorCode.Unauthenticated, "the first frame must be Hello", close: true);
                break;
            case SessionState.Handshaking:
                OnHandshakePacket(frame);
                break;
            case SessionState.LoggingIn when frame.PacketCase == Frame.PacketOneofCase.Ping:
                SendPong(frame);
                break;
            case SessionState.LoggingIn:
                Reply(frame, ErrorCode.Unauthenticated, $"{frame.PacketCase} must wait for the answer to the login", close: false);
                break;
            case SessionState.Authenticated:
                OnAuthenticatedPacket(frame);
                break;
        }
    }

    /// <summary>The frame decoder gave up on the byte stream: tell the client why, then close.</summary>
    /// <param name="limit">The largest frame allowed at that point: 1,024 bytes for the first (Hello), then the maximum frame.</param>
    public void DecodeFailed(DecodeStatus status, int limit)
    {
        var (code, message) = status == DecodeStatus.TooLarge
            ? (ErrorCode.FrameTooLarge, limit < _settings.MaxFrameSize
                ? $"the first frame (Hello) must fit in {limit} bytes"
                : $"frame exceeds the maximum of {limit} bytes")
            : (ErrorCode.MalformedFrame, $"malformed frame ({status})");
        _log.LogDebug("Connection {Connection}: {Message}", _connection.Id, message);
        Close(ErrorFrame(0, code, message));
    }

    /// <summary>Nothing arrived for three heartbeat intervals.</summary>
    public void HeartbeatExpired() =>
        Close(ErrorFrame(0, ErrorCode.HeartbeatTimeout, $"no frame for {3 * _settings.HeartbeatInterval.TotalSeconds:0} s"));

    /// <summary>The transport's outbound buffer crossed a water mark: pause or resume deliveries to this device.</summary>
    public void WritabilityChanged(bool writable) => DeviceActor?.Tell(new DeviceSessionActor.Writable(writable));

    /// <summary>The transport closed the connection.</summary>
    public void Closed()
    {
        IActorRef? actor, waiter;
        _helloTimer.Dispose();
        lock (_gate)
        {
            State = SessionState.Closed;
            (actor, waiter) = (_deviceActor, _linkWaiter);
            (_deviceActor, _linkWaiter) = (null, null);
        }
        actor?.Tell(DeviceSessionActor.ConnectionClosed.Instance);
        waiter?.Tell(PoisonPill.Instance);
    }

    private void OnHello(Frame frame)
    {
        var hello = frame.Hello;
        if (hello.ProtocolVersion < ProtocolVersion.MinimumSupported)
        {
            Reply(frame, ErrorCode.UpgradeRequired,
                $"protocol version {hello.ProtocolVersion} is no longer supported; the minimum is {ProtocolVersion.MinimumSupported}", close: true);
            return;
        }

        _helloTimer.Dispose();
        lock (_gate)
            State = SessionState.Handshaking;
        Platform = hello.Platform;
        _connection.Send(new Frame
        {
            RequestId = frame.RequestId,
            Welcome = new Welcome
            {
                ServerTime = (ulong)_time.GetUtcNow().ToUnixTimeMilliseconds(),
                SessionId = SessionId,
                MaxFrame = (uint)_settings.MaxFrameSize,
                HeartbeatIntervalSeconds = (uint)_settings.HeartbeatInterval.TotalSeconds,
                ProtocolVersion = ProtocolVersion.Current,
                MaxInFlightRequests = MaxInFlight,
            },
        });
    }

    private void OnHandshakePacket(Frame frame)
    {
        switch (frame.PacketCase)
        {
            case Frame.PacketOneofCase.Ping:
                SendPong(frame);
                break;
            case Frame.PacketOneofCase.Hello:
                Reply(frame, ErrorCode.InvalidArgument, "Hello was already received", close: false);
                break;
            case var p when _packets.TryGet(p, out var route) && route.BeforeLogin:
                Dispatch(frame, route);
                break;
            case var p when PacketKinds.IsHandshake(p):
                Reply(frame, ErrorCode.NotImplemented, $"{p} is not implemented by this server yet", close: false);
                break;
            default:
                Reply(frame, ErrorCode.Unauthenticated, $"{frame.PacketCase} needs a logged-in session", close: true);
                break;
        }
    }

    private void OnAuthenticatedPacket(Frame frame)
    {
        switch (frame.PacketCase)
        {
            case Frame.PacketOneofCase.Ping:
                SendPong(frame);
                break;
            case var p when PacketKinds.IsHandshake(p) || p == Frame.PacketOneofCase.Hello:
                Reply(frame, ErrorCode.InvalidArgument, $"{p} is not allowed on a logged-in connection", close: false);
                break;
            case var p when _packets.TryGet(p, out var route) && !route.BeforeLogin:
                Dispatch(frame, route);
                break;
            default:
                Reply(frame, ErrorCode.NotImplemented, $"{frame.PacketCase} is not implemented by this server yet", close: false);
                break;
        }
    }

    private void Dispatch(Frame frame, PacketRoute route)
    {
        switch (route.Run)
        {
            case PacketRun.Immediate:
                route.Immediate!(frame, this);
                break;
            case PacketRun.Send when !_sendRate.TryTake():
                // Sends (1:1 and group) share one token bucket per connection.
                Reply(frame, ErrorCode.RateLimited, $"more than {_settings.SendsPerSecond} sends per second", close: false,
                    retryAfterMs: (ulong)(1000 / Math.Max(1, _settings.SendsPerSecond)));
                break;
            case PacketRun.Login:
                BeginLogin(frame, route.Request!);
                break;
            default:
                _requests.Run(frame, route.Request!);
                break;
        }
    }

    /// <summary>Moves to LoggingIn while the handler checks credentials; back to Handshaking if it fails.</summary>
    private void BeginLogin(Frame frame, RequestHandler handler)
    {
        lock (_gate)
        {
            if (State != SessionState.Handshaking)
                return;
            State = SessionState.LoggingIn;
        }
        _requests.Run(frame, async (f, session) =>
        {
            try
            {
                return await handler(f, session);
            }
            catch
            {
                lock (_gate)
                    if (State == SessionState.LoggingIn)
                        State = SessionState.Handshaking;
                throw;
            }
        });
    }

    public void LoggedIn(UserId user, DeviceToken token, long generation, long ackedUpTo, Func<long, Frame> loginReply, bool hasKeys = false)
    {
        lock (_gate)
        {
            if (State != SessionState.LoggingIn)
                return;
            User = user;
            Device = token.Device;
            State = SessionState.Authenticated;
            var backend = Backend;
            _deviceActor = backend.System.ActorOf(
                Props.Create(() => new DeviceSessionActor(user, token, generation, ackedUpTo, _settings.DeliveryWindow, _connection, backend, loginReply, Close,
                    _time, _settings.Metrics, hasKeys)),
                $"session-{SessionId}");
        }
    }

    public void WaitForLink(Func<IActorRef> start)
    {
        lock (_gate)
        {
            _linkWaiter?.Tell(PoisonPill.Instance);
            _linkWaiter = start();
        }
    }

    public void Send(Frame frame)
    {
        if (!IsClosed)
            _connection.Send(frame);
    }

    public void Refuse(Frame request, ErrorCode code, string message) => Reply(request, code, message, close: false);

    /// <summary>Answers <paramref name="request"/> with an error that says when to retry, or which device lists were stale.</summary>
    internal void Refuse(Frame request, ErrorCode code, string message, ulong retryAfterMs, IEnumerable<StaleDevices> stale) =>
        Reply(request, code, message, close: false, retryAfterMs, stale);

    private void SendPong(Frame frame) =>
        _connection.Send(new Frame
        {
            RequestId = frame.RequestId,
            Pong = new Pong
            {
                ClientTimestamp = frame.Ping.ClientTimestamp,
                ServerTimestamp = (ulong)_time.GetUtcNow().ToUnixTimeMilliseconds(),
            },
        });

    private void Reply(Frame request, ErrorCode code, string message, bool close, ulong retryAfterMs = 0, IEnumerable<StaleDevices>? stale = null)
    {
        var error = ErrorFrame(request.RequestId, code, message);
        error.Error.RetryAfterMs = retryAfterMs;
        if (stale is not null)
            error.Error.StaleDevices.AddRange(stale);
        if (close)
            Close(error);
        else if (request.RequestId != 0 && !IsClosed)
            _connection.Send(error);
        // else: an Error with request_id 0 always announces the end of the connection (PROTOCOL.md §3); a refused
        // notification or request without an id is dropped instead, so that a client never mistakes one for the other.
    }

    internal bool IsClosed
    {
        get
        {
            lock (_gate)
                return State == SessionState.Closed;
        }
    }

    public void Close(Frame lastFrame)
    {
        lock (_gate)
        {
            if (State == SessionState.Closed)
                return;
            State = SessionState.Closed;
        }
        _connection.SendAndClose(lastFrame);
    }
}
