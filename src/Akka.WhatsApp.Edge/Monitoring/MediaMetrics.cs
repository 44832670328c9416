using Prometheus;

namespace Akka.WhatsApp.Edge.Monitoring;

/// <summary>The media requests' metrics (PROTOCOL.md §12): requests by outcome, bytes uploaded and checked, and their latency.</summary>
public sealed class MediaMetrics
{
    private readonly Counter _requests;
    private readonly Counter _completedBytes;
    private readonly Histogram _latency;

    public MediaMetrics(CollectorRegistry registry)
    {
        var factory = Metrics.WithCustomRegistry(registry);
        _requests = factory.CreateCounter("wa_media_requests_total",
            "Media requests by operation (upload_url, complete, download_url) and outcome (ok, or the error code: a completion failure is MEDIA_NOT_UPLOADED).",
            "operation", "outcome");
        _completedBytes = factory.CreateCounter("wa_media_uploaded_bytes_total", "Bytes of uploads that were checked (size and SHA-256) and completed.");
        _latency = factory.CreateHistogram("wa_media_request_seconds",
            "Time to answer a media request: the catalog, and the store (presigning, or reading the object back to check it on completion).",
            new HistogramConfiguration { LabelNames = ["operation"], Buckets = Histogram.ExponentialBuckets(0.001, 2, 16) });
    }

    public void Answered(string operation, string outcome, TimeSpan took)
    {
        _requests.WithLabels(operation, outcome).Inc();
        _latency.WithLabels(operation).Observe(took.TotalSeconds);
    }

    public void Completed(long bytes) => _completedBytes.Inc(bytes);
}
