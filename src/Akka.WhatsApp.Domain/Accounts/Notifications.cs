using System.Collections.Immutable;

namespace Akka.WhatsApp.Domain.Accounts;

/// <summary>Where a device is woken while it has no connection (PROTOCOL.md §16): a provider and its tokens, never content.</summary>
/// <param name="Platform">The wire PushPlatform (APNs or FCM).</param>
/// <param name="VoipToken">APNs PushKit token for incoming calls; empty when none.</param>
/// <param name="AppId">APNs topic or FCM app id, for a server that serves several apps; empty for the default.</param>
/// <param name="Sandbox">APNs development environment.</param>
public sealed record PushRegistration(int Platform, string Token, string VoipToken = "", string AppId = "", bool Sandbox = false)
{
    public const int Apns = 2;
    public const int Fcm = 3;
}

/// <summary>A 1:1 chat (with a user) or a group, as mutes name them; <see cref="Key"/> orders and identifies them.</summary>
public readonly record struct ChatId(bool IsGroup, string Id)
{
    public string Key => (IsGroup ? "g:" : "u:") + Id;

    public static ChatId User(UserId user) => new(false, user.Value);

    public static ChatId Group(GroupId group) => new(true, group.Value);
}

/// <summary>Account-wide do-not-disturb: no pushes while <see cref="InForce"/>, except calls when <see cref="AllowCalls"/>.</summary>
/// <param name="Until">When it ends by itself; null = until turned off.</param>
public sealed record DoNotDisturb(bool Enabled, DateTimeOffset? Until, bool AllowCalls)
{
    public static readonly DoNotDisturb Off = new(false, null, false);

    public bool InForce(DateTimeOffset now) => Enabled && (Until is not { } until || until > now);

    /// <summary>What a client is told: an expired setting reads as off.</summary>
    public DoNotDisturb AsOf(DateTimeOffset now) => InForce(now) ? this : Off;
}

/// <summary>
/// A user's notification settings, beside the account: mutes per chat (at most <see cref="MaxMutes"/> in force; expired ones
/// are dropped with the next change) and do-not-disturb. Push registrations are per device (<see cref="DeviceRecord.Push"/>).
/// </summary>
public sealed record NotificationPreferences
{
    public const int MaxMutes = 1000;

    private static readonly Comparer<ChatId> ChatOrder = Comparer<ChatId>.Create((a, b) => string.CompareOrdinal(a.Key, b.Key));

    /// <summary>Muted until, per chat in <see cref="ChatId.Key"/> order; <see cref="DateTimeOffset.MaxValue"/> is forever.</summary>
    public ImmutableSortedDictionary<ChatId, DateTimeOffset> Mutes { get; init; } = ImmutableSortedDictionary.Create<ChatId, DateTimeOffset>(ChatOrder);

    public DoNotDisturb DoNotDisturb { get; init; } = DoNotDisturb.Off;

    public static readonly NotificationPreferences None = new();

    public bool IsMuted(ChatId chat, DateTimeOffset now) => Mutes.TryGetValue(chat, out var until) && until > now;

    /// <summary>The mutes still in force at <paramref name="now"/>, in key order.</summary>
    public IEnumerable<(ChatId Chat, DateTimeOffset Until)> MutesInForce(DateTimeOffset now) =>
        Mutes.Where(m => m.Value > now).Select(m => (m.Key, m.Value));

    /// <summary>After <paramref name="chat"/> was muted until <paramref name="until"/> (or unmuted: not after <paramref name="at"/>), expired mutes dropped.</summary>
    public NotificationPreferences Muted(ChatId chat, DateTimeOffset until, DateTimeOffset at)
    {
        var mutes = Mutes.RemoveRange(Mutes.Where(m => m.Value <= at).Select(m => m.Key));
        return this with { Mutes = until > at ? mutes.SetItem(chat, until) : mutes.Remove(chat) };
    }
}
