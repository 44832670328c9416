using System.Collections.Concurrent;
using System.Net;

namespace Akka.WhatsApp.Edge.Sessions;

/// <summary>How many failed logins and code requests the edge takes before it answers RATE_LIMITED (#21).</summary>
public sealed record AuthLimits
{
    /// <summary>Failed logins or code verifications per client address per <see cref="Window"/>.</summary>
    public int FailuresPerAddress { get; init; } = 20;

    /// <summary>Failed logins per account per <see cref="Window"/>, from any address.</summary>
    public int FailuresPerAccount { get; init; } = 10;

    public TimeSpan Window { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Verification codes requested per client address per <see cref="CodeWindow"/> (each costs an SMS).</summary>
    public int CodeRequestsPerAddress { get; init; } = 20;

    public TimeSpan CodeWindow { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Keys tracked per kind at most: a flood of addresses cannot grow the node's memory without bound.</summary>
    public int MaxTracked { get; init; } = 100_000;
}

/// <summary>
/// Slows down login brute force and verification-code flooding on this node: fixed windows of failures per client
/// address and per account, and of code requests per address. Beyond a limit, that address or account is refused
/// with RATE_LIMITED until its window ends (retry_after_ms says when), whatever the token, so guessing costs the
/// attacker the window and the node no account lookups. Tokens are 256-bit random values, so this is about the
/// node's work and the SMS bill, not about guessing succeeding. Counts are per node: a client spread over n edges
/// gets n times the limits. Time is the session's clock (System.Threading.RateLimiting's partitioned limiters
/// read the system clock and could not be tested on a fake one).
/// </summary>
public sealed class AuthThrottle(AuthLimits limits)
{
    private readonly Counters _failuresByAddress = new(limits.MaxTracked);
    private readonly Counters _failuresByAccount = new(limits.MaxTracked);
    private readonly Counters _codesByAddress = new(limits.MaxTracked);

    public AuthLimits Limits => limits;

    /// <summary>How long a login or verification from <paramref name="address"/> for <paramref name="account"/> must wait, or null when it may go ahead.</summary>
    public TimeSpan? LoginBlocked(IPAddress? address, string? account, DateTimeOffset now) =>
        Longest(address is null ? null : _failuresByAddress.Blocked(KeyOf(address), limits.FailuresPerAddress, now),
            account is null ? null : _failuresByAccount.Blocked(account, limits.FailuresPerAccount, now));

    /// <summary>Counts a failed login or verification.</summary>
    public void Failed(IPAddress? address, string? account, DateTimeOffset now)
    {
        if (address is not null)
            _failuresByAddress.Add(KeyOf(address), limits.Window, now);
        if (account is not null)
            _failuresByAccount.Add(account, limits.Window, now);
    }

    /// <summary>Counts a code request from <paramref name="address"/>; how long to wait when it is one too many, else null.</summary>
    public TimeSpan? CodeRequested(IPAddress? address, DateTimeOffset now)
    {
        if (address is null)
            return null;
        var key = KeyOf(address);
        if (_codesByAddress.Blocked(key, limits.CodeRequestsPerAddress, now) is { } wait)
            return wait;
        _codesByAddress.Add(key, limits.CodeWindow, now);
        return null;
    }

    /// <summary>An IPv4 address as itself; an IPv6 one by its /64, which one subscriber usually holds whole.</summary>
    private static string KeyOf(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
            return address.MapToIPv4().ToString();
        if (address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
            return address.ToString();
        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes) + "/64";
    }

    private static TimeSpan? Longest(TimeSpan? a, TimeSpan? b) => a is null ? b : b is null ? a : a > b ? a : b;

    /// <summary>Fixed-window counts by key, dropping ended windows when the map is full.</summary>
    private sealed class Counters(int max)
    {
        private sealed class Window(DateTimeOffset ends)
        {
            public DateTimeOffset Ends = ends;
            public int Count;
        }

        private readonly ConcurrentDictionary<string, Window> _windows = new();

        public TimeSpan? Blocked(string key, int limit, DateTimeOffset now) =>
            _windows.TryGetValue(key, out var w) && now < w.Ends && Volatile.Read(ref w.Count) >= limit ? w.Ends - now : null;

        public void Add(string key, TimeSpan length, DateTimeOffset now)
        {
            if (_windows.Count >= max && !_windows.ContainsKey(key))
                Sweep(now);
            if (_windows.Count >= max && !_windows.ContainsKey(key))
                return; // every tracked key is in an open window: count nothing new rather than grow
            var w = _windows.GetOrAdd(key, _ => new Window(now + length));
            lock (w)
            {
                if (now >= w.Ends)
                {
                    w.Ends = now + length;
                    w.Count = 0;
                }
                w.Count++;
            }
        }

        private void Sweep(DateTimeOffset now)
        {
            foreach (var (key, w) in _windows)
                if (now >= w.Ends)
                    _windows.TryRemove(key, out _);
        }
    }
}
