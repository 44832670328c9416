using System.Net;

namespace Akka.WhatsApp.Edge;

/// <summary>
/// A listener that accepts client connections and gives each one a session. DotNetty's TCP server is
/// one implementation; the domain never sees which, so the transport can be replaced.
/// </summary>
public interface IClientTransport : IAsyncDisposable
{
    /// <summary>Starts listening and returns the bound endpoint (the real port when 0 was asked).</summary>
    Task<IPEndPoint> StartAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Stops accepting, asks the connected clients to reconnect elsewhere, waits a while for them to go, then
    /// closes the rest. Safe to call more than once.
    /// </summary>
    Task StopAsync(CancellationToken cancellationToken);

    /// <summary>Connections currently open.</summary>
    int ConnectionCount { get; }
}
