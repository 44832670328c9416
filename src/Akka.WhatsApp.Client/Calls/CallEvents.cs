using Akka.WhatsApp.Protocol;

namespace Akka.WhatsApp.Client.Calls;

/// <summary>What a <see cref="CallPeerMessage"/> carries.</summary>
public enum CallPeerMessageKind
{
    /// <summary>A session description: the 1:1 callee's answer, or a group participant's description for this device.</summary>
    Description,

    /// <summary>An ICE candidate (or a batch of them).</summary>
    IceCandidate,
}

/// <summary>Recognises the missed calls the server leaves in the mailbox (Deliver of kind SYSTEM with system.missed_call).</summary>
public static class MissedCalls
{
    /// <summary>The missed call <paramref name="deliver"/> reports, or null when it is something else.</summary>
    public static MissedCall? AsMissedCall(this Deliver deliver) =>
        deliver.Kind == ContentKind.System ? deliver.System?.MissedCall : null;

    /// <summary>The missed call a received message reports, or null.</summary>
    public static MissedCall? AsMissedCall(this MessageReceived received) => received.Deliver.AsMissedCall();
}
