using System.Text.Json;
using System.Xml.Linq;
using Akka.WhatsApp.LoadTest.Core;
using Akka.WhatsApp.LoadTest.Scenarios;
using Xunit;

namespace Akka.WhatsApp.LoadTest.Tests;

public sealed class ReportWriterSpec : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("wa-report-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static StepResult Step(double rate, double p99, long lost = 0) => new()
    {
        Label = $"{rate} msg/s",
        OfferedRate = rate,
        Seconds = 10,
        Throughput = rate,
        Counts = new Dictionary<string, long> { ["sent"] = (long)rate * 10, ["lost"] = lost },
        Errors = lost > 0 ? new Dictionary<string, long> { ["TIMEOUT"] = 3 } : [],
        Latencies =
        [
            new LatencySummary("send → server ack", 100, 1, 2, p99 / 2, p99 / 2, p99 / 2),
            new LatencySummary("send → receive", 100, 1.25, 3.5, p99, p99 * 1.5, p99 * 2),
        ],
        Cpu = new CpuSplit(10, 2, 7.5, 3.25, 2),
    };

    private static ScenarioRun Paced() => new()
    {
        Scenario = "one-to-one",
        Title = "one-to-one: test",
        Parameters = new() { ["users"] = "10", ["rate"] = "100,200" },
        Steps = [Step(100, 12.5), Step(200, 150, lost: 4)],
        ChartLatency = "send → receive",
        Summary = "lost 4",
    };

    private static ScenarioRun Unpaced() => new()
    {
        Scenario = "offline-sync",
        Title = "offline-sync: test",
        Steps = [new StepResult { Label = "10 queued", Counts = new Dictionary<string, long> { ["received"] = 10 }, Figures = new() { ["drain (s)"] = 0.5 } }],
    };

    [Fact]
    public void Runs_accumulate_in_report_json_and_round_trip()
    {
        ReportWriter.Append(_dir, Paced(), machine: "test machine");
        var report = ReportWriter.Append(_dir, Unpaced());
        Assert.Equal(2, report.Runs.Count);
        var read = JsonSerializer.Deserialize<BenchReport>(File.ReadAllText(Path.Combine(_dir, "report.json")), ReportWriter.Json)!;
        Assert.Equal("test machine", read.Machine);
        Assert.Equal(["one-to-one", "offline-sync"], read.Runs.Select(r => r.Scenario));
        var step = read.Runs[0].Steps[1];
        Assert.Equal(4, step.Lost);
        Assert.Equal(3, step.Errors["TIMEOUT"]);
        Assert.Equal(150, step.Latencies.Single(l => l.Name == "send → receive").P99);
        Assert.Equal(3.25, step.Cpu!.Postgres);
    }

    [Fact]
    public void Markdown_has_a_percentile_row_per_step_and_latency_and_the_cpu_split()
    {
        ReportWriter.Append(_dir, Paced(), machine: "m");
        var md = File.ReadAllText(Path.Combine(_dir, "report.md"));
        Assert.Contains("## one-to-one: test", md);
        Assert.Contains("`one-to-one --users 10 --rate 100,200`", md);
        Assert.Contains("**lost 4**", md);
        Assert.Contains("| step | latency (ms) | count | p50 | p90 | p99 | p99.9 | max |", md);
        Assert.Contains("| 100 msg/s | send → receive | 100 | 1.2 | 3.5 | 12.5 | 18.8 | 25.0 |", md);
        Assert.Contains("| 200 msg/s | send → receive | 100 | 1.2 | 3.5 | 150 | 225 | 300 |", md);
        Assert.Contains("| 200 msg/s | 200 | 200 msg/s | 2000 | 4 | TIMEOUT 3 |", md);
        Assert.Contains("| 100 msg/s | 10.0 | 20.0 (2 cores) | 7.5 s | 3.2 s | 2.0 s |", md);
        Assert.Contains("![send → receive percentiles against offered rate](chart-01-one-to-one.svg)", md);
    }

    [Fact]
    public void A_paced_run_gets_a_valid_svg_chart_and_an_unpaced_one_none()
    {
        ReportWriter.Append(_dir, Paced(), machine: "m");
        ReportWriter.Append(_dir, Unpaced());
        var svg = XDocument.Load(Path.Combine(_dir, "chart-01-one-to-one.svg"));
        XNamespace ns = "http://www.w3.org/2000/svg";
        var lines = svg.Descendants(ns + "polyline").ToList();
        Assert.Equal(5, lines.Count); // p50, p90, p99, p99.9, max
        Assert.All(lines, l => Assert.Equal(2, l.Attribute("points")!.Value.Split(' ').Length));
        // Higher latency is drawn higher (smaller y): the p99 line rises from 12.5 ms to 150 ms.
        var p99 = lines[2].Attribute("points")!.Value.Split(' ').Select(p => double.Parse(p.Split(',')[1], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.True(p99[1] < p99[0], $"p99 points {string.Join(" ", p99)}");
        Assert.False(File.Exists(Path.Combine(_dir, "chart-02-offline-sync.svg")));
        Assert.Contains("| 10 queued | 0.5 |", File.ReadAllText(Path.Combine(_dir, "report.md")));
    }

    [Fact]
    public void Ramp_verdicts_name_why_a_step_did_not_hold()
    {
        Assert.Null(RampScenario.Verdict(Step(100, 50), 100));
        Assert.Equal("p99 150 ms > 100 ms", RampScenario.Verdict(Step(200, 150), 100));
        Assert.Equal("4 accepted messages never arrived", RampScenario.Verdict(Step(200, 10, lost: 4), 100));
        Assert.StartsWith("delivered 50 msg/s", RampScenario.Verdict(Step(100, 50) with { Throughput = 50 }, 100));
    }
}
