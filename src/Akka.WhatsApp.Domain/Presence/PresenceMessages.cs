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

/// <summary>Someone is typing to a user (or in a group).</summary>
public sealed record TypingSignal(UserId From, UserId To, GroupId? Group, int State) : IPresenceSignal;
