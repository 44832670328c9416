using Akka.WhatsApp.Protocol;
using Akka.WhatsApp.Protocol.Framing;
using Microsoft.Extensions.Logging;

namespace Akka.WhatsApp.Edge.Sessions;

/// <summary>Where a connection stands in the handshake (protocol/PROTOCOL.md, "Connection state machine").</summary>
public enum SessionState
{
    /// <summary>Connected; the first frame must be Hello.</summary>
    AwaitingHello,

    /// <summary>Hello accepted; only registration, login and ping are allowed.</summary>
    Handshaking,

    /// <summary>Logged in as a user's device.</summary>
    Authenticated,

    Closed,
}

/// <summary>
/// The protocol state machine of one client connection, independent of the transport that carries it.
/// The transport calls it from one thread at a time per connection (DotNetty's channel event loop).
/// </summary>
public sealed class ClientSession
{
    private readonly IClientConnection _connection;
    private readonly EdgeSettings _settings;
    private readonly TimeProvider _time;
    private readonly ILogger _log;

    public ClientSession(IClientConnection connection, EdgeSettings settings, TimeProvider time, ILogger log)
    {
        _connection = connection;
        _settings = settings;
        _time = time;
        _log = log;
        SessionId = Convert.ToHexString(Guid.NewGuid().ToByteArray()).ToLowerInvariant();
    }

    public string SessionId { get; }

    public SessionState State { get; private set; } = SessionState.AwaitingHello;

    /// <summary>Handles one decoded frame from the client.</summary>
    public void Receive(Frame frame)
    {
        if (State == SessionState.Closed)
            return;

        if (!PacketKinds.IsClientPacket(frame.PacketCase))
        {
            // An empty frame, a server packet sent by a client, or a packet newer than this server.
            var fatal = State == SessionState.AwaitingHello;
            Reply(frame, ErrorCode.UnknownPacket, $"packet {PacketKinds.Describe(frame)} is not a client request this server knows", fatal);
            return;
        }

        switch (State)
        {
            case SessionState.AwaitingHello:
                if (frame.PacketCase == Frame.PacketOneofCase.Hello)
                    OnHello(frame);
                else
                    Reply(frame, ErrorCode.Unauthenticated, "the first frame must be Hello", close: true);
                break;

            case SessionState.Handshaking:
                OnHandshakePacket(frame);
                break;

            case SessionState.Authenticated:
                OnAuthenticatedPacket(frame);
                break;
        }
    }

    /// <summary>The frame decoder gave up on the byte stream: tell the client why, then close.</summary>
    public void DecodeFailed(DecodeStatus status)
    {
        if (State == SessionState.Closed)
            return;
        var (code, message) = status == DecodeStatus.TooLarge
            ? (ErrorCode.FrameTooLarge, $"frame exceeds the maximum of {_settings.MaxFrameSize} bytes")
            : (ErrorCode.MalformedFrame, $"malformed frame ({status})");
        _log.LogDebug("Connection {Connection}: {Message}", _connection.Id, message);
        Close(ErrorFrame(0, code, message));
    }

    /// <summary>Nothing arrived for three heartbeat intervals.</summary>
    public void HeartbeatExpired()
    {
        if (State == SessionState.Closed)
            return;
        Close(ErrorFrame(0, ErrorCode.HeartbeatTimeout, $"no frame for {3 * _settings.HeartbeatInterval.TotalSeconds:0} s"));
    }

    /// <summary>The transport closed the connection.</summary>
    public void Closed() => State = SessionState.Closed;

    private void OnHello(Frame frame)
    {
        var hello = frame.Hello;
        if (hello.ProtocolVersion < ProtocolVersion.MinimumSupported)
        {
            Reply(frame, ErrorCode.UpgradeRequired,
                $"protocol version {hello.ProtocolVersion} is no longer supported; the minimum is {ProtocolVersion.MinimumSupported}", close: true);
            return;
        }

        State = SessionState.Handshaking;
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
        if (frame.PacketCase == Frame.PacketOneofCase.Ping)
            SendPong(frame);
        else
            Reply(frame, ErrorCode.NotImplemented, $"{frame.PacketCase} is not implemented by this server yet", close: false);
    }

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

    private void Reply(Frame request, ErrorCode code, string message, bool close)
    {
        var error = ErrorFrame(request.RequestId, code, message);
        if (close)
            Close(error);
        else
            _connection.Send(error);
    }

    private void Close(Frame lastFrame)
    {
        State = SessionState.Closed;
        _connection.SendAndClose(lastFrame);
    }

    private static Frame ErrorFrame(uint requestId, ErrorCode code, string message) =>
        new() { RequestId = requestId, Error = new Error { Code = code, Message = message } };
}
