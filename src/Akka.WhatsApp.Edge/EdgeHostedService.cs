using System.Net;
using Microsoft.Extensions.Hosting;

namespace Akka.WhatsApp.Edge;

/// <summary>Runs the client transport for the lifetime of the host.</summary>
public sealed class EdgeHostedService(IClientTransport transport) : IHostedService
{
    private readonly TaskCompletionSource<IPEndPoint> _bound = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes with the bound endpoint once the listener is up.</summary>
    public Task<IPEndPoint> BoundEndpoint => _bound.Task;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            _bound.TrySetResult(await transport.StartAsync(cancellationToken));
        }
        catch (Exception e)
        {
            _bound.TrySetException(e);
            throw;
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => transport.StopAsync(cancellationToken);
}
