using System.Security.Cryptography;
using System.Text;

namespace Akka.WhatsApp.Domain.Calls;

/// <summary>
/// The TURN relays a call may use: their URLs as clients dial them (<c>turn:host:3478?transport=udp</c>, <c>turns:…</c>),
/// the secret shared with the relays (coturn's <c>static-auth-secret</c>) and how long issued credentials stay valid.
/// </summary>
public sealed record TurnSettings(IReadOnlyList<string> Urls, string Secret, TimeSpan Ttl);

/// <summary>
/// A time-limited TURN credential for one user: the long-term credential a client gives the relay as USERNAME and password.
/// </summary>
/// <param name="Username"><c>&lt;expiry as unix seconds&gt;:&lt;user id&gt;</c>; the relay reads the expiry from it.</param>
/// <param name="Credential">The password: base64 of HMAC-SHA1 over <paramref name="Username"/>, keyed with the shared secret.</param>
/// <param name="ExpiresAt">The expiry encoded in <paramref name="Username"/>, from which the relay refuses new allocations.</param>
public sealed record TurnCredential(string Username, string Credential, DateTimeOffset ExpiresAt);

/// <summary>
/// Issues TURN credentials in coturn's REST API scheme (<c>use-auth-secret</c>, draft-uberti-behave-turn-rest): the relay
/// holds no user list, it recomputes the password from the username and the shared secret and refuses an expired
/// username. Pure, so that the server hands them out without asking the relay anything.
/// </summary>
public static class TurnCredentials
{
    /// <summary>
    /// A credential for <paramref name="userId"/> valid for at least <paramref name="ttl"/> from <paramref name="now"/>: the
    /// expiry is rounded up to a whole second, because the username carries it in seconds.
    /// </summary>
    /// <exception cref="ArgumentException">The secret or the user id is empty, or <paramref name="ttl"/> is not positive.</exception>
    public static TurnCredential Issue(string secret, string userId, DateTimeOffset now, TimeSpan ttl)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        ArgumentException.ThrowIfNullOrWhiteSpace(userId);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero);

        var expires = CeilingUnixSeconds(now + ttl);
        var username = $"{expires}:{userId}";
        var mac = HMACSHA1.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(username));
        return new TurnCredential(username, Convert.ToBase64String(mac), DateTimeOffset.FromUnixTimeSeconds(expires));
    }

    private static long CeilingUnixSeconds(DateTimeOffset time)
    {
        var ticks = time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        var seconds = ticks / TimeSpan.TicksPerSecond;
        // Division truncates towards zero, which is the ceiling below the epoch and the floor above it.
        return ticks % TimeSpan.TicksPerSecond > 0 ? seconds + 1 : seconds;
    }
}
