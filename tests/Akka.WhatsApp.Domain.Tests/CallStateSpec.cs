using Akka.Actor;
using Akka.WhatsApp.Domain.Calls;
using Xunit;

namespace Akka.WhatsApp.Domain.Tests;

/// <summary>The call state machine on its own (PROTOCOL.md §15): what it pushes, answers and records for each packet.</summary>
public sealed class CallStateSpec
{
    private static readonly DateTimeOffset Now = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);
    private static readonly CallId Id = new("00112233445566778899aabbccddeeff");
    private static readonly UserId Ann = new("ann"), Ben = new("ben"), Cat = new("cat");

    private static CallState NewCall() => new(Id, ActorRefs.Nobody);

    private static CallCommands.Offer OneToOne(bool silenced = false) =>
        new(Id, Ann, new DeviceId(1), ActorRefs.Nobody, Ben, null, CallMedia.Audio,
            [new CallRing(Ben, new DeviceId(1), [1]), new CallRing(Ben, new DeviceId(2), [2]), new CallRing(Cat, new DeviceId(1), [3])], silenced);

    private static CallCommands.Signal From(UserId user, uint device, CallSignalKind kind, UserId? to = null, uint toDevice = 0, CallMedia media = CallMedia.Audio) =>
        new(Id, user, new DeviceId(device), ActorRefs.Nobody, kind, to, new DeviceId(toDevice), [], Media: media);

    [Fact]
    public void A_one_to_one_offer_rings_only_the_callees_devices_and_shows_the_call_on_the_callers_others()
    {
        var outcome = NewCall().Offer(OneToOne(), Now);
        Assert.IsType<CallReplies.Accepted>(outcome.Reply);
        Assert.Equal(["ben:1 Offer", "ben:2 Offer", "ann:all but 1 Offer"],
            outcome.Pushes.Select(p => $"{p.To.Value}:{(p.Device == 0 ? $"all but {p.ExceptDevice}" : p.Device)} {p.Kind}"));
        Assert.Empty(outcome.Missed);
    }

    [Fact]
    public void The_first_answer_takes_the_call_and_the_ring_timeout_then_changes_nothing()
    {
        var call = NewCall();
        call.Offer(OneToOne(), Now);
        var answered = call.Signal(From(Ben, 2, CallSignalKind.Answer, Ann, 1), Now);
        Assert.Contains(answered.Pushes, p => p is { Kind: CallPushKind.Answer, Device: 1 } && p.To == Ann);
        Assert.Contains(answered.Pushes, p => p is { Kind: CallPushKind.Hangup, Device: 1, Reason: CallEndReason.AnsweredElsewhere } && p.To == Ben);
        Assert.IsType<CallReplies.Refused>(call.Signal(From(Ben, 1, CallSignalKind.Answer, Ann, 1), Now).Reply);
        var timeout = call.RingTimeout();
        Assert.Empty(timeout.Pushes);
        Assert.False(call.Ended);
        var gone = call.SessionGone(new CallDevice(Ann, new DeviceId(1)));
        Assert.Equal([(Ben, 2u, CallEndReason.Failed)], gone.Pushes.Select(p => (p.To, p.Device, p.Reason)));
        Assert.True(gone.Ended);
        Assert.Empty(gone.Missed);
    }

    [Fact]
    public void An_unanswered_call_leaves_one_missed_call_and_a_silenced_one_none()
    {
        var call = NewCall();
        call.Offer(OneToOne(), Now);
        var timeout = call.RingTimeout();
        Assert.True(timeout.Ended);
        var missed = Assert.Single(timeout.Missed);
        Assert.Equal((Id, Ben, Ann, (GroupId?)null, CallMedia.Audio, Now), (missed.Call, missed.Callee, missed.Caller, missed.Group, missed.Media, missed.OfferedAt));
        Assert.Equal(4, timeout.Pushes.Count(p => p.Reason == CallEndReason.NoAnswer)); // the caller, its other devices, two rung devices
        Assert.Empty(call.RingTimeout().Missed);

        var silenced = NewCall();
        Assert.DoesNotContain(silenced.Offer(OneToOne(silenced: true), Now).Pushes, p => p.To == Ben);
        var quiet = silenced.RingTimeout();
        Assert.Empty(quiet.Missed);
        Assert.DoesNotContain(quiet.Pushes, p => p.To == Ben);
    }

    [Fact]
    public void A_group_call_refuses_non_members_the_ninth_video_and_the_thirty_third_participant()
    {
        var members = Enumerable.Range(0, 40).Select(i => new UserId($"m{i}")).ToList();
        var call = NewCall();
        call.Offer(new CallCommands.Offer(Id, members[0], new DeviceId(1), ActorRefs.Nobody, null, new GroupId("g"), CallMedia.Video,
            [.. members.Skip(1).Select(m => new CallRing(m, new DeviceId(1), []))], Members: [.. members]), Now);
        Assert.Equal(CallError.NotAMember, ((CallReplies.Refused)call.Signal(From(Cat, 1, CallSignalKind.Join), Now).Reply).Error);
        for (var i = 1; i < 8; i++)
            Assert.IsType<CallReplies.Accepted>(call.Signal(From(members[i], 1, CallSignalKind.Join, media: CallMedia.Video), Now).Reply);
        Assert.Equal(CallError.CallFull, ((CallReplies.Refused)call.Signal(From(members[8], 1, CallSignalKind.Join, media: CallMedia.Video), Now).Reply).Error);
        for (var i = 8; i < 32; i++)
            Assert.IsType<CallReplies.Accepted>(call.Signal(From(members[i], 1, CallSignalKind.Join), Now).Reply);
        Assert.Equal(CallError.CallFull, ((CallReplies.Refused)call.Signal(From(members[32], 1, CallSignalKind.Join), Now).Reply).Error);
        Assert.Equal(32, call.Participants.Count);

        // The ring timeout stops the rest ringing and leaves each of them one missed call; the call goes on.
        var timeout = call.RingTimeout();
        Assert.Equal(members.Skip(32), timeout.Missed.Select(m => m.Callee));
        Assert.False(call.Ended);
        foreach (var participant in call.Participants.ToList())
            call.Signal(From(participant.User, participant.Device.Value, CallSignalKind.Leave), Now);
        Assert.True(call.Ended);
    }

    [Fact]
    public void A_device_that_logs_in_while_it_rings_gets_its_offer_again_and_one_that_stopped_does_not()
    {
        var call = NewCall();
        call.Offer(OneToOne(), Now);
        Assert.Equal([2u], call.Reoffer(new CallDevice(Ben, new DeviceId(2))).Pushes.Select(p => p.Device));
        call.Signal(From(Ben, 1, CallSignalKind.Reject), Now);
        Assert.Empty(call.Reoffer(new CallDevice(Ben, new DeviceId(2))).Pushes);
    }
}
