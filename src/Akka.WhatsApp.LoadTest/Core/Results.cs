namespace Akka.WhatsApp.LoadTest.Core;

/// <summary>Percentiles of one latency in milliseconds; null when nothing was recorded.</summary>
public sealed record LatencySummary(string Name, long Count, double? P50, double? P90, double? P99, double? P999, double? Max);

/// <summary>CPU seconds spent over a step by the server, PostgreSQL and the generator (null: not measurable from here).</summary>
public sealed record CpuSplit(double WallSeconds, int Cores, double? Server, double? Postgres, double Generator);

/// <summary>
/// What one load step measured: counts, errors by code, latencies and whatever else the scenario reports
/// (<see cref="Figures"/>, e.g. RSS per connection). The unit of <see cref="Throughput"/> is the scenario's.
/// </summary>
public sealed record StepResult
{
    public required string Label { get; init; }

    /// <summary>The offered (scheduled) rate, per second; null for steps that are not paced.</summary>
    public double? OfferedRate { get; init; }

    public double Seconds { get; init; }

    /// <summary>Achieved rate over <see cref="Seconds"/> (delivered messages, deliveries, connections … per second).</summary>
    public double? Throughput { get; init; }

    public string ThroughputUnit { get; init; } = "msg/s";

    /// <summary>sent, accepted, received, lost, late, duplicates, reordered, … (whatever applies).</summary>
    public Dictionary<string, long> Counts { get; init; } = [];

    /// <summary>Failed requests by error code (a server code, TIMEOUT, or the exception's name).</summary>
    public Dictionary<string, long> Errors { get; init; } = [];

    public List<LatencySummary> Latencies { get; init; } = [];

    public Dictionary<string, double> Figures { get; init; } = [];

    public CpuSplit? Cpu { get; init; }

    public List<string> Notes { get; init; } = [];

    public long Count(string name) => Counts.GetValueOrDefault(name);

    /// <summary>Messages the server accepted that never arrived: the figure that must stay 0.</summary>
    public long Lost => Count("lost");
}

/// <summary>One scenario run: its parameters, its steps and a one-line conclusion.</summary>
public sealed record ScenarioRun
{
    public required string Scenario { get; init; }

    public required string Title { get; init; }

    public Dictionary<string, string> Parameters { get; init; } = [];

    public List<StepResult> Steps { get; init; } = [];

    /// <summary>The conclusion (e.g. the highest rate whose p99 stayed within the bound).</summary>
    public string? Summary { get; init; }

    public DateTimeOffset StartedAt { get; init; }

    /// <summary>The latency charted against the offered rate when the run has paced steps (e.g. "send → receive").</summary>
    public string? ChartLatency { get; init; }
}

/// <summary>Everything one benchmark directory holds: report.json is this, report.md is rendered from it.</summary>
public sealed record BenchReport
{
    public DateTimeOffset CreatedAt { get; init; }

    public string Machine { get; init; } = "";

    public List<ScenarioRun> Runs { get; init; } = [];
}
