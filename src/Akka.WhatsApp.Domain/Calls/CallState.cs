using System.Collections.Immutable;
using Akka.Actor;

namespace Akka.WhatsApp.Domain.Calls;

/// <summary>What a call decided: the answer to the device, the signals to push, the missed calls to record, whether it ended.</summary>
public sealed record CallOutcome(ICallReply Reply, ImmutableArray<CallPush> Pushes, ImmutableArray<MissedCall> Missed, bool Ended);

/// <summary>
/// One call's signalling state (PROTOCOL.md §15), pure: the entity feeds it what devices send, the ring timeout and
/// dropped sessions, and carries out what it decides. Not persisted: only missed calls outlive a call.
/// </summary>
/// <remarks>
/// 1:1: the calling device rings the callee's devices it sent offers for; the first device to answer takes the call
/// (the others stop with ANSWERED_ELSEWHERE), a reject or busy ends it, the ring timeout ends it NO_ANSWER. Group: the
/// caller is the first participant, members join and leave (32 at most, 8 with video), the call ends with its last
/// participant; members rung who neither joined nor declined get a missed call.
/// </remarks>
public sealed class CallState
{
    public const int MaxParticipants = 32;
    public const int MaxVideoParticipants = 8;

    /// <summary>Offers one call may carry: every device of every member of the largest group call.</summary>
    public const int MaxRings = 1024 * 5;

    private readonly IActorRef _entity;
    private readonly Dictionary<CallDevice, byte[]> _ringing = new();
    private readonly HashSet<UserId> _rungUsers = [];
    private readonly HashSet<UserId> _settled = []; // joined, answered or declined: no missed call
    private readonly Dictionary<CallDevice, CallMedia> _participants = new();
    private ImmutableHashSet<UserId> _members = [];
    private readonly List<CallPush> _pushes = [];
    private readonly List<MissedCall> _missed = [];

    public CallState(CallId id, IActorRef entity)
    {
        Id = id;
        _entity = entity;
    }

    public CallId Id { get; }

    /// <summary>False until the first offer; then the offer's fields below are set.</summary>
    public bool Started { get; private set; }

    public bool Ended { get; private set; }

    public CallDevice Caller { get; private set; }

    public UserId? Callee { get; private set; }

    public GroupId? Group { get; private set; }

    public CallMedia Media { get; private set; }

    public DateTimeOffset OfferedAt { get; private set; }

    public bool Silenced { get; private set; }

    /// <summary>1:1: the callee's device that took the call.</summary>
    public CallDevice? Answered { get; private set; }

    /// <summary>Devices still ringing.</summary>
    public IReadOnlyCollection<CallDevice> Ringing => _ringing.Keys;

    /// <summary>A group call's participants, in the order they joined.</summary>
    public IReadOnlyList<CallParticipant> Participants => [.. _participants.Select(p => new CallParticipant(p.Key.User, p.Key.Device, p.Value))];

    /// <summary>The devices whose sessions the entity watches: those that sent something, and the answering or joined ones.</summary>
    public bool Involves(CallDevice device) =>
        device == Caller || _ringing.ContainsKey(device) || Answered == device || _participants.ContainsKey(device);

    public CallOutcome Offer(CallCommands.Offer offer, DateTimeOffset now)
    {
        var from = new CallDevice(offer.From, offer.FromDevice);
        if (Started)
            return from == Caller && !Ended ? Done() : Refuse(CallError.InvalidArgument, "this call id is taken: choose 16 new random bytes");
        if (offer.Rings.Length > MaxRings)
            return Refuse(CallError.InvalidArgument, $"at most {MaxRings} offers per call");
        (Started, Caller, Callee, Group, Media, OfferedAt, Silenced) = (true, from, offer.To, offer.Group, offer.Media, now, offer.Silenced);
        _members = [.. offer.Members];
        if (Group is not null)
            _participants[from] = offer.Media;
        foreach (var ring in offer.Rings)
        {
            var device = new CallDevice(ring.User, ring.Device);
            if (ring.User == offer.From || offer.Silenced || (Callee is { } callee && ring.User != callee))
                continue;
            _ringing[device] = ring.Offer;
            _rungUsers.Add(ring.User);
        }
        foreach (var (device, ciphertext) in _ringing)
            Push(device.User, device.Device.Value, 0, CallPushKind.Offer, Caller, ciphertext);
        // The caller's other devices show that a call is under way elsewhere.
        Push(Caller.User, 0, Caller.Device.Value, CallPushKind.Offer, Caller, []);
        if (Group is not null)
            PushParticipants();
        return Done();
    }

