using System.Diagnostics;
using Prometheus;

namespace Akka.WhatsApp.Edge.Monitoring;

/// <summary>
/// The edge's Prometheus metrics, created in one node's own <see cref="CollectorRegistry"/> (several nodes share a
/// process in tests, so nothing goes to prometheus-net's static default registry). Everything here is called on the
/// hot path: counters, a gauge and a histogram with pre-bound labels, no allocation of ours per frame.
/// </summary>
public sealed class EdgeMetrics
{
    /// <summary>Latency buckets from 1 ms to ~8 s: a send waits for two account lookups and a journal write.</summary>
    private static readonly double[] LatencyBuckets = Histogram.ExponentialBuckets(0.001, 2, 14);

    private readonly Gauge _connections;
    private readonly Counter _framesIn;
    private readonly Counter _framesOut;
    private readonly Counter _bytesIn;
    private readonly Counter _bytesOut;
    private readonly Counter.Child _acceptedDirect;
    private readonly Counter.Child _acceptedGroup;
    private readonly Counter _delivered;
    private readonly Histogram _sendAck;
    private readonly Counter _errors;
    private readonly Counter.Child[] _errorsByCode;

    public EdgeMetrics(CollectorRegistry registry)
    {
        Registry = registry;
        Media = new MediaMetrics(registry);
        var factory = Metrics.WithCustomRegistry(registry);
        _connections = factory.CreateGauge("wa_connections", "Client TCP connections open on this node's edge.");
        _framesIn = factory.CreateCounter("wa_frames_received_total", "Frames decoded from clients.");
        _framesOut = factory.CreateCounter("wa_frames_sent_total", "Frames encoded to clients.");
        _bytesIn = factory.CreateCounter("wa_received_bytes_total", "Frame bytes (length prefix and body; TLS overhead not counted) received from clients.");
        _bytesOut = factory.CreateCounter("wa_sent_bytes_total", "Frame bytes (length prefix and body; TLS overhead not counted) sent to clients.");
        var accepted = factory.CreateCounter("wa_messages_accepted_total",
            "Messages accepted from clients: a Send answered with SendResult (kind=direct) or a GroupSend answered with GroupSendResult " +
            "(kind=group); retries answered as duplicates are not counted.",
            new CounterConfiguration { LabelNames = ["kind"] });
        _acceptedDirect = accepted.WithLabels("direct");
        _acceptedGroup = accepted.WithLabels("group");
        _delivered = factory.CreateCounter("wa_messages_delivered_total",
            "Deliver pushes (messages and receipts) written to client connections by this node; written, not yet acknowledged by the device.");
        _sendAck = factory.CreateHistogram("wa_send_ack_seconds",
            "Time from a Send frame arriving to its SendResult being written to the connection (the entry is durable in the journal by then).",
            new HistogramConfiguration { Buckets = LatencyBuckets });
        _errors = factory.CreateCounter("wa_errors_total",
            "Error frames sent to clients, by wire code (RATE_LIMITED counts rate limiting; BAD_CREDENTIALS failed logins).",
            new CounterConfiguration { LabelNames = ["code"] });
        // One child per code of the enum, created up front: the label set is bounded, and every code shows (as 0) from the start.
        var codes = ErrorsReflection.Descriptor.EnumTypes.Single(e => e.ClrType == typeof(ErrorCode)).Values;
        _errorsByCode = new Counter.Child[codes.Max(v => v.Number) + 1];
        foreach (var code in codes)
            _errorsByCode[code.Number] = _errors.WithLabels(code.Name.Replace("ERROR_CODE_", "", StringComparison.Ordinal));
    }

    /// <summary>A set of metrics nobody scrapes: the default of <see cref="EdgeSettings"/> (unit tests, tools).</summary>
    public static EdgeMetrics Unregistered() => new(Metrics.NewCustomRegistry());

    public CollectorRegistry Registry { get; }

    public MediaMetrics Media { get; }

    public void ConnectionOpened() => _connections.Inc();

    public void ConnectionClosed() => _connections.Dec();

    public void FrameReceived(int bytes)
    {
        _framesIn.Inc();
        _bytesIn.Inc(bytes);
    }

    public void FrameSent(int bytes)
    {
        _framesOut.Inc();
        _bytesOut.Inc(bytes);
    }

    /// <summary>An Error frame went to a client.</summary>
    public void ErrorSent(ErrorCode code)
    {
        var number = (int)code;
        if (number >= 0 && number < _errorsByCode.Length && _errorsByCode[number] is { } child)
            child.Inc();
        else
            _errors.WithLabels("UNKNOWN").Inc();
    }

    /// <summary>A Send's SendResult was written; <paramref name="arrived"/> is the <see cref="Stopwatch"/> timestamp of its frame.</summary>
    public void SendAnswered(long arrived, bool duplicate)
    {
        _sendAck.Observe(Stopwatch.GetElapsedTime(arrived).TotalSeconds);
        if (!duplicate)
            _acceptedDirect.Inc();
    }

    public void GroupSendAnswered(bool duplicate)
    {
        if (!duplicate)
            _acceptedGroup.Inc();
    }

    public void Delivered() => _delivered.Inc();

    /// <summary>Totals this node's dashboard shows (rates are their deltas over time).</summary>
    public EdgeTotals Totals() => new(
        (long)_connections.Value,
        (long)(_acceptedDirect.Value + _acceptedGroup.Value),
        (long)_delivered.Value,
        (long)_framesIn.Value,
        (long)_framesOut.Value);
}

/// <summary>A reading of the edge counters of one node.</summary>
public readonly record struct EdgeTotals(long Connections, long MessagesAccepted, long MessagesDelivered, long FramesReceived, long FramesSent);
