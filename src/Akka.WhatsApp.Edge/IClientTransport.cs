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

    /// <summary>Stops accepting and closes every connection.</summary>
    Task StopAsync(CancellationToken cancellationToken);

    /// <summary>Connections currently open.</summary>
    int ConnectionCount { get; }
}