    public CallOutcome Signal(CallCommands.Signal s, DateTimeOffset now)
    {
        var from = new CallDevice(s.From, s.FromDevice);
        if (!Started || Ended)
            return Refuse(CallError.NotFound, "no such call (or it ended)");
        if (Group is not null && s.Kind == CallSignalKind.Join)
            return _members.Contains(from.User) ? Join(from, s.Media) : Refuse(CallError.NotAMember, "only the group's members join its call");
        if (!Involves(from))
            return Refuse(CallError.NotFound, "this device is not in the call");
        var to = s.ToUser is { } user ? new CallDevice(user, s.ToDevice) : (CallDevice?)null;
        return (s.Kind, Group) switch
        {
            (CallSignalKind.Answer, null) => Answer(from, to, s.Ciphertext),
            (CallSignalKind.Answer or CallSignalKind.IceCandidate, _) => Relay(from, to, s.Kind, s.Ciphertext),
            (CallSignalKind.Ringing, null) when _ringing.ContainsKey(from) => Relayed(CallPushKind.Ringing, from),
            (CallSignalKind.Ringing, _) => Done(),
            (CallSignalKind.Busy, null) when _ringing.ContainsKey(from) => EndOneToOne(from, CallPushKind.Busy, CallEndReason.Normal, missed: true),
            (CallSignalKind.Reject, null) when _ringing.ContainsKey(from) => EndOneToOne(from, CallPushKind.Reject, CallEndReason.RejectedElsewhere, missed: false),
            (CallSignalKind.Reject or CallSignalKind.Busy, not null) when _ringing.ContainsKey(from) => Decline(from, missed: s.Kind == CallSignalKind.Busy),
            (CallSignalKind.Hangup, null) => Hangup(from, s.Reason),
            (CallSignalKind.Hangup or CallSignalKind.Leave, not null) => Leave(from),
            (CallSignalKind.Join or CallSignalKind.Leave, null) => Refuse(CallError.InvalidArgument, "JoinCall and LeaveCall are for group calls"),
            _ => Refuse(CallError.NotFound, "this device has nothing to answer in the call"),
        };
    }

    /// <summary>A device that rings logged in again (woken by a VoIP push): it gets its offer once more.</summary>
    public CallOutcome Reoffer(CallDevice device)
    {
        if (!Ended && _ringing.TryGetValue(device, out var offer))
            Push(device.User, device.Device.Value, 0, CallPushKind.Offer, Caller, offer);
        return Done();
    }

    /// <summary>No device answered in time: 1:1 calls end NO_ANSWER; a group call stops ringing and goes on.</summary>
    public CallOutcome RingTimeout()
    {
        if (!Started || Ended || _ringing.Count == 0 && (Group is not null || Answered is not null))
            return Done();
        if (Group is null && Answered is null)
        {
            Push(Caller.User, Caller.Device.Value, 0, CallPushKind.Hangup, null, [], CallEndReason.NoAnswer);
            Push(Caller.User, 0, Caller.Device.Value, CallPushKind.Hangup, null, [], CallEndReason.NoAnswer);
        }
        StopRinging(CallEndReason.NoAnswer, missed: true);
        if (Group is null)
            Ended = true;
        return Done();
    }

    /// <summary>A device's session stopped (its connection or its node went away).</summary>
    public CallOutcome SessionGone(CallDevice device)
    {
        if (!Started || Ended)
            return Done();
        if (Group is not null)
            return _participants.ContainsKey(device) ? Leave(device) : Forget(device);
        if (device == Caller || device == Answered)
            return Hangup(device, CallEndReason.Failed);
        return Forget(device);
    }

    private CallOutcome Answer(CallDevice from, CallDevice? to, byte[] ciphertext)
    {
        if (Answered is { } answered)
            return from == answered || from == Caller ? Relay(from, to, CallSignalKind.Answer, ciphertext) : Refuse(CallError.NotFound, "the call was answered on another device");
        if (!_ringing.ContainsKey(from) || to != Caller)
            return Refuse(CallError.NotFound, "only a ringing device answers, and it answers the calling device");
        Answered = from;
        _settled.Add(from.User);
        _ringing.Remove(from);
        Push(Caller.User, Caller.Device.Value, 0, CallPushKind.Answer, from, ciphertext);
        Push(Caller.User, 0, Caller.Device.Value, CallPushKind.Hangup, null, [], CallEndReason.AnsweredElsewhere);
        StopRinging(CallEndReason.AnsweredElsewhere, missed: false);
        return Done();
    }

    private CallOutcome Relay(CallDevice from, CallDevice? to, CallSignalKind kind, byte[] ciphertext)
    {
        if (to is not { } target || target == from || !InCall(target))
            return Refuse(CallError.NotFound, "the addressed device is not in the call");
        Push(target.User, target.Device.Value, 0, kind == CallSignalKind.Answer ? CallPushKind.Answer : CallPushKind.IceCandidate, from, ciphertext);
        return Done();
    }

    /// <summary>Devices that may be addressed: the calling device and the rung or answering ones (1:1), the participants (group).</summary>
    private bool InCall(CallDevice device) => Group is null ? device == Caller || Answered == device || Answered is null && _ringing.ContainsKey(device) : _participants.ContainsKey(device);

    private CallOutcome Relayed(CallPushKind kind, CallDevice from)
    {
        Push(Caller.User, Caller.Device.Value, 0, kind, from, []);
        return Done();
    }

