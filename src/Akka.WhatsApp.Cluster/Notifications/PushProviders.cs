using Akka.WhatsApp.Domain.Accounts;
using Akka.WhatsApp.Domain.Notifications;

namespace Akka.WhatsApp.Cluster.Notifications;

/// <summary>
/// One push to one device, as a provider sends it. It carries no content (PROTOCOL.md §16): the app is told that
/// something arrived, a badge and a collapse id; it connects to fetch.
/// </summary>
public sealed record PushNotification(UserId User, DeviceId Device, PushRegistration Registration, PushKind Kind, int Badge, DateTimeOffset StoredAt)
{
    /// <summary>Replaces an earlier push of the same device still waiting in the provider (one banner, not a pile).</summary>
    public string CollapseId => Kind == PushKind.Call ? "call" : "new-messages";

    /// <summary>The token this push goes to: the VoIP token for calls on APNs.</summary>
    public string Token => Kind == PushKind.Call && Registration.Platform == PushRegistration.Apns ? Registration.VoipToken : Registration.Token;
}

public enum PushResult
{
    Sent,

    /// <summary>The provider says the token is gone (uninstalled, expired, wrong environment): it is removed from the device.</summary>
    TokenInvalid,

    /// <summary>Not delivered after the retries; the next message tries again.</summary>
    Failed,
}

/// <param name="Reason">The provider's reason (APNs reason, FCM status), a metric label.</param>
public sealed record PushOutcome(PushNotification Push, PushResult Result, string Reason);

/// <summary>A push service (APNs, FCM) behind its wire format. Implementations retry transient failures themselves.</summary>
public interface IPushProvider
{
    /// <summary>The metric label and log name: apns, fcm.</summary>
    string Name { get; }

    /// <summary>The wire PushPlatform this provider serves.</summary>
    int Platform { get; }

    /// <summary>Pushes per second this node sends at most through it (the stream shapes to it).</summary>
    int RatePerSecond { get; }

    Task<PushOutcome> SendAsync(PushNotification push, CancellationToken cancellationToken);
}
