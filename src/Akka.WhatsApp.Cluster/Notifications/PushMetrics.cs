using Prometheus;

namespace Akka.WhatsApp.Cluster.Notifications;

/// <summary>The push pipeline's metrics on /metrics: what went out, what did not and why, and how long it took.</summary>
public sealed class PushMetrics
{
    private readonly Counter _sent;
    private readonly Counter _failed;
    private readonly Counter _tokensRemoved;
    private readonly Counter _skipped;
    private readonly Histogram _latency;

    public PushMetrics(CollectorRegistry registry)
    {
        var factory = Metrics.WithCustomRegistry(registry);
        _sent = factory.CreateCounter("wa_push_sent_total", "Pushes a provider accepted.", "provider");
        _failed = factory.CreateCounter("wa_push_failed_total", "Pushes a provider did not accept after the retries, by the provider's reason.", "provider", "reason");
        _tokensRemoved = factory.CreateCounter("wa_push_tokens_removed_total", "Device tokens removed because the provider said they are gone.", "provider");
        _skipped = factory.CreateCounter("wa_push_skipped_total",
            "Push candidates that sent nothing: no_registration, muted, do_not_disturb, no_voip_token, coalesced (a push of the device went out within the window), dropped (the queue was full), unavailable (the account did not answer).",
            "reason");
        _latency = factory.CreateHistogram("wa_push_latency_seconds",
            "From the mailbox entry being durable to the provider's answer, for pushes sent.",
            new HistogramConfiguration { LabelNames = ["provider"], Buckets = Histogram.ExponentialBuckets(0.001, 2, 14) });
    }

    public static PushMetrics Unregistered() => new(Metrics.NewCustomRegistry());

    public void Sent(string provider, TimeSpan latency)
    {
        _sent.WithLabels(provider).Inc();
        _latency.WithLabels(provider).Observe(Math.Max(0, latency.TotalSeconds));
    }

    public void Failed(string provider, string reason) => _failed.WithLabels(provider, reason).Inc();

    public void TokenRemoved(string provider) => _tokensRemoved.WithLabels(provider).Inc();

    public void Skipped(string reason) => _skipped.WithLabels(reason).Inc();

    public double SentCount(string provider) => _sent.WithLabels(provider).Value;

    public double SkippedCount(string reason) => _skipped.WithLabels(reason).Value;
}
