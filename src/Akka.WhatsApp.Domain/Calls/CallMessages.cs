using System.Collections.Immutable;
using Akka.Actor;

namespace Akka.WhatsApp.Domain.Calls;

/// <summary>A call's id: the 16 random bytes the caller chose, as 32 lowercase hex digits (the shard key).</summary>
public readonly record struct CallId(string Value)
{
    public static CallId Of(ReadOnlySpan<byte> bytes) => new(Convert.ToHexString(bytes).ToLowerInvariant());

    public byte[] ToBytes() => Convert.FromHexString(Value);

    public override string ToString() => Value;
}

/// <summary>Values of the wire CallMedia.</summary>
public enum CallMedia
{
    Audio = 1,
    Video = 2,
}

/// <summary>Values of the wire CallEndReason.</summary>
public enum CallEndReason
{
    Normal = 1,
    NoAnswer = 2,
    Failed = 3,
    AnsweredElsewhere = 4,
    RejectedElsewhere = 5,
}

/// <summary>One device of one user, as a call addresses it.</summary>
public readonly record struct CallDevice(UserId User, DeviceId Device)
{
    public override string ToString() => $"{User.Value}:{Device.Value}";
}

/// <summary>A device in a group call and the media it sends.</summary>
public sealed record CallParticipant(UserId User, DeviceId Device, CallMedia Media);

/// <summary>The encrypted offer for one device to ring (opaque to the server).</summary>
public sealed record CallRing(UserId User, DeviceId Device, byte[] Offer);

/// <summary>Marker for every call message that may cross nodes (commands, replies, signals): one serializer binds them.</summary>
public interface ICallMessage;

/// <summary>Marker for everything addressed to a Call entity (the shard key is the call id).</summary>
public interface ICallCommand : ICallMessage
{
    CallId Call { get; }
}

/// <summary>Marker for the replies of a Call entity.</summary>
public interface ICallReply : ICallMessage;

/// <summary>The client packets a call relays or acts on, besides the offer (the wire packet names).</summary>
public enum CallSignalKind
{
    Answer = 1,
    IceCandidate = 2,
    Ringing = 3,
    Busy = 4,
    Hangup = 5,
    Reject = 6,
    Join = 7,
    Leave = 8,
}

/// <summary>Commands a Call entity accepts (PROTOCOL.md §15).</summary>
public static class CallCommands
{
    /// <summary>
    /// Start a call: 1:1 to <paramref name="To"/>, or in <paramref name="Group"/> (the edge checked the caller is a
    /// member, kept only rings for members and gives the <paramref name="Members"/>). <paramref name="Silenced"/>: the callee blocked the caller, so nobody is
    /// rung and no missed call is left; the caller is not told. A repeated offer from the same device is answered again.
    /// </summary>
    public sealed record Offer(
        CallId Call,
        UserId From,
        DeviceId FromDevice,
        IActorRef Session,
        UserId? To,
        GroupId? Group,
        CallMedia Media,
        ImmutableArray<CallRing> Rings,
        bool Silenced = false,
        ImmutableArray<UserId> Members = default) : ICallCommand
    {
        /// <summary>A group call: the group's members when it started, who may join.</summary>
        public ImmutableArray<UserId> Members { get; init; } = Members.IsDefault ? [] : Members;
    }

    /// <summary>
    /// Anything else a device in the call sends: <paramref name="ToUser"/> / <paramref name="ToDevice"/> address an
    /// answer or an ICE candidate (and name the caller for ringing and busy); <paramref name="Reason"/> is a hangup's;
    /// <paramref name="Media"/> a join's.
    /// </summary>
    public sealed record Signal(
        CallId Call,
        UserId From,
        DeviceId FromDevice,
        IActorRef Session,
        CallSignalKind Kind,
        UserId? ToUser = null,
        DeviceId ToDevice = default,
        byte[]? Ciphertext = null,
        CallEndReason Reason = CallEndReason.Normal,
        CallMedia Media = CallMedia.Audio) : ICallCommand
    {
        public byte[] Ciphertext { get; init; } = Ciphertext ?? [];
    }
}

/// <summary>Replies of a Call entity.</summary>
public static class CallReplies
{
    /// <summary>Done; <paramref name="Entity"/> is the call, which the device's session watches (a call that disappears ends FAILED).</summary>
    public sealed record Accepted(IActorRef Entity) : ICallReply;

    public sealed record Refused(CallError Error, string Reason) : ICallReply;
}

/// <summary>Why a call refused a packet (mapped to wire error codes by the edge).</summary>
public enum CallError
{
    NotFound = 1,
    InvalidArgument = 2,
    CallFull = 3,
    NotAMember = 4,
}

/// <summary>What a call pushes to devices (wire CallSignal cases).</summary>
public enum CallPushKind
{
    Offer = 1,
    Answer = 2,
    IceCandidate = 3,
    Ringing = 4,
    Busy = 5,
    Hangup = 6,
    Reject = 7,
    Participants = 8,
}

/// <summary>
/// One CallSignal for the live sessions of <paramref name="To"/>, published on the user's inbox topic: for
/// <paramref name="Device"/> only, or (0) for every device but <paramref name="ExceptDevice"/>. <paramref name="From"/>
/// null: made by the server. <paramref name="Entity"/> is the call, for a session to watch.
/// </summary>
public sealed record CallPush(
    UserId To,
    uint Device,
    uint ExceptDevice,
    CallId Call,
    CallPushKind Kind,
    UserId? From,
    uint FromDevice,
    GroupId? Group,
    UserId? Callee,
    DateTimeOffset At,
    CallMedia Media,
    byte[] Ciphertext,
    CallEndReason Reason,
    ImmutableArray<CallParticipant> Participants,
    IActorRef Entity) : ICallMessage
{
    /// <summary>Whether the session of <paramref name="device"/> shows this push.</summary>
    public bool IsFor(DeviceId device) => Device == 0 ? device.Value != ExceptDevice : device.Value == Device;

    /// <summary>After this push the call is over for the device that shows it.</summary>
    public bool Ends => Kind is CallPushKind.Hangup or CallPushKind.Reject or CallPushKind.Busy;
}

/// <summary>
/// A device of <paramref name="User"/> logged in (published on the user's inbox topic): a call ringing that device
/// pushes its offer to it again, so that a phone woken by a VoIP push gets the call it was woken for. The offer goes
/// straight to <paramref name="Session"/>: the pub-sub registry of the call's node may not know the new session yet.
/// </summary>
public sealed record DeviceAttached(UserId User, DeviceId Device, IActorRef Session) : ICallMessage;

/// <summary>A call nobody of <paramref name="Callee"/> answered, left in the callee's mailbox as a SYSTEM message.</summary>
public sealed record MissedCall(CallId Call, UserId Callee, UserId Caller, GroupId? Group, CallMedia Media, DateTimeOffset OfferedAt)
{
    /// <summary>The mailbox message id: one record per call and callee, however often it is handed over.</summary>
    public MessageId MessageId => MessageId.Derived($"missed-call\0{Call.Value}\0{Callee.Value}");
}
