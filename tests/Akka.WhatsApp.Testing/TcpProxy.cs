using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Akka.WhatsApp.Testing;

/// <summary>
/// A loopback TCP proxy a fault test controls: it forwards to a target until <see cref="Cut"/> drops every
/// connection through it and refuses new ones (the target is unreachable), and <see cref="Restore"/> lets them
/// through again. Stands between a node and PostgreSQL, or between two nodes.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _target;
    private readonly ConcurrentDictionary<TcpClient, TcpClient> _links = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private volatile bool _cut;

    public TcpProxy(IPEndPoint target)
    {
        _target = target;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Connections forwarded since the start.</summary>
    public int Accepted => _accepted;

    private int _accepted;

    /// <summary>Drops every open connection and refuses new ones (accepted and closed at once) until <see cref="Restore"/>.</summary>
    public void Cut()
    {
        _cut = true;
        foreach (var (client, upstream) in _links)
        {
            client.Client.LingerState = new LingerOption(true, 0); // a reset, as a vanished host gives eventually
            client.Dispose();
            upstream.Dispose();
        }
        _links.Clear();
    }

    public void Restore() => _cut = false;

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            if (_cut)
            {
                client.Client.LingerState = new LingerOption(true, 0);
                client.Dispose();
                continue;
            }
            _ = ForwardAsync(client);
        }
    }

    private async Task ForwardAsync(TcpClient client)
    {
        var upstream = new TcpClient();
        try
        {
            await upstream.ConnectAsync(_target.Address, _target.Port, _stop.Token);
            Interlocked.Increment(ref _accepted);
            _links[client] = upstream;
            using var link = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            var up = client.GetStream().CopyToAsync(upstream.GetStream(), link.Token);
            var down = upstream.GetStream().CopyToAsync(client.GetStream(), link.Token);
            await Task.WhenAny(up, down);
            await link.CancelAsync();
        }
        catch (Exception)
        {
            // a cut, the target gone or the proxy stopping: the connection ends either way
        }
        finally
        {
            _links.TryRemove(client, out _);
            client.Dispose();
            upstream.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        Cut();
        await _accepting;
        _stop.Dispose();
    }
}
