using System.Diagnostics;
using System.Globalization;

namespace Akka.WhatsApp.LoadTest.Core;

/// <summary>
/// CPU time and memory of the processes under test, read from /proc (Linux): the server processes named by pid,
/// every PostgreSQL process on the machine, and this generator. Where the time goes on a shared box is half of
/// what a benchmark must say. On other systems, or for a server on another machine, the server and PostgreSQL
/// figures are null and the report says "n/a".
/// </summary>
public sealed class ProcessStats(IReadOnlyList<int> serverPids)
{
    /// <summary>USER_HZ: the unit of /proc/*/stat times (100 on every Linux architecture .NET runs on).</summary>
    private const double ClockTicks = 100;

    public sealed record Sample(long Timestamp, Dictionary<int, double> Server, Dictionary<int, double> Postgres, double Generator);

    public IReadOnlyList<int> ServerPids { get; } = serverPids;

    public Sample Take() => new(
        Stopwatch.GetTimestamp(),
        ServerPids.Select(p => (p, Cpu(p))).Where(x => x.Item2 is not null).ToDictionary(x => x.p, x => x.Item2!.Value),
        PostgresPids().Select(p => (p, Cpu(p))).Where(x => x.Item2 is not null).ToDictionary(x => x.p, x => x.Item2!.Value),
        Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds);

    public CpuSplit Between(Sample from, Sample to) => new(
        (to.Timestamp - from.Timestamp) / (double)Stopwatch.Frequency,
        Environment.ProcessorCount,
        ServerPids.Count == 0 || to.Server.Count == 0 ? null : Delta(from.Server, to.Server),
        to.Postgres.Count == 0 ? null : Delta(from.Postgres, to.Postgres),
        to.Generator - from.Generator);

    /// <summary>Resident memory of the server processes together, in bytes; null when not readable.</summary>
    public long? ServerRss()
    {
        long total = 0;
        foreach (var pid in ServerPids)
        {
            if (Rss(pid) is not { } rss)
                return null;
            total += rss;
        }
        return ServerPids.Count == 0 ? null : total;
    }

    public static long? Rss(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return line is null ? null : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>User + system CPU seconds of a process, or null when it is gone or unreadable.</summary>
    public static double? Cpu(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // The command name (field 2) may hold spaces and parentheses: count fields after its closing one.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / ClockTicks;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    private static IEnumerable<int> PostgresPids()
    {
        if (!Directory.Exists("/proc"))
            yield break;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
                continue;
            string comm;
            try
            {
                comm = File.ReadAllText(Path.Combine(dir, "comm")).Trim();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            if (comm is "postgres" or "postmaster")
                yield return pid;
        }
    }

    /// <summary>CPU spent between two samples; a process that started in between counts from zero.</summary>
    private static double Delta(Dictionary<int, double> from, Dictionary<int, double> to) =>
        to.Sum(p => p.Value - from.GetValueOrDefault(p.Key));
}
