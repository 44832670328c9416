using System.Collections.Immutable;
using Akka.WhatsApp.Domain.Accounts;

namespace Akka.WhatsApp.Domain.Notifications;

/// <summary>What wakes a device: a stored message, or an incoming call (VoIP push; the calls area will raise it).</summary>
public enum PushKind
{
    Message = 1,
    Call = 2,
}

/// <summary>Why no push went out for a candidate (a metric label, in snake case on /metrics).</summary>
public enum PushSkip
{
    None = 0,
    NoRegistration,
    Muted,
    DoNotDisturb,
    NoVoipToken,
}

/// <summary>
/// One device's push settings as its account holds them: where to reach it, the account's mutes still in force and
/// do-not-disturb. The push pipeline caches it for a few seconds per device (PROTOCOL.md §16).
/// </summary>
public sealed record PushProfile(PushRegistration? Registration, ImmutableArray<(ChatId Chat, DateTimeOffset Until)> Mutes, DoNotDisturb DoNotDisturb)
{
    public static readonly PushProfile Nowhere = new(null, [], DoNotDisturb.Off);
}

/// <summary>
/// Whether a candidate becomes a push (PROTOCOL.md §16). The mailbox decides which entries are candidates (messages for a
/// device with no connection, never the sender's own copies, receipts or silent messages); this decides what the
/// user's settings allow. Pure, so that every rule has a plain test.
/// </summary>
public static class PushPolicy
{
    public static PushSkip Decide(PushProfile profile, ChatId chat, PushKind kind, DateTimeOffset now)
    {
        if (profile.Registration is not { } registration)
            return PushSkip.NoRegistration;
        if (kind == PushKind.Call)
        {
            if (profile.DoNotDisturb.InForce(now) && !profile.DoNotDisturb.AllowCalls)
                return PushSkip.DoNotDisturb;
            // A call rings through PushKit on iOS; FCM has one token for everything.
            return registration.Platform == PushRegistration.Apns && registration.VoipToken.Length == 0 ? PushSkip.NoVoipToken : PushSkip.None;
        }
        if (profile.DoNotDisturb.InForce(now))
            return PushSkip.DoNotDisturb;
        foreach (var (muted, until) in profile.Mutes)
            if (muted == chat && until > now)
                return PushSkip.Muted;
        return PushSkip.None;
    }
}

/// <summary>
/// A mailbox stored something that should wake <paramref name="Device"/> (it has no connection, or its connection
/// stopped acknowledging): told to the push pipeline of the mailbox's own node, never sent across nodes.
/// </summary>
/// <param name="Chat">The chat it belongs to, for mutes.</param>
/// <param name="Badge">Messages the device has not seen since it last connected, as far as this mailbox counted (a hint).</param>
/// <param name="StoredAt">When the entry became durable: the push latency is measured from it.</param>
public sealed record PushRequest(UserId User, DeviceId Device, ChatId Chat, PushKind Kind, int Badge, DateTimeOffset StoredAt)
    : Akka.Actor.INoSerializationVerificationNeeded
{
    /// <summary>Whether a stored message wakes devices at all: not the sender's own copies, silent messages or device-list notices.</summary>
    public static bool Wakes(Mailbox.StoredMessage message) =>
        !message.IsOwnCopy && !message.Meta.Silent && message.Meta.DeviceList is null;
}
