using Akka.Actor;
using Akka.WhatsApp.Domain.Media;
using Microsoft.Extensions.Hosting;

namespace Akka.WhatsApp.Host.Media;

/// <summary>
/// Starts the media store (the local store's HTTP listener, or the check of the S3 bucket) with the node, before the
/// edge takes clients, runs the sweeper of expired media once a minute, and stops both with the node.
/// </summary>
public sealed class MediaHostedService(IMediaStore store, MediaService media, IMediaCatalog catalog, ActorSystem system, Prometheus.CollectorRegistry metrics)
    : IHostedService
{
    public static readonly TimeSpan SweepInterval = TimeSpan.FromMinutes(1);

    private ICancelable? _sweeper;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await store.StartAsync(cancellationToken);
        _sweeper = Cluster.Media.MediaSweeper.Start(system, media, catalog, metrics, SweepInterval);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _sweeper?.Cancel();
        await store.DisposeAsync();
    }
}
