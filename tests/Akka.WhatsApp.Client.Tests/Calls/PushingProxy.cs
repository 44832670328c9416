using System.Net;
using System.Net.Sockets;
using Akka.WhatsApp.Protocol;
using Akka.WhatsApp.Protocol.Framing;

namespace Akka.WhatsApp.Client.Tests.Calls;

/// <summary>
/// Stands between a client and a <see cref="ScriptedServer"/> (which pushes only right after a login) and pushes what a
/// test gives it at any time, between the server's own frames: call signals arrive in the middle of a session.
/// </summary>
internal sealed class PushingProxy : IAsyncDisposable
{
    private readonly ScriptedServer _server;
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _writing = new(1, 1);
    private readonly Task _accepting;
    private volatile Stream? _client;

    public PushingProxy(ScriptedServer server)
    {
        _server = server;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public ClientOptions Options => _server.Options with { Port = Port };

    /// <summary>Pushes a frame to the client connected now (a test pushes once the client has logged in).</summary>
    public Task PushAsync(CallSignal signal) => PushAsync(new Frame { CallSignal = signal });

    public async Task PushAsync(Frame push)
    {
        var client = _client ?? throw new InvalidOperationException("no client is connected to push to");
        await WriteAsync(client, push);
    }

    private async Task WriteAsync(Stream client, Frame frame)
    {
        await _writing.WaitAsync(_stop.Token);
        try
        {
            await client.WriteFrameAsync(frame, _stop.Token);
        }
        finally
        {
            _writing.Release();
        }
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                _ = Task.Run(() => RelayAsync(client));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        using var _ = client;
        using var upstream = new TcpClient();
        try
        {
            await upstream.ConnectAsync(IPAddress.Loopback, _server.Port, _stop.Token);
            var toClient = client.GetStream();
            var toServer = upstream.GetStream();
            _client = toClient;
            // The server's frames are relayed one by one, so that a test's push never lands inside one of them.
            var down = Task.Run(async () =>
            {
                var reader = new FrameReader(toServer);
                while (await reader.ReadAsync(_stop.Token) is { } frame)
                    await WriteAsync(toClient, frame);
            });
            var up = toClient.CopyToAsync(toServer, _stop.Token);
            await Task.WhenAny(down, up);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }
}
