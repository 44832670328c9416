using System.Net;
using Akka.WhatsApp.Client;
using Akka.WhatsApp.Host;
using Akka.WhatsApp.Protocol;
using Akka.WhatsApp.Protocol.Framing;
using Xunit;

namespace Akka.WhatsApp.Integration.Tests;

/// <summary>One node on SQLite shared by the handshake tests.</summary>
public sealed class SqliteNodeFixture : IAsyncLifetime
{
    public WhatsAppNode Node { get; private set; } = null!;
    public IPEndPoint Edge { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Node = await TestNodes.StartAsync(await TestNodes.SettingsAsync(JournalKind.Sqlite));
        Edge = await Node.EdgeEndpoint;
    }

    public async Task DisposeAsync() => await Node.DisposeAsync();
}

/// <summary>The handshake and bad input over real TCP against a real node.</summary>
public sealed class EdgeHandshakeSpec(SqliteNodeFixture fixture) : IClassFixture<SqliteNodeFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private Task<WhatsAppConnection> ConnectAsync() => WhatsAppConnection.ConnectAsync("127.0.0.1", fixture.Edge.Port);

    /// <summary>
    /// PROTOCOL.md §2, "Closing": a client that keeps writing after its malformed frame still reads the server's error and
    /// then an orderly end of stream, never a reset (which would have thrown the error away on its way).
    /// </summary>
    [Theory]
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF }, ErrorCode.MalformedFrame)]
    [InlineData(new byte[] { 0x02, 0x08, 0x01 }, ErrorCode.UnknownPacket)] // a first frame without a packet
    public async Task A_client_that_keeps_writing_after_a_refused_frame_reads_the_error_and_an_orderly_close(byte[] bad, ErrorCode expected)
    {
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, fixture.Edge.Port);
        // The refused bytes, then 4 MiB more without reading anything: the server has unread input when it gives up.
        var junk = new byte[64 * 1024];
        Random.Shared.NextBytes(junk);
        Exception? writeFailure = null;
        try
        {
            await socket.SendAsync(bad);
            for (var sent = 0; sent < 4 << 20; sent += junk.Length)
                await socket.SendAsync(junk).WaitAsync(Wait);
        }
        catch (System.Net.Sockets.SocketException e)
        {
            writeFailure = e; // a reset: the server closed without reading what it was sent
        }

        var received = new List<byte>();
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(Wait);
        int read;
        var readFailure = await Record.ExceptionAsync(async () =>
        {
            while ((read = await socket.ReceiveAsync(buffer, timeout.Token)) > 0) // a reset throws here
                received.AddRange(buffer.AsSpan(0, read).ToArray());
        });

        Assert.True(writeFailure is null && readFailure is null, $"the connection was reset: {(writeFailure ?? readFailure)?.Message}");
        Assert.Equal(DecodeStatus.Frame, FrameCodec.TryDecode(received.ToArray(), 1 << 20, out var frame, out var consumed));
        Assert.Equal(expected, frame!.Error.Code);
        Assert.Equal(received.Count, consumed);
    }

    [Fact]
    public async Task Hello_is_answered_with_Welcome_carrying_the_session_limits()
    {
        await using var connection = await ConnectAsync();
        var welcome = await connection.HelloAsync().WaitAsync(Wait);

        Assert.Equal(ProtocolVersion.Current, welcome.ProtocolVersion);
        Assert.Equal((uint)FrameCodec.DefaultMaxFrameSize, welcome.MaxFrame);
        Assert.Equal(30u, welcome.HeartbeatIntervalSeconds);
        Assert.False(string.IsNullOrEmpty(welcome.SessionId));
        Assert.InRange((long)welcome.ServerTime, DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeMilliseconds(),
            DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds());
    }

    [Fact]
    public async Task Ping_after_Hello_is_answered_with_Pong_echoing_the_client_timestamp()
    {
        await using var connection = await ConnectAsync();
        await connection.HelloAsync().WaitAsync(Wait);
        var pong = await connection.RequestAsync(new Frame { Ping = new Ping { ClientTimestamp = 12345 } }).WaitAsync(Wait);
        Assert.Equal(12345ul, pong.Pong.ClientTimestamp);
    }

    [Fact]
    public async Task A_login_with_unknown_credentials_is_refused_BAD_CREDENTIALS_and_the_connection_stays_open()
    {
        await using var connection = await ConnectAsync();
        await connection.HelloAsync().WaitAsync(Wait);

        var error = await Assert.ThrowsAsync<ServerErrorException>(() =>
            connection.RequestAsync(new Frame { Login = new Login { UserId = "u1", DeviceId = 1, Token = Google.Protobuf.ByteString.CopyFromUtf8("t") } }).WaitAsync(Wait));
        Assert.Equal(ErrorCode.BadCredentials, error.Code);

        var pong = await connection.RequestAsync(new Frame { Ping = new Ping { ClientTimestamp = 1 } }).WaitAsync(Wait);
        Assert.Equal(Frame.PacketOneofCase.Pong, pong.PacketCase);
    }

    [Fact]
    public async Task A_packet_before_Hello_is_refused_UNAUTHENTICATED_and_the_connection_closes()
    {
        await using var connection = await ConnectAsync();
        var error = await Assert.ThrowsAsync<ServerErrorException>(() =>
            connection.RequestAsync(new Frame { Ping = new Ping() }).WaitAsync(Wait));
        Assert.Equal(ErrorCode.Unauthenticated, error.Code);
        await connection.Closed.WaitAsync(Wait);
    }

    [Fact]
    public async Task A_request_that_needs_a_login_is_refused_UNAUTHENTICATED_after_Hello()
    {
        await using var connection = await ConnectAsync();
        await connection.HelloAsync().WaitAsync(Wait);
        var error = await Assert.ThrowsAsync<ServerErrorException>(() =>
            connection.RequestAsync(new Frame { Typing = new Typing { To = "someone" } }).WaitAsync(Wait));
        Assert.Equal(ErrorCode.Unauthenticated, error.Code);
        await connection.Closed.WaitAsync(Wait);
    }

    [Fact]
    public async Task A_too_old_protocol_version_is_refused_UPGRADE_REQUIRED()
    {
        await using var connection = await ConnectAsync();
        var error = await Assert.ThrowsAsync<ServerErrorException>(() =>
            connection.RequestAsync(new Frame { Hello = new Hello { ProtocolVersion = 0 } }).WaitAsync(Wait));
        Assert.Equal(ErrorCode.UpgradeRequired, error.Code);
        await connection.Closed.WaitAsync(Wait);
    }

    [Fact]
    public async Task An_oversize_frame_gets_FRAME_TOO_LARGE_and_closes_only_that_connection()
    {
        await using var bystander = await ConnectAsync();
        await bystander.HelloAsync().WaitAsync(Wait);

        await using var offender = await ConnectAsync();
        var prefix = new byte[5];
        var n = Varint32.Write(prefix, (uint)FrameCodec.DefaultMaxFrameSize + 1);
        await offender.SendRawAsync(prefix.AsMemory(0, n));

        var error = await ReadErrorAsync(offender);
        Assert.Equal(ErrorCode.FrameTooLarge, error.Code);
        await offender.Closed.WaitAsync(Wait);

        await AssertStillServesAsync(bystander);
    }

    [Fact]
    public async Task Garbage_bytes_get_MALFORMED_FRAME_and_close_only_that_connection()
    {
        await using var bystander = await ConnectAsync();
        await bystander.HelloAsync().WaitAsync(Wait);

        await using var offender = await ConnectAsync();
        // A valid length followed by bytes that are not a Protobuf Frame (field 0 / wire type 7 is illegal).
        await offender.SendRawAsync(new byte[] { 4, 0xFF, 0xFF, 0xFF, 0xFF });

        var error = await ReadErrorAsync(offender);
        Assert.Equal(ErrorCode.MalformedFrame, error.Code);
        await offender.Closed.WaitAsync(Wait);

        await AssertStillServesAsync(bystander);
    }

    [Fact]
    public async Task A_truncated_frame_followed_by_a_disconnect_does_not_disturb_other_connections()
    {
        await using var bystander = await ConnectAsync();
        await bystander.HelloAsync().WaitAsync(Wait);

        await using (var offender = await ConnectAsync())
            await offender.SendRawAsync(new byte[] { 100, 1, 2, 3 });

        await AssertStillServesAsync(bystander);
        await using var newcomer = await ConnectAsync();
        await newcomer.HelloAsync().WaitAsync(Wait);
    }

    private static async Task<Error> ReadErrorAsync(WhatsAppConnection connection)
    {
        var frame = await connection.Pushes.ReadAsync().AsTask().WaitAsync(Wait);
        Assert.Equal(Frame.PacketOneofCase.Error, frame.PacketCase);
        return frame.Error;
    }

    private static async Task AssertStillServesAsync(WhatsAppConnection connection)
    {
        var pong = await connection.RequestAsync(new Frame { Ping = new Ping { ClientTimestamp = 7 } }).WaitAsync(Wait);
        Assert.Equal(7ul, pong.Pong.ClientTimestamp);
    }
}
