using System.Globalization;

namespace Akka.WhatsApp.LoadTest.Core;

/// <summary>
/// A scenario's --name value options. Every option a scenario reads is noted with its effective value (default
/// or given), so each report shows the exact command that reproduces it; an option nobody read is an error.
/// </summary>
public sealed class ScenarioArgs(IReadOnlyDictionary<string, string> values)
{
    private readonly Dictionary<string, string> _used = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, string> Used => _used;

    public int Int(string name, int fallback) => (int)Parse(name, fallback, s => int.Parse(s, CultureInfo.InvariantCulture));

    public double Double(string name, double fallback) => Parse(name, fallback, s => double.Parse(s, CultureInfo.InvariantCulture));

    public string String(string name, string fallback) => Parse(name, fallback, s => s);

    /// <summary>A comma-separated list of numbers, e.g. --rate 500,1000,2000.</summary>
    public IReadOnlyList<double> Doubles(string name, params double[] fallback)
    {
        var text = values.TryGetValue(name, out var given) ? given : string.Join(',', fallback.Select(f => f.ToString(CultureInfo.InvariantCulture)));
        try
        {
            var list = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToList();
            if (list.Count == 0 || list.Any(v => !(v > 0)))
                throw new FormatException();
            _used[name] = text;
            return list;
        }
        catch (FormatException)
        {
            throw new ArgumentException($"--{name} must be one or more positive numbers separated by commas, not '{text}'");
        }
    }

    /// <summary>Options given but never read by the scenario (typos, or options of another scenario).</summary>
    public IEnumerable<string> Unused(IEnumerable<string> common) => values.Keys.Except(_used.Keys).Except(common);

    private T Parse<T>(string name, T fallback, Func<string, T> parse) where T : notnull
    {
        if (!values.TryGetValue(name, out var text))
        {
            _used[name] = Convert.ToString(fallback, CultureInfo.InvariantCulture)!;
            return fallback;
        }
        try
        {
            var value = parse(text);
            _used[name] = text;
            return value;
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            throw new ArgumentException($"--{name} must be a {typeof(T).Name.ToLowerInvariant()}, not '{text}'");
        }
    }
}
