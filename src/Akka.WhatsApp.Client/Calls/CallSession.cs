using System.Collections.Immutable;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;

namespace Akka.WhatsApp.Client.Calls;

/// <summary>Who started a call, seen from this device.</summary>
public enum CallDirection
{
    Outgoing,
    Incoming,
}

/// <summary>Where a call stands on this device.</summary>
public enum CallState
{
    /// <summary>This user's call: the offer is out and no callee device rings yet (group: nobody else has joined).</summary>
    Outgoing,

    /// <summary>This device's 1:1 call: a callee device rings.</summary>
    Ringing,

    /// <summary>Offered to this device: it rings here until it is answered, rejected, or ends.</summary>
    Incoming,

    /// <summary>Answered (1:1) or joined by others (group).</summary>
    Connected,

    /// <summary>Over; <see cref="CallSession.EndReason"/> says why.</summary>
    Ended,
}

/// <summary>Why a call ended on this device.</summary>
public enum CallEnd
{
    /// <summary>This device hung up (or left the group call).</summary>
    HungUp,

    /// <summary>The other side hung up: the callee or caller, a caller who gave up ringing, or the group call's last participant.</summary>
    RemoteHangup,

    /// <summary>Nobody answered within the server's ring timeout.</summary>
    NoAnswer,

    /// <summary>The connection of a device in the call, or the server node keeping it, was lost.</summary>
    Failed,

    /// <summary>Another device of this user answered (or joined); for a call another own device makes: the callee answered it.</summary>
    AnsweredElsewhere,

    /// <summary>Another device of this user rejected it.</summary>
    RejectedElsewhere,

    /// <summary>The caller: the callee rejected it. The callee: it was rejected on this device.</summary>
    Rejected,

    /// <summary>The caller: the callee is in another call. The callee: this device was, and said so.</summary>
    Busy,
}

/// <summary>One device of a call's user.</summary>
public readonly record struct CallDevice(string UserId, uint DeviceId)
{
    public override string ToString() => $"{UserId}/{DeviceId}";
}

/// <summary>A device in a group call, with the media it joined with.</summary>
public readonly record struct CallMember(string UserId, uint DeviceId, CallMedia Media)
{
    public CallDevice Device => new(UserId, DeviceId);
}

/// <summary>
/// One call as one device sees it (PROTOCOL.md §15): a pure state machine. Received <see cref="CallSignal"/>s go through
/// <see cref="Apply"/>, this device's own actions through <see cref="Answer"/>, <see cref="Reject"/>, <see cref="HangUp"/>,
/// <see cref="Join"/>...; each returns the next session (the same one when nothing changed) or throws
/// <see cref="InvalidOperationException"/> when the transition is not possible from where the call stands.
/// <para>
/// Caller: Outgoing → Ringing → Connected → Ended. Callee: Incoming → Connected → Ended, or Incoming → Ended (answered or
/// rejected elsewhere, rejected or busy here, the caller hung up, no answer, failed). A call another device of this user
/// makes shows as Outgoing with <see cref="OnOtherDevice"/> until it ends. Group: the caller is Outgoing until someone else
/// joins; a rung member is Incoming until it joins; <see cref="Participants"/> follows the server's lists.
/// </para>
/// </summary>
public sealed record CallSession
{
    private CallSession()
    {
    }

    public CallId Id { get; private init; }

    /// <summary>This device.</summary>
    public CallDevice Me { get; private init; }

    public CallDirection Direction { get; private init; }

    /// <summary>Another device of this user makes the call; this one only shows it and takes no part in it.</summary>
    public bool OnOtherDevice { get; private init; }

    /// <summary>The calling device; empty ("", 0) for a group call this device joined without being rung.</summary>
    public CallDevice Caller { get; private init; }

    /// <summary>The 1:1 callee; empty for group calls.</summary>
    public string Callee { get; private init; } = "";

    /// <summary>The group of a group call; empty for 1:1 calls.</summary>
    public string GroupId { get; private init; } = "";

    public CallMedia Media { get; private init; }

    public CallState State { get; private init; }

    /// <summary>Set once <see cref="State"/> is <see cref="CallState.Ended"/>.</summary>
    public CallEnd? EndReason { get; private init; }

    /// <summary>
    /// The other device of a 1:1 call once it is known: the calling device for the callee, the answering one for the
    /// caller.
    /// </summary>
    public CallDevice? Peer { get; private init; }

    /// <summary>What the offer that rang this device carried for it (the caller's session description), decrypted; null when none or unreadable.</summary>
    public ByteString? Offer { get; private init; }