    /// <summary>A 1:1 call refused by one of the callee's devices (reject, busy).</summary>
    private CallOutcome EndOneToOne(CallDevice from, CallPushKind kind, CallEndReason others, bool missed)
    {
        if (Answered is not null)
            return Refuse(CallError.NotFound, "the call was answered");
        _ringing.Remove(from);
        if (!missed)
            _settled.Add(from.User);
        Push(Caller.User, Caller.Device.Value, 0, kind, from, []);
        Push(Caller.User, 0, Caller.Device.Value, CallPushKind.Hangup, null, [], CallEndReason.Normal);
        StopRinging(others, missed);
        Ended = true;
        return Done();
    }

    private CallOutcome Hangup(CallDevice from, CallEndReason reason)
    {
        if (Answered is { } answered)
        {
            var other = from == Caller ? answered : Caller;
            Push(other.User, other.Device.Value, 0, CallPushKind.Hangup, reason == CallEndReason.Failed ? null : from, [], reason);
        }
        else if (from == Caller)
        {
            Push(Caller.User, 0, Caller.Device.Value, CallPushKind.Hangup, null, [], reason);
            StopRinging(reason, missed: true);
        }
        else
        {
            return EndOneToOne(from, CallPushKind.Reject, CallEndReason.RejectedElsewhere, missed: false);
        }
        Ended = true;
        return Done();
    }

    private CallOutcome Join(CallDevice from, CallMedia media)
    {
        if (_participants.TryGetValue(from, out var current))
        {
            if (current == media)
                return Done();
            _participants.Remove(from);
        }
        if (_participants.Count >= MaxParticipants)
            return Refuse(CallError.CallFull, $"the call has {MaxParticipants} participants, its maximum");
        if (media == CallMedia.Video && _participants.Values.Count(m => m == CallMedia.Video) >= MaxVideoParticipants)
            return Refuse(CallError.CallFull, $"the call has {MaxVideoParticipants} participants with video, its maximum: join with audio");
        _participants[from] = media;
        _settled.Add(from.User);
        StopRingingUser(from.User, CallEndReason.AnsweredElsewhere);
        PushParticipants();
        return Done();
    }

    private CallOutcome Leave(CallDevice from)
    {
        if (!_participants.Remove(from))
            return Forget(from);
        if (_participants.Count > 0)
        {
            PushParticipants();
            return Done();
        }
        StopRinging(CallEndReason.Normal, missed: true);
        Ended = true;
        return Done();
    }

    /// <summary>A member declined a group call on one device: that user's devices stop ringing.</summary>
    private CallOutcome Decline(CallDevice from, bool missed)
    {
        _ringing.Remove(from);
        if (!missed)
            _settled.Add(from.User);
        StopRingingUser(from.User, missed ? CallEndReason.Normal : CallEndReason.RejectedElsewhere);
        if (missed)
            Miss(from.User);
        return Done();
    }

    private CallOutcome Forget(CallDevice device)
    {
        _ringing.Remove(device);
        return Done();
    }

    private void StopRingingUser(UserId user, CallEndReason reason)
    {
        foreach (var device in _ringing.Keys.Where(d => d.User == user).ToList())
        {
            _ringing.Remove(device);
            Push(device.User, device.Device.Value, 0, CallPushKind.Hangup, null, [], reason);
        }
    }

    /// <summary>Every device still ringing stops; rung users who neither answered nor declined get a missed call.</summary>
    private void StopRinging(CallEndReason reason, bool missed)
    {
        foreach (var device in _ringing.Keys)
            Push(device.User, device.Device.Value, 0, CallPushKind.Hangup, null, [], reason);
        _ringing.Clear();
        if (!missed || Silenced)
            return;
        foreach (var user in _rungUsers)
            Miss(user);
    }

    private void Miss(UserId user)
    {
        if (_settled.Add(user))
            _missed.Add(new MissedCall(Id, user, Caller.User, Group, Media, OfferedAt));
    }

    private void PushParticipants()
    {
        var list = Participants.ToImmutableArray();
        foreach (var device in _participants.Keys)
            _pushes.Add(NewPush(device.User, device.Device.Value, 0, CallPushKind.Participants, null, [], CallEndReason.Normal, list));
    }

    private void Push(UserId to, uint device, uint except, CallPushKind kind, CallDevice? from, byte[] ciphertext, CallEndReason reason = CallEndReason.Normal) =>
        _pushes.Add(NewPush(to, device, except, kind, from, ciphertext, reason, []));

    private CallPush NewPush(UserId to, uint device, uint except, CallPushKind kind, CallDevice? from, byte[] ciphertext, CallEndReason reason,
        ImmutableArray<CallParticipant> participants) =>
        new(to, device, except, Id, kind, from?.User, from?.Device.Value ?? 0, Group, Callee, OfferedAt, Media, ciphertext, reason, participants, _entity);

    private CallOutcome Done() => Flush(new CallReplies.Accepted(_entity));

    private CallOutcome Refuse(CallError error, string reason) => Flush(new CallReplies.Refused(error, reason));

    private CallOutcome Flush(ICallReply reply)
    {
        var outcome = new CallOutcome(reply, [.. _pushes], [.. _missed], Ended);
        _pushes.Clear();
        _missed.Clear();
        return outcome;
    }
}
