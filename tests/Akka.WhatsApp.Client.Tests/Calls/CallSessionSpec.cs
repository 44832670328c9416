using Akka.WhatsApp.Client.Calls;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;
using Xunit;

namespace Akka.WhatsApp.Client.Tests.Calls;

/// <summary>
/// The call state machine on its own (PROTOCOL.md §15 as the server implements it): every way a 1:1 or group call goes
/// on the caller's device, the callee's devices and the caller's other devices, and what does not fit refused with a
/// reason.
/// </summary>
public sealed class CallSessionSpec
{
    private const string Group = "0123456789abcdef0123456789abcdef";
    private static readonly CallId Id = CallId.Of(ByteString.CopyFrom(Enumerable.Range(1, 16).Select(i => (byte)i).ToArray()));
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly CallDevice Alice = new("alice", 1);
    private static readonly CallDevice AliceTablet = new("alice", 2);
    private static readonly CallDevice Bob = new("bob", 1);
    private static readonly CallDevice BobLaptop = new("bob", 3);
    private static readonly CallDevice Carol = new("carol", 1);
    private static readonly CallDevice Server = new("", 0);

    private static CallSignal Signal(CallDevice from, Action<CallSignal> set, string group = "")
    {
        var signal = new CallSignal { CallId = Id.Bytes, FromUserId = from.UserId, FromDeviceId = from.DeviceId, Timestamp = 1, GroupId = group };
        set(signal);
        return signal;
    }

    private static CallSignal Offer(CallDevice from, CallDevice rings, string group = "", CallMedia media = CallMedia.Audio) => Signal(from, s => s.Offer = new CallOffer
    {
        CallId = Id.Bytes, ToUserId = group.Length > 0 ? "" : rings.UserId, GroupId = group, Media = media,
        Offers = { new RecipientCiphertext { UserId = rings.UserId, Device = new DeviceCiphertext { DeviceId = rings.DeviceId, Ciphertext = ByteString.CopyFromUtf8("sdp") } } },
    }, group);

    private static CallSignal Ringing(CallDevice from) => Signal(from, s => s.Ringing = new CallRinging { CallId = Id.Bytes, ToUserId = "alice" });
    private static CallSignal Answer(CallDevice from, string group = "") => Signal(from, s => s.Answer = new CallAnswer { CallId = Id.Bytes, ToUserId = "alice" }, group);
    private static CallSignal Busy(CallDevice from) => Signal(from, s => s.Busy = new CallBusy { CallId = Id.Bytes, ToUserId = "alice" });
    private static CallSignal Reject(CallDevice from, string group = "") => Signal(from, s => s.Reject = new CallReject { CallId = Id.Bytes }, group);
    private static CallSignal Ice(CallDevice from, string group = "") => Signal(from, s => s.IceCandidate = new IceCandidate { CallId = Id.Bytes }, group);

    private static CallSignal Hangup(CallEndReason reason, CallDevice? from = null, string group = "") =>
        Signal(from ?? Server, s => s.Hangup = new CallHangup { CallId = Id.Bytes, Reason = reason }, group);

    private static CallSignal Participants(params CallDevice[] devices) => Signal(Server, s => s.Participants = new CallParticipants
    {
        Participants = { devices.Select(d => new CallParticipant { UserId = d.UserId, DeviceId = d.DeviceId, Media = CallMedia.Audio }) },
    }, Group);

    // Alice calls bob from her phone.
    private static CallSession Calling() => CallSession.Start(Id, Alice, "bob", CallMedia.Audio, T0);
    private static CallSession CallingAndRinging() => Calling().Apply(Ringing(BobLaptop), T0);
    private static CallSession CallConnected() => CallingAndRinging().Apply(Answer(BobLaptop), T0.AddSeconds(5));

    // Bob calls alice: her phone rings.
    private static CallSession RingsHere() => CallSession.Offered(Alice, Offer(Bob, Alice), T0, ByteString.CopyFromUtf8("offer"));
    private static CallSession AnsweredHere() => RingsHere().Answer(T0.AddSeconds(3));

    // Alice calls bob from her tablet: her phone only shows it.
    private static CallSession CalledFromTablet() => CallSession.Offered(Alice, Signal(AliceTablet, s => s.Offer = new CallOffer { CallId = Id.Bytes, ToUserId = "bob" }), T0);