    /// <summary>A group call's participants as the server last listed them (this device included once it is in).</summary>
    public ImmutableArray<CallMember> Participants { get; private init; } = [];

    public DateTimeOffset StartedAt { get; private init; }
    public DateTimeOffset? ConnectedAt { get; private init; }
    public DateTimeOffset? EndedAt { get; private init; }

    public bool IsGroup => GroupId.Length > 0;
    public bool IsEnded => State == CallState.Ended;

    /// <summary>The other user of a 1:1 call.</summary>
    public string OtherUser => Direction == CallDirection.Outgoing ? Callee : Caller.UserId;

    /// <summary>This device's own call, made here (not on another device, not offered to it).</summary>
    private bool MadeHere => Direction == CallDirection.Outgoing && !OnOtherDevice;

    // ---- how a call starts on this device ----

    /// <summary>A 1:1 call this device makes.</summary>
    public static CallSession Start(CallId id, CallDevice me, string callee, CallMedia media, DateTimeOffset now)
    {
        ArgumentException.ThrowIfNullOrEmpty(callee);
        if (callee == me.UserId)
            throw new ArgumentException("a user cannot call itself", nameof(callee));
        return new CallSession
        {
            Id = id, Me = me, Direction = CallDirection.Outgoing, Caller = me, Callee = callee, Media = media, State = CallState.Outgoing, StartedAt = now,
        };
    }

    /// <summary>A group call this device makes; it is the call's first participant.</summary>
    public static CallSession StartGroup(CallId id, CallDevice me, string groupId, CallMedia media, DateTimeOffset now)
    {
        ArgumentException.ThrowIfNullOrEmpty(groupId);
        return new CallSession
        {
            Id = id, Me = me, Direction = CallDirection.Outgoing, Caller = me, GroupId = groupId, Media = media, State = CallState.Outgoing, StartedAt = now,
            Participants = [new CallMember(me.UserId, me.DeviceId, media)],
        };
    }

    /// <summary>
    /// The call an offer pushed to this device opens: Incoming when the offer rings this device (it holds an entry for
    /// it), or the call another device of this user makes (an offer from this user without an entry). <paramref name="offer"/>
    /// is this device's entry, decrypted.
    /// </summary>
    public static CallSession Offered(CallDevice me, CallSignal signal, DateTimeOffset now, ByteString? offer = null)
    {
        ArgumentNullException.ThrowIfNull(signal);
        if (signal.SignalCase != CallSignal.SignalOneofCase.Offer)
            throw new ArgumentException($"a call starts on this device with an offer, not with {signal.SignalCase}", nameof(signal));
        var id = CallId.Of(signal.CallId);
        var from = new CallDevice(signal.FromUserId, signal.FromDeviceId);
        var rungHere = signal.Offer.Offers.Any(o => o.Device?.DeviceId == me.DeviceId && (o.UserId.Length == 0 || o.UserId == me.UserId));
        if (!rungHere && from.UserId != me.UserId)
            throw new InvalidOperationException($"call {id}: the offer from {from} rings no device of {me.UserId} here (it carries no entry for device {me.DeviceId})");
        var group = signal.GroupId.Length > 0 ? signal.GroupId : signal.Offer.GroupId;
        var session = new CallSession
        {
            Id = id, Me = me, Caller = from, GroupId = group, Media = signal.Offer.Media,
            StartedAt = signal.Timestamp > 0 ? DateTimeOffset.FromUnixTimeMilliseconds((long)signal.Timestamp) : now,
        };
        return rungHere
            ? session with { Direction = CallDirection.Incoming, Callee = group.Length > 0 ? "" : me.UserId, State = CallState.Incoming, Offer = offer }
            : session with { Direction = CallDirection.Outgoing, OnOtherDevice = true, Callee = signal.Offer.ToUserId, State = CallState.Outgoing };
    }

    /// <summary>A group call this device joins without having been rung for it (it knows the call id from elsewhere).</summary>
    public static CallSession Joined(CallId id, CallDevice me, string groupId, CallMedia media, DateTimeOffset now)
    {
        ArgumentException.ThrowIfNullOrEmpty(groupId);
        return new CallSession
        {
            Id = id, Me = me, Direction = CallDirection.Incoming, Caller = new CallDevice("", 0), GroupId = groupId, Media = media,
            State = CallState.Connected, StartedAt = now, ConnectedAt = now,
        };
    }

    // ---- what the server pushes ----

