using Akka.DependencyInjection;
using Prometheus;

namespace Akka.WhatsApp.Cluster.Monitoring;

/// <summary>
/// The entities' Prometheus metrics, one set per actor system (an Akka extension, not a static): in the node's
/// <see cref="CollectorRegistry"/> when the host registered one in its services, else in a registry nobody scrapes
/// (entity unit tests).
/// </summary>
public sealed class EntityMetrics : IExtension
{
    private static readonly double[] WriteBuckets = Histogram.ExponentialBuckets(0.0005, 2, 14);

    private readonly Histogram _journalWrite;
    private readonly Gauge _mailboxPending;

    public EntityMetrics(CollectorRegistry registry)
    {
        var factory = Metrics.WithCustomRegistry(registry);
        _journalWrite = factory.CreateHistogram("wa_journal_write_seconds",
            "Time from an entity's Persist call to its handler, per command's write (events written together in one batch share the wait).",
            new HistogramConfiguration { Buckets = WriteBuckets });
        // A gauge summed over the mailboxes alive on this node rather than a histogram of per-mailbox depths: what an
        // operator watches is the backlog a node holds (it grows when devices stay offline or stop acking), and a gauge
        // costs one atomic add per change. A mailbox that passivates or moves to another node takes its entries with it.
        _mailboxPending = factory.CreateGauge("wa_mailbox_pending_entries",
            "Entries (messages and receipts) not yet acknowledged by every device, summed over the mailbox entities alive on this node.");
    }

    public static EntityMetrics For(ActorSystem system) => system.WithExtension<EntityMetrics, EntityMetricsProvider>();

    public void JournalWritten(TimeSpan elapsed) => _journalWrite.Observe(elapsed.TotalSeconds);

    /// <summary>A mailbox on this node changed its number of pending entries by <paramref name="delta"/>.</summary>
    public void MailboxPendingChanged(int delta) => _mailboxPending.Inc(delta);

    /// <summary>Entries pending in the mailboxes alive on this node.</summary>
    public long MailboxPending => (long)_mailboxPending.Value;
}

public sealed class EntityMetricsProvider : ExtensionIdProvider<EntityMetrics>
{
    public override EntityMetrics CreateExtension(ExtendedActorSystem system)
    {
        var registry = system.Settings.Setup.Get<DependencyResolverSetup>().HasValue
            ? DependencyResolver.For(system).Resolver.GetService<CollectorRegistry>()
            : null;
        return new EntityMetrics(registry ?? Metrics.NewCustomRegistry());
    }
}
