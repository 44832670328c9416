using System.Globalization;
using System.Text;

namespace Akka.WhatsApp.LoadTest.Core;

/// <summary>
/// Latency percentiles against offered rate as a self-contained SVG (a logarithmic latency axis, one line per
/// percentile). Hand-written: the plotting libraries in the registry draw through native Skia, which is more
/// than a dozen lines of SVG are worth.
/// </summary>
public static class SvgChart
{
    private const int Width = 760, Height = 440, Left = 70, Right = 150, Top = 40, Bottom = 60;
    private static readonly (string Name, Func<LatencySummary, double?> Value, string Color)[] Series =
    [
        ("p50", l => l.P50, "#1b9e77"),
        ("p90", l => l.P90, "#7570b3"),
        ("p99", l => l.P99, "#d95f02"),
        ("p99.9", l => l.P999, "#e7298a"),
        ("max", l => l.Max, "#999999"),
    ];

    /// <summary>The points of the chart: (offered rate, latency) per step that has both; empty when nothing to draw.</summary>
    public static List<(double Rate, LatencySummary Latency)> Points(ScenarioRun run) =>
        run.ChartLatency is not { } name
            ? []
            : run.Steps
                .Where(s => s.OfferedRate is not null)
                .Select(s => (Rate: s.OfferedRate!.Value, Latency: s.Latencies.FirstOrDefault(l => l.Name == name)))
                .Where(p => p.Latency is { Count: > 0 })
                .Select(p => (p.Rate, p.Latency!))
                .OrderBy(p => p.Rate)
                .ToList();

    public static string Render(ScenarioRun run)
    {
        var points = Points(run);
        if (points.Count == 0)
            throw new InvalidOperationException($"run '{run.Title}' has no paced steps with '{run.ChartLatency}' latencies to chart");
        var values = points.SelectMany(p => Series.Select(s => s.Value(p.Latency))).OfType<double>().Where(v => v > 0).ToList();
        var low = Math.Floor(Math.Log10(Math.Max(0.01, values.Min())));
        var high = Math.Ceiling(Math.Log10(Math.Max(0.01, values.Max())));
        if (high <= low)
            high = low + 1;
        var maxRate = NiceCeiling(points.Max(p => p.Rate));
        var plotW = Width - Left - Right;
        var plotH = Height - Top - Bottom;
        double X(double rate) => Left + rate / maxRate * plotW;
        double Y(double ms) => Top + plotH - (Math.Log10(Math.Max(ms, Math.Pow(10, low))) - low) / (high - low) * plotH;

        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"""<svg xmlns="http://www.w3.org/2000/svg" width="{Width}" height="{Height}" viewBox="0 0 {Width} {Height}" font-family="sans-serif" font-size="12">""").Append('\n');
        svg.Append(CultureInfo.InvariantCulture, $"""<rect width="{Width}" height="{Height}" fill="white"/>""").Append('\n');
        svg.Append(CultureInfo.InvariantCulture, $"""<text x="{Left}" y="22" font-size="14" font-weight="bold">{Escape(run.Scenario)}: {Escape(run.ChartLatency!)} percentiles against offered rate</text>""").Append('\n');

        // Latency grid: 1, 2, 5 × 10^k.
        for (var e = low; e <= high; e++)
            foreach (var m in new[] { 1, 2, 5 })
            {
                var ms = m * Math.Pow(10, e);
                if (Math.Log10(ms) > high + 1e-9)
                    continue;
                var y = Y(ms);
                svg.Append(CultureInfo.InvariantCulture, $"""<line x1="{Left}" y1="{y:F1}" x2="{Left + plotW}" y2="{y:F1}" stroke="{(m == 1 ? "#ccc" : "#eee")}"/>""");
                svg.Append(CultureInfo.InvariantCulture, $"""<text x="{Left - 6}" y="{y + 4:F1}" text-anchor="end">{FormatMs(ms)}</text>""").Append('\n');
            }
        for (var i = 0; i <= 5; i++)
        {
            var rate = maxRate * i / 5;
            var x = X(rate);
            svg.Append(CultureInfo.InvariantCulture, $"""<line x1="{x:F1}" y1="{Top}" x2="{x:F1}" y2="{Top + plotH}" stroke="#eee"/>""");
            svg.Append(CultureInfo.InvariantCulture, $"""<text x="{x:F1}" y="{Top + plotH + 18}" text-anchor="middle">{rate:0.##}</text>""").Append('\n');
        }
        svg.Append(CultureInfo.InvariantCulture, $"""<rect x="{Left}" y="{Top}" width="{plotW}" height="{plotH}" fill="none" stroke="#333"/>""").Append('\n');
        svg.Append(CultureInfo.InvariantCulture, $"""<text x="{Left + plotW / 2}" y="{Height - 18}" text-anchor="middle">offered rate (per second)</text>""").Append('\n');
        svg.Append(CultureInfo.InvariantCulture, $"""<text transform="translate(18 {Top + plotH / 2}) rotate(-90)" text-anchor="middle">latency (ms, log scale)</text>""").Append('\n');

        var legendY = Top + 10;
        foreach (var (name, value, color) in Series)
        {
            var line = points.Where(p => value(p.Latency) is > 0).Select(p => (X: X(p.Rate), Y: Y(value(p.Latency)!.Value))).ToList();
            if (line.Count == 0)
                continue;
            svg.Append(CultureInfo.InvariantCulture, $"""<polyline fill="none" stroke="{color}" stroke-width="2" points="{string.Join(' ', line.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.X:F1},{p.Y:F1}")))}"/>""").Append('\n');
            foreach (var (x, y) in line)
                svg.Append(CultureInfo.InvariantCulture, $"""<circle cx="{x:F1}" cy="{y:F1}" r="3" fill="{color}"/>""");
            svg.Append('\n');
            svg.Append(CultureInfo.InvariantCulture, $"""<line x1="{Left + plotW + 16}" y1="{legendY}" x2="{Left + plotW + 40}" y2="{legendY}" stroke="{color}" stroke-width="2"/>""");
            svg.Append(CultureInfo.InvariantCulture, $"""<text x="{Left + plotW + 46}" y="{legendY + 4}">{name}</text>""").Append('\n');
            legendY += 20;
        }
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    private static double NiceCeiling(double value)
    {
        if (value <= 0)
            return 1;
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(value)));
        foreach (var m in new[] { 1, 2, 2.5, 5, 10 })
            if (m * magnitude >= value)
                return m * magnitude;
        return 10 * magnitude;
    }

    private static string FormatMs(double ms) => ms >= 1000
        ? string.Create(CultureInfo.InvariantCulture, $"{ms / 1000:0.##} s")
        : string.Create(CultureInfo.InvariantCulture, $"{ms:0.##} ms");

    private static string Escape(string text) => System.Security.SecurityElement.Escape(text) ?? "";
}