    /// <summary>The call after a signal pushed for it; the same session when the signal changes nothing (ICE, group answers).</summary>
    public CallSession Apply(CallSignal signal, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(signal);
        if (!signal.CallId.Equals(Id.Bytes))
            throw new ArgumentException($"the signal is for call {Convert.ToHexStringLower(signal.CallId.Span)}, not {Id}", nameof(signal));
        var from = new CallDevice(signal.FromUserId, signal.FromDeviceId);
        if (IsEnded)
            throw Invalid($"{Name(signal.SignalCase)} from {Sender(from)} arrived after it ended ({EndReason})");
        return signal.SignalCase switch
        {
            CallSignal.SignalOneofCase.Offer => throw Invalid("a second offer arrived for it"),
            CallSignal.SignalOneofCase.Ringing => Rang(),
            CallSignal.SignalOneofCase.Answer => Answered(from, now),
            CallSignal.SignalOneofCase.IceCandidate => OnOtherDevice ? throw Invalid("an ICE candidate arrived for the call of another device") : this,
            CallSignal.SignalOneofCase.Busy => RefusedByCallee(CallEnd.Busy, "busy", now),
            CallSignal.SignalOneofCase.Reject => IsGroup ? this : RefusedByCallee(CallEnd.Rejected, "reject", now),
            CallSignal.SignalOneofCase.Hangup => HungUpBy(signal.Hangup.Reason, now),
            CallSignal.SignalOneofCase.Join or CallSignal.SignalOneofCase.Leave => IsGroup ? this : throw Invalid($"{Name(signal.SignalCase)} is for group calls"),
            CallSignal.SignalOneofCase.Participants => Listed(signal.Participants, now),
            _ => throw Invalid("an empty call signal arrived for it"),
        };
    }

    private CallSession Rang()
    {
        if (IsGroup || !MadeHere || State is not (CallState.Outgoing or CallState.Ringing))
            throw Invalid("ringing is only told to the device making a 1:1 call, before it is answered");
        return State == CallState.Ringing ? this : this with { State = CallState.Ringing };
    }

    private CallSession Answered(CallDevice from, DateTimeOffset now)
    {
        if (IsGroup)
        {
            // A participant's description for this device: negotiation between participants, no change of state.
            return State == CallState.Connected || (MadeHere && State == CallState.Outgoing)
                ? this
                : throw Invalid($"a participant's answer arrived before this device joined");
        }
        if (!MadeHere || State is not (CallState.Outgoing or CallState.Ringing))
            throw Invalid($"an answer from {from} is only for the calling device, before the call is answered");
        return this with { State = CallState.Connected, Peer = from, ConnectedAt = now };
    }

    private CallSession RefusedByCallee(CallEnd reason, string what, DateTimeOffset now)
    {
        if (IsGroup || !MadeHere || State is not (CallState.Outgoing or CallState.Ringing))
            throw Invalid($"{what} is only told to the device making a 1:1 call, before it is answered");
        return Ended(reason, now);
    }

    private CallSession HungUpBy(CallEndReason reason, DateTimeOffset now)
    {
        switch (reason)
        {
            case CallEndReason.NoAnswer when State == CallState.Connected:
                throw Invalid("NO_ANSWER arrived for a call that is connected");
            case CallEndReason.AnsweredElsewhere or CallEndReason.RejectedElsewhere when State != CallState.Incoming && !OnOtherDevice:
                throw Invalid($"{reason} arrived, but the call does not ring here");
        }
        return Ended(reason switch
        {
            CallEndReason.NoAnswer => CallEnd.NoAnswer,
            CallEndReason.Failed => CallEnd.Failed,
            CallEndReason.AnsweredElsewhere => CallEnd.AnsweredElsewhere,
            CallEndReason.RejectedElsewhere => CallEnd.RejectedElsewhere,
            _ => CallEnd.RemoteHangup,
        }, now);
    }

    private CallSession Listed(CallParticipants list, DateTimeOffset now)
    {
        if (!IsGroup)
            throw Invalid("a participant list is for group calls");
        var participants = list.Participants.Select(p => new CallMember(p.UserId, p.DeviceId, p.Media)).ToImmutableArray();
        var next = this with { Participants = participants };
        // The caller is connected once someone else is in; a rung device once it is listed (its JoinCall's Ok may come after the list).
        var connects = (MadeHere && State == CallState.Outgoing && participants.Any(p => p.Device != Me))
                       || (State == CallState.Incoming && participants.Any(p => p.Device == Me));
        return connects ? next with { State = CallState.Connected, ConnectedAt = now } : next;
    }

    // ---- what this device does ----

