using Akka.WhatsApp.Domain.Messaging;
using Microsoft.Extensions.Logging;

namespace Akka.WhatsApp.Edge.Handlers;

/// <summary>
/// What a packet handler may see and do of the connection it serves: who is logged in, the backend, the
/// connection's own state (send order, presence subscriptions), and how to answer. The session owns the state
/// machine; handlers hold no state of their own and are shared by every connection.
/// </summary>
public interface IEdgeSession
{
    UserId User { get; }

    DeviceId Device { get; }

    EdgeBackend Backend { get; }

    EdgeSettings Settings { get; }

    TimeProvider Time { get; }

    ILogger Log { get; }

    /// <summary>The client's IP address (IPv4-mapped ones as IPv4), null when the transport has none.</summary>
    System.Net.IPAddress? RemoteAddress { get; }

    /// <summary>What the client said it runs on in Hello.</summary>
    Platform Platform { get; }

    /// <summary>Keeps this connection's sends in the order their frames arrived.</summary>
    SendOrder SendOrder { get; }

    /// <summary>This connection's budget of prekey bundle fetches (prekey exhaustion is a known attack).</summary>
    SendRateLimiter KeyFetches { get; }

    /// <summary>The users this connection follows the presence of.</summary>
    PresenceSubscriptions Presence { get; }

    /// <summary>The actor of the logged-in device (mailbox pushes, presence), null before login.</summary>
    IActorRef? DeviceActor { get; }

    /// <summary>Writes a frame to the client (nothing once the connection is closing).</summary>
    void Send(Frame frame);

    /// <summary>Ends the connection with a last frame; the session handles nothing more.</summary>
    void Close(Frame last);

    /// <summary>Answers <paramref name="request"/> with an error without closing (nothing for request id 0, PROTOCOL.md §3).</summary>
    void Refuse(Frame request, ErrorCode code, string message);

    /// <summary>Makes the connection this device (after a checked login or registration) and sends the login reply before the backlog.</summary>
    /// <param name="hasKeys">The device published keys: after the login reply its session checks whether they run low (PreKeyLow).</param>
    void LoggedIn(UserId user, DeviceToken token, long generation, long ackedUpTo, Func<long, Frame> loginReply, bool hasKeys = false);

    /// <summary>The actor waiting for this not-yet-linked device's approval; replaced (the old one stops) and stopped with the connection.</summary>
    void WaitForLink(Func<IActorRef> start);
}

/// <summary>A request refused with a wire error code; the message is for humans.</summary>
public sealed class RequestException(ErrorCode code, string message, ulong retryAfterMs = 0, IReadOnlyList<StaleDevices>? stale = null) : Exception(message)
{
    public ErrorCode Code { get; } = code;
    public ulong RetryAfterMs { get; } = retryAfterMs;
    public IReadOnlyList<StaleDevices>? Stale { get; } = stale;
}

/// <summary>The presence subscriptions of one connection (PROTOCOL.md §9: at most 1,024), thread-safe.</summary>
public sealed class PresenceSubscriptions
{
    public const int MaxPerConnection = 1024;

    private readonly HashSet<UserId> _users = new();

    /// <summary>Adds <paramref name="users"/> unless that would exceed the limit; false (and nothing added) when it would.</summary>
    public bool TryAdd(IReadOnlyCollection<UserId> users)
    {
        lock (_users)
        {
            if (_users.Count + users.Count(u => !_users.Contains(u)) > MaxPerConnection)
                return false;
            _users.UnionWith(users);
            return true;
        }
    }

    public bool Remove(UserId user)
    {
        lock (_users)
            return _users.Remove(user);
    }
}

/// <summary>Helpers every handler uses.</summary>
public static class EdgeSessionExtensions
{
    /// <summary>An Ask with the backend's timeout; a reply of another type is an INTERNAL error.</summary>
    public static async Task<T> AskAsync<T>(this IEdgeSession session, IActorRef target, object message) where T : class =>
        await target.Ask<object>(message, session.Backend.AskTimeout) as T
        ?? throw new RequestException(ErrorCode.Internal, "unexpected answer from the backend");

    public static Frame ErrorFrame(uint requestId, ErrorCode code, string message) =>
        new() { RequestId = requestId, Error = new Error { Code = code, Message = message } };
}
