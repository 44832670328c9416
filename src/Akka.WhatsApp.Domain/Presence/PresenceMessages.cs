namespace Akka.WhatsApp.Domain.Presence;

/// <summary>Ephemeral presence and typing signals between sessions (never persisted per event).</summary>
public interface IPresenceSignal;

/// <summary>The distributed pub-sub topics sessions subscribe to.</summary>
public static class PresenceTopics
{
    /// <summary>Everything addressed to a user's live sessions (typing to them).</summary>
    public static string Inbox(UserId user) => "inbox-" + user.Value;

    /// <summary>A user's online/offline changes, for subscribers that privacy lets see them.</summary>
    public static string Presence(UserId user) => "presence-" + user.Value;
}

/// <summary>A user came online (first device attached) or went offline (last device detached).</summary>
public sealed record PresenceChanged(UserId User, bool Online, DateTimeOffset? LastSeen) : IPresenceSignal;

/// <summary>
/// Whether a subscriber may see <paramref name="Of"/>'s presence may have changed (a privacy setting, the contacts or
/// a block): sessions following <paramref name="Of"/> stop showing it at once and check again.
/// </summary>
public sealed record PresenceAccessChanged(UserId Of) : IPresenceSignal;

/// <summary>Someone is typing to a user (or in a group).</summary>
public sealed record TypingSignal(UserId From, UserId To, GroupId? Group, int State) : IPresenceSignal;

/// <summary>The distributed pub-sub topic a device waiting to be linked listens on.</summary>
public static class LinkTopics
{
    public static string Link(string code) => "link-" + code;
}

/// <summary>A primary device approved the link with this code; the waiting device answers <paramref name="ReplyTo"/>.</summary>
public sealed record LinkApproved(string Code, UserId User, DeviceId ApprovedBy, byte[] IdentityKey, Akka.Actor.IActorRef ReplyTo, byte[]? AccountSignature = null)
    : IPresenceSignal
{
    /// <summary>The primary's signature over the new device's identity key (PROTOCOL.md §7), handed to the new device with its credentials.</summary>
    public byte[] AccountSignature { get; init; } = AccountSignature ?? [];
}

/// <summary>The waiting device's answer: the new device id, or a wire error code (0 = none).</summary>
public sealed record LinkResult(string Code, uint Device, int ErrorCode, string Reason) : IPresenceSignal;

/// <summary>The primary rejected the link with this code; the waiting device is told FORBIDDEN.</summary>
public sealed record LinkRejected(string Code) : IPresenceSignal;