    /// <summary>Takes a 1:1 call that rings here (CallAnswer to the calling device).</summary>
    public CallSession Answer(DateTimeOffset now)
    {
        if (IsGroup)
            throw Invalid("a group call is joined (JoinCall), not answered");
        if (State != CallState.Incoming)
            throw Invalid("only a call that rings here can be answered");
        return this with { State = CallState.Connected, Peer = Caller, ConnectedAt = now };
    }

    /// <summary>Checks that this device may tell the caller it rings (CallRinging); nothing changes here.</summary>
    public CallSession Ring()
    {
        if (IsGroup || State != CallState.Incoming)
            throw Invalid("only a 1:1 call that rings here is rung back to its caller");
        return this;
    }

    /// <summary>Declines a call that rings here (CallReject).</summary>
    public CallSession Reject(DateTimeOffset now) =>
        State == CallState.Incoming ? Ended(CallEnd.Rejected, now) : throw Invalid("only a call that rings here can be rejected");

    /// <summary>Tells the caller this device is in another call (CallBusy); the call ends here.</summary>
    public CallSession AnswerBusy(DateTimeOffset now)
    {
        if (IsGroup || State != CallState.Incoming)
            throw Invalid("busy is answered to a 1:1 call that rings here");
        return Ended(CallEnd.Busy, now);
    }

    /// <summary>Ends this device's part in the call (CallHangup; in a group call the same as <see cref="Leave"/>).</summary>
    public CallSession HangUp(DateTimeOffset now)
    {
        if (OnOtherDevice)
            throw Invalid($"it is made on your device {Caller.DeviceId}: hang up there");
        return State switch
        {
            CallState.Incoming => throw Invalid("it rings here: reject it instead of hanging up"),
            CallState.Ended => throw Invalid($"it ended already ({EndReason})"),
            _ => Ended(CallEnd.HungUp, now),
        };
    }

    /// <summary>Joins a group call that rings here (JoinCall); one that no longer rings is joined as <see cref="Joined"/>.</summary>
    public CallSession Join(CallMedia media, DateTimeOffset now)
    {
        if (!IsGroup)
            throw Invalid("only group calls are joined; answer a 1:1 call");
        return State switch
        {
            CallState.Incoming => this with { State = CallState.Connected, Media = media, ConnectedAt = now },
            CallState.Ended => throw Invalid($"it ended here ({EndReason}): join it anew"),
            _ => throw Invalid("this device is in it already"),
        };
    }

    /// <summary>Leaves a group call without ending it for the others (LeaveCall).</summary>
    public CallSession Leave(DateTimeOffset now) => IsGroup ? HangUp(now) : throw Invalid("only group calls are left; hang up a 1:1 call");

    /// <summary>The connection this device had the call on was lost: the server ended it (PROTOCOL.md §15, 1:1 step 10).</summary>
    public CallSession Fail(DateTimeOffset now) => IsEnded ? throw Invalid($"it ended already ({EndReason})") : Ended(CallEnd.Failed, now);

    /// <summary>The device an ICE candidate of this device goes to: <paramref name="to"/>, or in a 1:1 call the peer when it is known.</summary>
    public CallDevice IceTargetFor(CallDevice? to)
    {
        if (IsEnded || OnOtherDevice)
            throw Invalid("this device is not in it");
        if (to is { } named)
            return named;
        if (IsGroup)
            throw Invalid("name the participant's device an ICE candidate is for");
        return Peer ?? (Direction == CallDirection.Incoming ? Caller : throw Invalid("it is not answered yet: name the callee device the candidate is for"));
    }

    /// <summary>Checks that this device may send a group participant its session description (a CallAnswer the server relays).</summary>
    public CallDevice DescriptionTargetFor(CallDevice to)
    {
        if (!IsGroup)
            throw Invalid("a 1:1 call's descriptions are its offer and its answer");
        if (!(State == CallState.Connected || (MadeHere && State == CallState.Outgoing)))
            throw Invalid("this device is not in it");
        return to;
    }

    private CallSession Ended(CallEnd reason, DateTimeOffset now) => this with { State = CallState.Ended, EndReason = reason, EndedAt = now };

    private InvalidOperationException Invalid(string why) =>
        new($"{(IsGroup ? "group call" : "call")} {Id} ({Direction.ToString().ToLowerInvariant()}, {State.ToString().ToLowerInvariant()}): {why}");

    private static string Sender(CallDevice from) => from.UserId.Length == 0 ? "the server" : from.ToString();

    private static string Name(CallSignal.SignalOneofCase signal) => signal.ToString().ToLowerInvariant();
}
