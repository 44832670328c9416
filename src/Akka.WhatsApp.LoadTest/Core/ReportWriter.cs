using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Akka.WhatsApp.LoadTest.Core;

/// <summary>
/// Keeps a benchmark directory: report.json (every run so far, for machines), report.md rendered from it (a
/// table per run: one row per step, percentiles p50/p90/p99/p99.9/max, counts, errors, CPU) and an SVG chart of
/// latency percentiles against offered rate for each run with paced steps. Runs are added one at a time, so
/// `./build.sh bench` can call the generator once per scenario and still get one report.
/// </summary>
public static class ReportWriter
{
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Adds <paramref name="run"/> to the report in <paramref name="directory"/> and rewrites its files.</summary>
    public static BenchReport Append(string directory, ScenarioRun run, string? machine = null)
    {
        Directory.CreateDirectory(directory);
        var jsonPath = Path.Combine(directory, "report.json");
        var report = File.Exists(jsonPath)
            ? JsonSerializer.Deserialize<BenchReport>(File.ReadAllText(jsonPath), Json) ?? throw new InvalidDataException($"{jsonPath} is empty")
            : new BenchReport { CreatedAt = DateTimeOffset.UtcNow, Machine = machine ?? DescribeMachine() };
        report.Runs.Add(run);
        Write(directory, report);
        return report;
    }

    public static void Write(string directory, BenchReport report)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "report.json"), JsonSerializer.Serialize(report, Json));
        for (var i = 0; i < report.Runs.Count; i++)
            if (SvgChart.Points(report.Runs[i]).Count > 0)
                File.WriteAllText(Path.Combine(directory, ChartFile(i, report.Runs[i])), SvgChart.Render(report.Runs[i]));
        File.WriteAllText(Path.Combine(directory, "report.md"), Markdown(report));
    }

    public static string ChartFile(int index, ScenarioRun run) => $"chart-{index + 1:D2}-{run.Scenario}.svg";

    public static string Markdown(BenchReport report)
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"# Benchmark {report.CreatedAt:yyyy-MM-dd HH:mm:ss}Z");
        md.AppendLine();
        md.AppendLine(report.Machine);
        md.AppendLine();
        for (var i = 0; i < report.Runs.Count; i++)
            AppendRun(md, report.Runs[i], i);
        return md.ToString();
    }

    /// <summary>The console summary of one run: the same tables as in report.md.</summary>
    public static string Markdown(ScenarioRun run)
    {
        var md = new StringBuilder();
        AppendRun(md, run, null);
        return md.ToString();
    }

    private static void AppendRun(StringBuilder md, ScenarioRun run, int? index)
    {
        md.AppendLine(CultureInfo.InvariantCulture, $"## {run.Title}");
        md.AppendLine();
        if (run.Parameters.Count > 0)
            md.AppendLine("`" + run.Scenario + " " + string.Join(' ', run.Parameters.Select(p => $"--{p.Key} {p.Value}")) + "`").AppendLine();
        if (run.Summary is { } summary)
            md.AppendLine(CultureInfo.InvariantCulture, $"**{summary}**").AppendLine();

        var counts = run.Steps.SelectMany(s => s.Counts.Keys).Distinct().ToList();
        md.AppendLine("| step | offered/s | achieved | " + string.Join(" | ", counts) + " | errors |");
        md.AppendLine("|---|---|---|" + string.Concat(counts.Select(_ => "---|")) + "---|");
        foreach (var step in run.Steps)
            md.AppendLine(
                $"| {step.Label} | {Number(step.OfferedRate)} | {(step.Throughput is { } t ? $"{Number(t)} {step.ThroughputUnit}" : "–")} | " +
                string.Concat(counts.Select(c => step.Counts.TryGetValue(c, out var v) ? $"{v} | " : "– | ")) +
                (step.Errors.Count == 0 ? "0" : string.Join(", ", step.Errors.OrderByDescending(e => e.Value).Select(e => $"{e.Key} {e.Value}"))) + " |");
        md.AppendLine();

        if (run.Steps.Any(s => s.Latencies.Count > 0))
        {
            md.AppendLine("| step | latency (ms) | count | p50 | p90 | p99 | p99.9 | max |");
            md.AppendLine("|---|---|---|---|---|---|---|---|");
            foreach (var step in run.Steps)
                foreach (var l in step.Latencies)
                    md.AppendLine(CultureInfo.InvariantCulture,
                        $"| {step.Label} | {l.Name} | {l.Count} | {Ms(l.P50)} | {Ms(l.P90)} | {Ms(l.P99)} | {Ms(l.P999)} | {Ms(l.Max)} |");
            md.AppendLine();
        }

        if (run.Steps.Any(s => s.Cpu is not null))
        {
            md.AppendLine("| step | wall (s) | CPU-s available | server | PostgreSQL | generator |");
            md.AppendLine("|---|---|---|---|---|---|");
            foreach (var step in run.Steps.Where(s => s.Cpu is not null))
            {
                var c = step.Cpu!;
                md.AppendLine(CultureInfo.InvariantCulture,
                    $"| {step.Label} | {c.WallSeconds:F1} | {c.WallSeconds * c.Cores:F1} ({c.Cores} cores) | {Seconds(c.Server)} | {Seconds(c.Postgres)} | {c.Generator:F1} s |");
            }
            md.AppendLine();
        }

        var figures = run.Steps.Where(s => s.Figures.Count > 0).ToList();
        if (figures.Count > 0)
        {
            var names = figures.SelectMany(s => s.Figures.Keys).Distinct().ToList();
            md.AppendLine("| step | " + string.Join(" | ", names) + " |");
            md.AppendLine("|---|" + string.Concat(names.Select(_ => "---|")));
            foreach (var step in figures)
                md.AppendLine($"| {step.Label} | " + string.Concat(names.Select(n => step.Figures.TryGetValue(n, out var v) ? $"{Number(v)} | " : "– | ")));
            md.AppendLine();
        }

        foreach (var note in run.Steps.SelectMany(s => s.Notes.Select(n => $"{s.Label}: {n}")))
            md.AppendLine("- " + note);
        if (run.Steps.Any(s => s.Notes.Count > 0))
            md.AppendLine();

        if (index is { } i && SvgChart.Points(run).Count > 0)
            md.AppendLine(CultureInfo.InvariantCulture, $"![{run.ChartLatency} percentiles against offered rate]({ChartFile(i, run)})").AppendLine();
    }

    private static string Ms(double? ms) => ms is { } v ? v.ToString(v >= 100 ? "F0" : "F1", CultureInfo.InvariantCulture) : "–";

    private static string Seconds(double? s) => s is { } v ? v.ToString("F1", CultureInfo.InvariantCulture) + " s" : "n/a";

    private static string Number(double? value) => value switch
    {
        null => "–",
        >= 100 => value.Value.ToString("N0", CultureInfo.InvariantCulture),
        _ => value.Value.ToString("0.##", CultureInfo.InvariantCulture),
    };

    private static string DescribeMachine() =>
        $"Generator on {Environment.MachineName}: {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}.";
}