    // Group calls: alice starts one, or bob does and alice's phone rings.
    private static CallSession GroupCalling() => CallSession.StartGroup(Id, Alice, Group, CallMedia.Video, T0);
    private static CallSession GroupRingsHere() => CallSession.Offered(Alice, Offer(Bob, Alice, Group), T0);
    private static CallSession GroupJoined() => GroupRingsHere().Join(CallMedia.Audio, T0.AddSeconds(2));

    [Fact]
    public void A_call_made_here_rings_connects_on_the_answer_and_ends_when_this_device_hangs_up()
    {
        var calling = Calling();
        Assert.Equal((CallDirection.Outgoing, CallState.Outgoing, Alice, "bob", "bob"), (calling.Direction, calling.State, calling.Caller, calling.Callee, calling.OtherUser));
        Assert.False(calling.IsGroup);

        var ringing = calling.Apply(Ringing(BobLaptop), T0);
        Assert.Equal(CallState.Ringing, ringing.State);
        Assert.Same(ringing, ringing.Apply(Ringing(Bob), T0)); // another of bob's devices rings too: nothing new

        var connected = ringing.Apply(Answer(BobLaptop), T0.AddSeconds(5));
        Assert.Equal((CallState.Connected, BobLaptop, T0.AddSeconds(5)), (connected.State, connected.Peer, connected.ConnectedAt));
        Assert.Same(connected, connected.Apply(Ice(BobLaptop), T0));

        var ended = connected.HangUp(T0.AddMinutes(1));
        Assert.Equal((CallState.Ended, CallEnd.HungUp, T0.AddMinutes(1)), (ended.State, ended.EndReason, ended.EndedAt));
        Assert.True(ended.IsEnded);
    }

    [Fact]
    public void A_call_made_here_is_answered_also_when_no_ringing_came_first() =>
        Assert.Equal(CallState.Connected, Calling().Apply(Answer(Bob), T0).State);

    public static TheoryData<string, CallSignal, CallEnd> EndsBeforeTheAnswer => new()
    {
        { "the callee is in another call", Busy(BobLaptop), CallEnd.Busy },
        { "the callee rejected it", Reject(BobLaptop), CallEnd.Rejected },
        { "nobody answered in time", Hangup(CallEndReason.NoAnswer), CallEnd.NoAnswer },
        { "the node keeping the call died", Hangup(CallEndReason.Failed), CallEnd.Failed },
    };

    [Theory]
    [MemberData(nameof(EndsBeforeTheAnswer))]
    public void What_ends_a_call_made_here_before_it_is_answered(string because, CallSignal signal, CallEnd reason)
    {
        Assert.Equal((CallState.Ended, reason), (Calling().Apply(signal, T0).State, Calling().Apply(signal, T0).EndReason));
        var fromRinging = CallingAndRinging().Apply(signal, T0.AddSeconds(1));
        Assert.True(fromRinging.EndReason == reason, because);
        Assert.Equal(T0.AddSeconds(1), fromRinging.EndedAt);
    }

    [Theory]
    [InlineData(CallEndReason.Normal, CallEnd.RemoteHangup)]
    [InlineData(CallEndReason.Unspecified, CallEnd.RemoteHangup)]
    [InlineData(CallEndReason.Failed, CallEnd.Failed)]
    public void The_other_side_ends_a_connected_call(CallEndReason reason, CallEnd expected)
    {
        Assert.Equal(expected, CallConnected().Apply(Hangup(reason, reason == CallEndReason.Failed ? null : BobLaptop), T0).EndReason);
        Assert.Equal(expected, AnsweredHere().Apply(Hangup(reason, reason == CallEndReason.Failed ? null : Bob), T0).EndReason);
    }

