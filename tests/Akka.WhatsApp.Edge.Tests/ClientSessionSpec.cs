using System.Net;
using Akka.WhatsApp.Edge.Sessions;
using Akka.WhatsApp.Protocol;
using Akka.WhatsApp.Protocol.Framing;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Akka.WhatsApp.Edge.Tests;

/// <summary>The session state machine, transport aside.</summary>
public sealed class ClientSessionSpec
{
    private sealed class RecordingConnection : IClientConnection
    {
        public List<Frame> Sent { get; } = [];
        public bool Closed { get; private set; }
        public string Id => "test";
        public EndPoint? RemoteAddress => null;
        public void Send(Frame frame) => Sent.Add(frame);
        public void SendAndClose(Frame frame) { Sent.Add(frame); Closed = true; }
    }

    private readonly RecordingConnection _connection = new();
    private readonly ClientSession _session;

    public ClientSessionSpec() =>
        _session = new ClientSession(_connection, new EdgeSettings(), TimeProvider.System, NullLogger.Instance);

    private void Hello() => _session.Receive(new Frame { RequestId = 1, Hello = new Hello { ProtocolVersion = ProtocolVersion.Current } });

    [Fact]
    public void Hello_moves_the_session_to_handshaking_and_answers_Welcome()
    {
        Hello();
        Assert.Equal(SessionState.Handshaking, _session.State);
        Assert.Equal(Frame.PacketOneofCase.Welcome, Assert.Single(_connection.Sent).PacketCase);
    }

    [Fact]
    public void A_connection_that_sends_no_Hello_within_the_handshake_time_is_closed_with_HELLO_TIMEOUT()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var silent = new RecordingConnection();
        var session = new ClientSession(silent, new EdgeSettings(), time, NullLogger.Instance);
        time.Advance(new EdgeSettings().HelloTimeout - TimeSpan.FromMilliseconds(1));
        Assert.Empty(silent.Sent);

        time.Advance(TimeSpan.FromMilliseconds(1));
        var error = Assert.Single(silent.Sent);
        Assert.Equal((0u, ErrorCode.HelloTimeout), (error.RequestId, error.Error.Code));
        Assert.True(silent.Closed);
        Assert.Equal(SessionState.Closed, session.State);
    }

    [Fact]
    public void After_Hello_the_handshake_time_no_longer_applies()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var connection = new RecordingConnection();
        var session = new ClientSession(connection, new EdgeSettings(), time, NullLogger.Instance);
        session.Receive(new Frame { RequestId = 1, Hello = new Hello { ProtocolVersion = ProtocolVersion.Current } });
        time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(Frame.PacketOneofCase.Welcome, Assert.Single(connection.Sent).PacketCase);
        Assert.False(connection.Closed);
    }

    [Fact]
    public void An_empty_frame_before_Hello_closes_the_connection_with_UNKNOWN_PACKET()
    {
        _session.Receive(new Frame { RequestId = 4 });
        var error = Assert.Single(_connection.Sent);
        Assert.Equal(ErrorCode.UnknownPacket, error.Error.Code);
        Assert.Equal(4u, error.RequestId);
        Assert.True(_connection.Closed);
    }

    [Fact]
    public void A_server_packet_sent_by_a_client_after_Hello_is_refused_without_closing()
    {
        Hello();
        _session.Receive(new Frame { RequestId = 5, Welcome = new Welcome() });
        Assert.Equal(ErrorCode.UnknownPacket, _connection.Sent[^1].Error.Code);
        Assert.False(_connection.Closed);
    }

    [Fact]
    public void A_refusal_of_a_frame_without_request_id_is_not_sent_since_an_error_with_id_0_announces_a_close()
    {
        Hello();
        _session.Receive(new Frame { Welcome = new Welcome() });
        _session.Receive(new Frame { RequestId = 0, Hello = new Hello { ProtocolVersion = ProtocolVersion.Current } });
        Assert.Single(_connection.Sent); // the Welcome
        Assert.False(_connection.Closed);

        // A close still carries its error, with id 0.
        _session.HeartbeatExpired();
        Assert.Equal((0u, ErrorCode.HeartbeatTimeout), (_connection.Sent[^1].RequestId, _connection.Sent[^1].Error.Code));
    }

    [Fact]
    public void A_second_Hello_is_refused_as_INVALID_ARGUMENT()
    {
        Hello();
        Hello();
        Assert.Equal(ErrorCode.InvalidArgument, _connection.Sent[^1].Error.Code);
        Assert.False(_connection.Closed);
    }

    [Theory]
    [InlineData(DecodeStatus.TooLarge, ErrorCode.FrameTooLarge)]
    [InlineData(DecodeStatus.MalformedLength, ErrorCode.MalformedFrame)]
    [InlineData(DecodeStatus.MalformedBody, ErrorCode.MalformedFrame)]
    public void A_decode_failure_sends_its_error_code_and_closes(DecodeStatus status, ErrorCode expected)
    {
        Hello();
        _session.DecodeFailed(status, 65536);
        Assert.Equal(expected, _connection.Sent[^1].Error.Code);
        Assert.True(_connection.Closed);
        Assert.Equal(SessionState.Closed, _session.State);
    }

    [Fact]
    public void A_silent_connection_is_closed_with_HEARTBEAT_TIMEOUT()
    {
        Hello();
        _session.HeartbeatExpired();
        Assert.Equal(ErrorCode.HeartbeatTimeout, _connection.Sent[^1].Error.Code);
        Assert.True(_connection.Closed);
    }

    [Fact]
    public void Nothing_is_sent_after_the_session_closed()
    {
        _session.Receive(new Frame { Ping = new Ping() });
        var count = _connection.Sent.Count;
        _session.Receive(new Frame { Hello = new Hello { ProtocolVersion = 1 } });
        _session.HeartbeatExpired();
        Assert.Equal(count, _connection.Sent.Count);
    }
}
