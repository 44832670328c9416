using Akka.Event;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.WhatsApp.Domain.Media;
using Prometheus;

namespace Akka.WhatsApp.Cluster.Media;

/// <summary>
/// Deletes expired media (chat media after its retention, status media after 24 hours, uploads never completed) from
/// the store and then from the catalog, as an Akka.Streams pipeline: a tick every <c>interval</c>, one sweep at a
/// time, batches of <c>batch</c> until nothing expired is left. Its state is the catalog, so a restart (or another
/// node sweeping the same catalog) loses nothing: an object deleted twice is not an error. A failed sweep (the
/// database or the store down) is logged and tried again at the next tick.
/// </summary>
public static class MediaSweeper
{
    public static ICancelable Start(ActorSystem system, MediaService media, IMediaCatalog catalog, CollectorRegistry registry, TimeSpan interval, int batch = 500)
    {
        var log = Logging.GetLogger(system, typeof(MediaSweeper));
        var factory = Metrics.WithCustomRegistry(registry);
        var swept = factory.CreateCounter("wa_media_swept_total", "Expired media objects deleted from the store and the catalog.");
        var objects = factory.CreateGauge("wa_media_objects", "Completed media objects in the catalog (every node reports the shared catalog).");
        var bytes = factory.CreateGauge("wa_media_bytes", "Bytes of the completed media objects in the catalog.");
        return Source.Tick(TimeSpan.FromSeconds(1), interval, NotUsed.Instance)
            .SelectAsync(1, async _ =>
            {
                try
                {
                    var total = 0;
                    int n;
                    do
                    {
                        n = await media.SweepAsync(batch, CancellationToken.None);
                        total += n;
                        swept.Inc(n);
                    } while (n == batch);
                    var (count, size) = await catalog.TotalsAsync(CancellationToken.None);
                    objects.Set(count);
                    bytes.Set(size);
                    if (total > 0)
                        log.Info("Media sweep: {0} expired objects deleted", total);
                }
                catch (Exception e)
                {
                    log.Warning(e, "Media sweep failed; trying again in {0}", interval);
                }
                return NotUsed.Instance;
            })
            .ToMaterialized(Sink.Ignore<NotUsed>(), Keep.Left)
            .Run(system.Materializer());
    }
}