    [Fact]
    public void A_call_that_rings_here_carries_its_offer_and_connects_when_answered_here_with_the_calling_device_as_peer()
    {
        var ringing = RingsHere();
        Assert.Equal((CallDirection.Incoming, CallState.Incoming, Bob, "alice", "bob"), (ringing.Direction, ringing.State, ringing.Caller, ringing.Callee, ringing.OtherUser));
        Assert.Equal("offer", ringing.Offer!.ToStringUtf8());
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1), ringing.StartedAt); // the server's time of the offer
        Assert.Same(ringing, ringing.Ring());
        Assert.Same(ringing, ringing.Apply(Ice(Bob), T0)); // the caller's candidates may come before the answer
        Assert.Equal(Bob, ringing.IceTargetFor(null));

        var answered = ringing.Answer(T0.AddSeconds(3));
        Assert.Equal((CallState.Connected, Bob, T0.AddSeconds(3)), (answered.State, answered.Peer, answered.ConnectedAt));
        Assert.Equal(CallEnd.HungUp, answered.HangUp(T0).EndReason);
    }

    [Theory]
    [InlineData(CallEndReason.AnsweredElsewhere, CallEnd.AnsweredElsewhere)]
    [InlineData(CallEndReason.RejectedElsewhere, CallEnd.RejectedElsewhere)]
    [InlineData(CallEndReason.Normal, CallEnd.RemoteHangup)] // the caller gave up, or another device of this user answered busy
    [InlineData(CallEndReason.NoAnswer, CallEnd.NoAnswer)]
    [InlineData(CallEndReason.Failed, CallEnd.Failed)]
    public void What_ends_a_call_that_rings_here(CallEndReason reason, CallEnd expected)
    {
        var ended = RingsHere().Apply(Hangup(reason), T0.AddSeconds(9));
        Assert.Equal((CallState.Ended, expected, T0.AddSeconds(9)), (ended.State, ended.EndReason, ended.EndedAt));
    }

    [Fact]
    public void Rejecting_or_answering_busy_here_ends_the_call_that_rings_here()
    {
        Assert.Equal(CallEnd.Rejected, RingsHere().Reject(T0).EndReason);
        Assert.Equal(CallEnd.Busy, RingsHere().AnswerBusy(T0).EndReason);
    }

    [Fact]
    public void An_offer_from_another_own_device_shows_the_call_it_makes_until_that_one_is_answered()
    {
        var shown = CalledFromTablet();
        Assert.Equal((CallDirection.Outgoing, CallState.Outgoing, true, AliceTablet, "bob"), (shown.Direction, shown.State, shown.OnOtherDevice, shown.Caller, shown.OtherUser));

        Assert.Equal(CallEnd.AnsweredElsewhere, shown.Apply(Hangup(CallEndReason.AnsweredElsewhere), T0).EndReason);
        Assert.Equal(CallEnd.RemoteHangup, shown.Apply(Hangup(CallEndReason.Normal), T0).EndReason); // bob rejected it
        Assert.Contains("hang up there", Assert.Throws<InvalidOperationException>(() => shown.HangUp(T0)).Message);
        Assert.Throws<InvalidOperationException>(() => shown.Apply(Ringing(Bob), T0)); // ringing goes to the calling device only
        Assert.Throws<InvalidOperationException>(() => shown.IceTargetFor(Bob));
    }

    [Fact]
    public void An_offer_that_rings_no_device_here_is_refused()
    {
        var elsewhere = Offer(Bob, AliceTablet);
        Assert.Contains("rings no device", Assert.Throws<InvalidOperationException>(() => CallSession.Offered(Alice, elsewhere, T0)).Message);
        Assert.Throws<ArgumentException>(() => CallSession.Offered(Alice, Ringing(Bob), T0));
    }

    public static TheoryData<string, Func<object>, string> DoesNotFit => new()
    {
        { "ringing told to the callee", () => RingsHere().Apply(Ringing(Bob), T0), "ringing is only told" },
        { "an answer told to the callee", () => RingsHere().Apply(Answer(Bob), T0), "only for the calling device" },
        { "a second answer", () => CallConnected().Apply(Answer(Bob), T0), "before the call is answered" },
        { "busy after the answer", () => CallConnected().Apply(Busy(Bob), T0), "busy is only told" },
        { "a second offer", () => Calling().Apply(Offer(Bob, Alice), T0), "a second offer" },
        { "no answer for a connected call", () => CallConnected().Apply(Hangup(CallEndReason.NoAnswer), T0), "NO_ANSWER arrived for a call that is connected" },
        { "answered elsewhere for the caller", () => CallConnected().Apply(Hangup(CallEndReason.AnsweredElsewhere), T0), "does not ring here" },
        { "rejected elsewhere after answering here", () => AnsweredHere().Apply(Hangup(CallEndReason.RejectedElsewhere), T0), "does not ring here" },
        { "anything after the end", () => CallConnected().HangUp(T0).Apply(Hangup(CallEndReason.Normal, Bob), T0), "after it ended (HungUp)" },
        { "hanging up a call that rings here", () => RingsHere().HangUp(T0), "reject it instead" },
        { "hanging up twice", () => CallConnected().HangUp(T0).HangUp(T0), "ended already" },
        { "answering twice", () => AnsweredHere().Answer(T0), "only a call that rings here" },
        { "rejecting a connected call", () => AnsweredHere().Reject(T0), "only a call that rings here" },
        { "busy for a connected call", () => AnsweredHere().AnswerBusy(T0), "busy is answered to a 1:1 call that rings here" },
        { "ringing back a call made here", () => Calling().Ring(), "rung back" },
        { "answering a group call", () => GroupRingsHere().Answer(T0), "joined (JoinCall), not answered" },
        { "joining a 1:1 call", () => RingsHere().Join(CallMedia.Audio, T0), "only group calls are joined" },
        { "leaving a 1:1 call", () => CallConnected().Leave(T0), "hang up a 1:1 call" },
        { "a participant list for a 1:1 call", () => CallConnected().Apply(Participants(Alice, Bob), T0), "for group calls" },
        { "busy for a group call", () => GroupCalling().Apply(Busy(Bob), T0), "busy is only told" },
        { "answering a group call busy", () => GroupRingsHere().AnswerBusy(T0), "busy is answered to a 1:1 call" },
        { "joining twice", () => GroupJoined().Join(CallMedia.Audio, T0), "in it already" },
        { "joining again after the end", () => GroupRingsHere().Apply(Hangup(CallEndReason.NoAnswer, group: Group), T0).Join(CallMedia.Audio, T0), "join it anew" },
        { "a participant's answer before joining", () => GroupRingsHere().Apply(Answer(Bob, Group), T0), "before this device joined" },
        { "an ICE candidate without a peer", () => Calling().IceTargetFor(null), "name the callee device" },
        { "a group ICE candidate without a device", () => GroupJoined().IceTargetFor(null), "name the participant's device" },
        { "a description before joining", () => GroupRingsHere().DescriptionTargetFor(Bob), "not in it" },
        { "a description in a 1:1 call", () => CallConnected().DescriptionTargetFor(Bob), "offer and its answer" },
        { "failing an ended call", () => Calling().HangUp(T0).Fail(T0), "ended already" },
        { "an empty signal", () => Calling().Apply(Signal(Bob, _ => { }), T0), "an empty call signal" },
    };

    [Theory]
    [MemberData(nameof(DoesNotFit))]
    public void Transitions_that_do_not_fit_throw_and_say_why(string what, Func<object> transition, string why)
    {
        var refused = Assert.Throws<InvalidOperationException>(transition);
        Assert.True(refused.Message.Contains(why, StringComparison.Ordinal), $"{what}: {refused.Message}");
        Assert.Contains(Id.ToString(), refused.Message);
    }

    [Fact]
    public void A_signal_for_another_call_is_refused()
    {
        var other = Ringing(Bob);
        other.CallId = ByteString.CopyFrom(new byte[16]);
        Assert.Throws<ArgumentException>(() => Calling().Apply(other, T0));
    }

    [Fact]
    public void Losing_the_connection_fails_a_call_whatever_its_state()
    {
        foreach (var call in new[] { Calling(), CallingAndRinging(), CallConnected(), RingsHere(), AnsweredHere(), CalledFromTablet(), GroupCalling(), GroupJoined() })
            Assert.Equal((CallState.Ended, CallEnd.Failed), (call.Fail(T0).State, call.Fail(T0).EndReason));
    }

    [Fact]
    public void A_group_call_made_here_connects_when_someone_else_joins_and_follows_the_participant_lists()
    {
        var calling = GroupCalling();
        Assert.Equal((CallState.Outgoing, Group, "", CallMedia.Video), (calling.State, calling.GroupId, calling.Callee, calling.Media));
        Assert.Equal(new CallMember("alice", 1, CallMedia.Video), Assert.Single(calling.Participants));

        var alone = calling.Apply(Participants(Alice), T0);
        Assert.Equal(CallState.Outgoing, alone.State); // only this device is in

        var joined = alone.Apply(Participants(Alice, Bob), T0.AddSeconds(4));
        Assert.Equal((CallState.Connected, T0.AddSeconds(4)), (joined.State, joined.ConnectedAt));
        Assert.Equal([Alice, Bob], joined.Participants.Select(p => p.Device));

        var more = joined.Apply(Participants(Alice, Bob, Carol), T0).Apply(Participants(Alice, Carol), T0);
        Assert.Equal((CallState.Connected, T0.AddSeconds(4)), (more.State, more.ConnectedAt));
        Assert.Equal([Alice, Carol], more.Participants.Select(p => p.Device));

        // Negotiation between participants, a member declining, joins and leaves: no change of state.
        Assert.Same(more, more.Apply(Answer(Carol, Group), T0));
        Assert.Same(more, more.Apply(Ice(Carol, Group), T0));
        Assert.Same(more, more.Apply(Reject(Bob, Group), T0));
        Assert.Same(more, more.Apply(Signal(Carol, s => s.Join = new JoinCall { CallId = Id.Bytes }, Group), T0));
        Assert.Same(more, more.Apply(Signal(Carol, s => s.Leave = new LeaveCall { CallId = Id.Bytes }, Group), T0));
        Assert.Equal(Carol, more.DescriptionTargetFor(Carol));
        Assert.Equal(Carol, more.IceTargetFor(Carol));

        Assert.Equal(CallEnd.HungUp, more.Leave(T0).EndReason);
        Assert.Equal(CallEnd.HungUp, more.HangUp(T0).EndReason); // CallHangup removes a participant as LeaveCall does
    }

    [Fact]
    public void A_rung_member_joins_a_group_call_follows_its_participants_and_leaves_it()
    {
        var ringing = GroupRingsHere();
        Assert.Equal((CallDirection.Incoming, CallState.Incoming, Group, Bob, ""), (ringing.Direction, ringing.State, ringing.GroupId, ringing.Caller, ringing.Callee));

        var joined = ringing.Join(CallMedia.Video, T0.AddSeconds(2));
        Assert.Equal((CallState.Connected, CallMedia.Video, T0.AddSeconds(2)), (joined.State, joined.Media, joined.ConnectedAt));

        var listed = joined.Apply(Participants(Bob, Alice), T0);
        Assert.Equal([Bob, Alice], listed.Participants.Select(p => p.Device));
        Assert.Equal(CallEnd.HungUp, listed.Leave(T0).EndReason);
        Assert.Equal(CallEnd.Failed, listed.Apply(Hangup(CallEndReason.Failed, group: Group), T0).EndReason);
    }

    [Fact]
    public void A_participant_list_naming_this_device_connects_a_rung_member_whose_join_is_not_answered_yet()
    {
        var ringing = GroupRingsHere();
        Assert.Equal(CallState.Incoming, ringing.Apply(Participants(Bob), T0).State); // it shows who is in; still rings
        Assert.Equal(CallState.Connected, ringing.Apply(Participants(Bob, Alice), T0).State);
    }

    [Theory]
    [InlineData(CallEndReason.AnsweredElsewhere, CallEnd.AnsweredElsewhere)] // alice joined on her tablet
    [InlineData(CallEndReason.RejectedElsewhere, CallEnd.RejectedElsewhere)]
    [InlineData(CallEndReason.NoAnswer, CallEnd.NoAnswer)]
    [InlineData(CallEndReason.Normal, CallEnd.RemoteHangup)] // the last participant left
    public void What_stops_a_group_call_ringing_here(CallEndReason reason, CallEnd expected) =>
        Assert.Equal(expected, GroupRingsHere().Apply(Hangup(reason, group: Group), T0).EndReason);

    [Fact]
    public void A_rung_member_may_reject_a_group_call_and_join_one_it_was_not_rung_for()
    {
        Assert.Equal(CallEnd.Rejected, GroupRingsHere().Reject(T0).EndReason);

        var joined = CallSession.Joined(Id, Alice, Group, CallMedia.Audio, T0);
        Assert.Equal((CallDirection.Incoming, CallState.Connected, new CallDevice("", 0), T0), (joined.Direction, joined.State, joined.Caller, joined.ConnectedAt));
        Assert.Equal(CallState.Connected, joined.Apply(Participants(Bob, Alice), T0).State);
    }

    [Fact]
    public void A_call_is_not_made_to_oneself_and_ids_are_16_bytes()
    {
        Assert.Throws<ArgumentException>(() => CallSession.Start(Id, Alice, "alice", CallMedia.Audio, T0));
        Assert.Throws<ArgumentException>(() => CallId.Of(ByteString.CopyFrom(new byte[15])));
        Assert.Equal(Id, CallId.Parse(Id.ToString()));
        Assert.Equal(32, CallId.New().ToString().Length);
        Assert.NotEqual(CallId.New(), CallId.New());
    }
}
