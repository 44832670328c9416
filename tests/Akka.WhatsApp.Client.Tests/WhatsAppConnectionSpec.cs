using System.Net;
using System.Net.Sockets;
using Akka.WhatsApp.Protocol;
using Akka.WhatsApp.Protocol.Framing;
using Xunit;

namespace Akka.WhatsApp.Client.Tests;

/// <summary>
/// The connection's correlation and push handling, against a scripted peer on a real loopback socket
/// (the server-side behaviour itself is covered by the integration tests).
/// </summary>
public sealed class WhatsAppConnectionSpec : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private TcpClient _peer = null!;
    private NetworkStream _peerStream = null!;
    private FrameReader _peerReader = null!;
    private WhatsAppConnection _connection = null!;

    public async Task InitializeAsync()
    {
        _listener.Start();
        var accept = _listener.AcceptTcpClientAsync();
        _connection = await WhatsAppConnection.ConnectAsync("127.0.0.1", ((IPEndPoint)_listener.LocalEndpoint).Port);
        _peer = await accept;
        _peerStream = _peer.GetStream();
        _peerReader = new FrameReader(_peerStream, FrameCodec.DefaultMaxFrameSize);
    }

    public async Task DisposeAsync()
    {
        await _connection.DisposeAsync();
        _peer.Dispose();
        _listener.Stop();
    }

    [Fact]
    public async Task A_connection_can_be_made_from_a_chosen_local_address()
    {
        // A load generator spreads connections over 127.0.0.x so that one address pair's ports are no limit.
        var listener = new TcpListener(IPAddress.Any, 0);
        listener.Start();
        try
        {
            var accept = listener.AcceptTcpClientAsync();
            await using var from3 = await WhatsAppConnection.ConnectAsync("127.0.0.1", ((IPEndPoint)listener.LocalEndpoint).Port,
                localAddress: IPAddress.Parse("127.0.0.3"));
            using var accepted = await accept.WaitAsync(Wait);
            Assert.Equal(IPAddress.Parse("127.0.0.3"), ((IPEndPoint)accepted.Client.RemoteEndPoint!).Address);
        }
        finally
        {
            listener.Stop();
        }
    }

    [Fact]
    public async Task Replies_are_matched_to_their_requests_by_request_id_even_out_of_order()
    {
        var first = _connection.RequestAsync(new Frame { Ping = new Ping { ClientTimestamp = 1 } });
        var second = _connection.RequestAsync(new Frame { Ping = new Ping { ClientTimestamp = 2 } });
        var a = (await _peerReader.ReadAsync())!;
        var b = (await _peerReader.ReadAsync())!;
        Assert.NotEqual(0u, a.RequestId);
        Assert.NotEqual(a.RequestId, b.RequestId);

        await _peerStream.WriteFrameAsync(new Frame { RequestId = b.RequestId, Pong = new Pong { ClientTimestamp = b.Ping.ClientTimestamp } });
        await _peerStream.WriteFrameAsync(new Frame { RequestId = a.RequestId, Pong = new Pong { ClientTimestamp = a.Ping.ClientTimestamp } });

        Assert.Equal(1ul, (await first.WaitAsync(Wait)).Pong.ClientTimestamp);
        Assert.Equal(2ul, (await second.WaitAsync(Wait)).Pong.ClientTimestamp);
    }

    [Fact]
    public async Task An_error_reply_throws_with_its_code()
    {
        var request = _connection.RequestAsync(new Frame { Ping = new Ping() });
        var sent = (await _peerReader.ReadAsync())!;
        await _peerStream.WriteFrameAsync(new Frame { RequestId = sent.RequestId, Error = new Error { Code = ErrorCode.RateLimited, Message = "slow down" } });

        var e = await Assert.ThrowsAsync<ServerErrorException>(() => request.WaitAsync(Wait));
        Assert.Equal(ErrorCode.RateLimited, e.Code);
    }

    [Fact]
    public async Task Pushes_arrive_in_order_and_complete_when_the_server_closes()
    {
        for (uint i = 1; i <= 3; i++)
            await _peerStream.WriteFrameAsync(new Frame { Pong = new Pong { ClientTimestamp = i } });
        _peer.Close();

        var got = new List<ulong>();
        await foreach (var frame in _connection.Pushes.ReadAllAsync().WithCancellation(new CancellationTokenSource(Wait).Token))
            got.Add(frame.Pong.ClientTimestamp);
        Assert.Equal([1ul, 2ul, 3ul], got);
    }

    [Fact]
    public async Task A_pending_request_fails_when_the_connection_closes()
    {
        var request = _connection.RequestAsync(new Frame { Ping = new Ping() });
        await _peerReader.ReadAsync();
        _peer.Close();
        await Assert.ThrowsAsync<IOException>(() => request.WaitAsync(Wait));
    }
}
