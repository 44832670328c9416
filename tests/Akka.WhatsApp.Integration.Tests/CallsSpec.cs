using System.Threading.Channels;
using Akka.WhatsApp.Client;
using Akka.WhatsApp.Host;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;
using Microsoft.Extensions.Time.Testing;
using Xunit;
using static Akka.WhatsApp.Integration.Tests.TestUsers;

using Device = Akka.WhatsApp.Integration.Tests.BareDevice;

namespace Akka.WhatsApp.Integration.Tests;

/// <summary>A node whose clock the call tests move (the ring timeout runs on it); heartbeats far apart so that moving it closes nothing.</summary>
public sealed class CallNodeFixture : IAsyncLifetime
{
    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    public WhatsAppNode Node { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Node = await TestNodes.StartAsync(await TestNodes.SettingsAsync(JournalKind.Sqlite) with { HeartbeatSeconds = 3600, CallRingSeconds = 45 }, Clock);

    public async Task DisposeAsync() => await Node.DisposeAsync();
}

/// <summary>
/// Call signalling (PROTOCOL.md §15) over bare connections, so that every CallSignal a device gets is visible: several
/// devices per user, the first answer winning, reject and busy, the ring timeout with missed calls (also for a device
/// that was offline), ICE to one device only, blocks, and the group call limits.
/// </summary>
public sealed class CallsSpec(CallNodeFixture fixture) : IClassFixture<CallNodeFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly List<IAsyncDisposable> _open = [];

    private WhatsAppNode Node => fixture.Node;

    /// <summary>One device over a bare connection.</summary>
    private async Task<Device> LoginAsync(Credentials credentials)
    {
        var device = await BareDevice.LoginAsync(Node, credentials, "calls-spec");
        _open.Add(device.Connection);
        return device;
    }

    /// <summary>A user with <paramref name="devices"/> devices (the primary and linked companions), none logged in yet.</summary>
    private async Task<Credentials[]> UserAsync(int devices = 1)
    {
        var primary = await RegisterAsync(Node);
        if (devices == 1)
            return [primary];
        await using var client = await ConnectAsync(Node, primary);
        var all = new List<Credentials> { primary };
        for (var i = 1; i < devices; i++)
        {
            var key = Guid.NewGuid().ToByteArray();
            var (code, linked) = await WhatsAppClient.RequestLinkAsync(await OptionsAsync(Node), $"device {i}", key);
            await client.ApproveLinkAsync(code, key);
            all.Add(await linked.WaitAsync(Wait));
        }
        return [.. all];
    }

    private async Task<Device[]> OnlineAsync(int devices = 1) => await Task.WhenAll((await UserAsync(devices)).Select(LoginAsync));

    private static ByteString NewCallId() => ByteString.CopyFrom(Guid.NewGuid().ToByteArray());

    private static Frame Offer(ByteString call, string to, CallMedia media, params Device[] ring) => Offer(call, to, media, ring.Select(d => (d.User, d.Id)).ToArray());

    private static Frame Offer(ByteString call, string to, CallMedia media, (string User, uint Device)[] ring)
    {
        var offer = new CallOffer { CallId = call, ToUserId = to, Media = media };
        offer.Offers.AddRange(ring.Select(r => new RecipientCiphertext
        {
            UserId = r.User, Device = new DeviceCiphertext { DeviceId = r.Device, Ciphertext = ByteString.CopyFromUtf8($"offer for {r.Device}") },
        }));
        return new Frame { CallOffer = offer };
    }

    private static Frame GroupOffer(ByteString call, string group, CallMedia media, IEnumerable<Device> ring)
    {
        var offer = new CallOffer { CallId = call, GroupId = group, Media = media };
        offer.Offers.AddRange(ring.Select(r => new RecipientCiphertext
        {
            UserId = r.User, Device = new DeviceCiphertext { DeviceId = r.Id, Ciphertext = ByteString.CopyFromUtf8("group offer") },
        }));
        return new Frame { CallOffer = offer };
    }

    /// <summary>The next CallSignal the device gets (other pushes are skipped).</summary>
    private static async Task<CallSignal> NextSignalAsync(Device device)
    {
        using var timeout = new CancellationTokenSource(Wait);
        while (true)
            if (await device.Connection.Pushes.ReadAsync(timeout.Token) is { PacketCase: Frame.PacketOneofCase.CallSignal } push)
                return push.CallSignal;
    }

    /// <summary>The next push that is a CallSignal or a Deliver, whichever comes first.</summary>
    private static async Task<Frame> NextCallOrDeliverAsync(Device device)
    {
        using var timeout = new CancellationTokenSource(Wait);
        while (true)
            if (await device.Connection.Pushes.ReadAsync(timeout.Token) is { PacketCase: Frame.PacketOneofCase.CallSignal or Frame.PacketOneofCase.Deliver } push)
                return push;
    }

    private static async Task<Deliver> NextDeliverAsync(Device device)
    {
        using var timeout = new CancellationTokenSource(Wait);
        while (true)
            if (await device.Connection.Pushes.ReadAsync(timeout.Token) is { PacketCase: Frame.PacketOneofCase.Deliver } push)
                return push.Deliver;
    }

    /// <summary>
    /// The hangup of <paramref name="call"/> and the missed call it left, in either order: the missed call comes through
    /// the mailbox (stored first), the hangup over the inbox topic.
    /// </summary>
    private static async Task<(CallSignal Hangup, Deliver Missed)> HangupAndMissedCallAsync(Device device, ByteString call)
    {
        using var timeout = new CancellationTokenSource(Wait);
        CallSignal? hangup = null;
        Deliver? missed = null;
        while (hangup is null || missed is null)
        {
            var push = await device.Connection.Pushes.ReadAsync(timeout.Token);
            if (push.CallSignal is { SignalCase: CallSignal.SignalOneofCase.Hangup } signal && signal.CallId == call)
                hangup = signal;
            else if (push.Deliver?.System?.MissedCall?.CallId == call)
                missed = push.Deliver;
        }
        return (hangup, missed);
    }

    private static async Task<ErrorCode?> SendAsync(Device device, Frame frame)
    {
        try
        {
            await device.Connection.RequestAsync(frame);
            return null;
        }
        catch (ServerErrorException e)
        {
            return e.Code;
        }
    }

    private static Frame Answer(ByteString call, Device to) =>
        new() { CallAnswer = new CallAnswer { CallId = call, ToUserId = to.User, ToDeviceId = to.Id, Ciphertext = ByteString.CopyFromUtf8("answer") } };

    private static Frame Ice(ByteString call, Device to, string text) =>
        new() { IceCandidate = new IceCandidate { CallId = call, ToUserId = to.User, ToDeviceId = to.Id, Ciphertext = ByteString.CopyFromUtf8(text) } };

    private static Frame Hangup(ByteString call) => new() { CallHangup = new CallHangup { CallId = call } };

    private static void AssertHangup(CallSignal signal, ByteString call, CallEndReason reason)
    {
        Assert.Equal(CallSignal.SignalOneofCase.Hangup, signal.SignalCase);
        Assert.Equal((call, reason), (signal.CallId, signal.Hangup.Reason));
    }

    [Fact]
    public async Task A_call_rings_every_offered_device_the_first_answer_takes_it_and_ice_reaches_only_the_addressed_device()
    {
        var alice = await OnlineAsync(2);
        var bob = await OnlineAsync(3);
        var call = NewCallId();
        Assert.Null(await SendAsync(alice[0], Offer(call, bob[0].User, CallMedia.Video, bob)));

        foreach (var device in bob)
        {
            var offer = await NextSignalAsync(device);
            Assert.Equal((CallSignal.SignalOneofCase.Offer, alice[0].User, alice[0].Id, CallMedia.Video), (offer.SignalCase, offer.FromUserId, offer.FromDeviceId, offer.Offer.Media));
            // Only its own offer.
            Assert.Equal($"offer for {device.Id}", Assert.Single(offer.Offer.Offers).Device.Ciphertext.ToStringUtf8());
        }
        var elsewhere = await NextSignalAsync(alice[1]);
        Assert.Equal((CallSignal.SignalOneofCase.Offer, bob[0].User, 0), (elsewhere.SignalCase, elsewhere.Offer.ToUserId, elsewhere.Offer.Offers.Count));

        Assert.Null(await SendAsync(bob[1], new Frame { CallRinging = new CallRinging { CallId = call, ToUserId = alice[0].User } }));
        var ringing = await NextSignalAsync(alice[0]);
        Assert.Equal((CallSignal.SignalOneofCase.Ringing, bob[1].Id), (ringing.SignalCase, ringing.FromDeviceId));

        Assert.Null(await SendAsync(bob[1], Answer(call, alice[0])));
        var answer = await NextSignalAsync(alice[0]);
        Assert.Equal((CallSignal.SignalOneofCase.Answer, bob[1].User, bob[1].Id, "answer"),
            (answer.SignalCase, answer.FromUserId, answer.FromDeviceId, answer.Answer.Ciphertext.ToStringUtf8()));
        AssertHangup(await NextSignalAsync(bob[0]), call, CallEndReason.AnsweredElsewhere);
        AssertHangup(await NextSignalAsync(bob[2]), call, CallEndReason.AnsweredElsewhere);
        AssertHangup(await NextSignalAsync(alice[1]), call, CallEndReason.AnsweredElsewhere);
        Assert.Equal(ErrorCode.NotFound, await SendAsync(bob[2], Answer(call, alice[0]))); // too late

        // ICE goes to the one device addressed, and only between the devices in the call.
        Assert.Null(await SendAsync(alice[0], Ice(call, bob[1], "candidate 1")));
        var ice = await NextSignalAsync(bob[1]);
        Assert.Equal((CallSignal.SignalOneofCase.IceCandidate, "candidate 1", alice[0].Id), (ice.SignalCase, ice.IceCandidate.Ciphertext.ToStringUtf8(), ice.FromDeviceId));
        Assert.Null(await SendAsync(bob[1], Ice(call, alice[0], "candidate 2")));
        Assert.Equal("candidate 2", (await NextSignalAsync(alice[0])).IceCandidate.Ciphertext.ToStringUtf8());
        Assert.Equal(ErrorCode.NotFound, await SendAsync(alice[0], Ice(call, bob[0], "to a device that stopped ringing")));
        Assert.Equal(ErrorCode.NotFound, await SendAsync(bob[0], Ice(call, alice[0], "from a device not in the call")));

        Assert.Null(await SendAsync(bob[1], Hangup(call)));
        var ended = await NextSignalAsync(alice[0]);
        AssertHangup(ended, call, CallEndReason.Normal);
        Assert.Equal(bob[1].User, ended.FromUserId);
        Assert.Equal(ErrorCode.NotFound, await SendAsync(alice[0], Ice(call, bob[1], "after the end")));

        // Answered: no missed call. The next thing bob's other devices get is a message, not a missed call.
        Assert.Null(await SendAsync(alice[0], new Frame
        {
            Send = new Send
            {
                MessageId = NewCallId(), ToUserId = bob[0].User, Kind = ContentKind.Text,
                Ciphertexts = { bob.Select(d => new DeviceCiphertext { DeviceId = d.Id, Ciphertext = ByteString.CopyFromUtf8("after the call") }) },
                SelfCiphertexts = { new DeviceCiphertext { DeviceId = alice[1].Id, Ciphertext = ByteString.CopyFromUtf8("after the call") } },
            },
        }));
        Assert.Equal("after the call", (await NextDeliverAsync(bob[0])).Ciphertext.ToStringUtf8());
    }

    [Fact]
    public async Task A_reject_on_one_device_stops_the_others_and_busy_ends_the_call_with_a_missed_call()
    {
        var alice = await OnlineAsync(2);
        var bob = await OnlineAsync(2);
        var call = NewCallId();
        await SendAsync(alice[0], Offer(call, bob[0].User, CallMedia.Audio, bob));
        await NextSignalAsync(bob[0]);
        await NextSignalAsync(bob[1]);
        await NextSignalAsync(alice[1]);
        Assert.Null(await SendAsync(bob[0], new Frame { CallReject = new CallReject { CallId = call } }));
        Assert.Equal(CallSignal.SignalOneofCase.Reject, (await NextSignalAsync(alice[0])).SignalCase);
        AssertHangup(await NextSignalAsync(bob[1]), call, CallEndReason.RejectedElsewhere);
        AssertHangup(await NextSignalAsync(alice[1]), call, CallEndReason.Normal);
        Assert.Equal(ErrorCode.NotFound, await SendAsync(bob[1], Answer(call, alice[0])));

        var busy = NewCallId();
        await SendAsync(alice[0], Offer(busy, bob[0].User, CallMedia.Audio, bob));
        // A rejected call is not missed: the next thing bob's device sees is the second offer.
        Assert.Equal(CallSignal.SignalOneofCase.Offer, (await NextCallOrDeliverAsync(bob[0])).CallSignal.SignalCase);
        await NextSignalAsync(bob[1]);
        Assert.Null(await SendAsync(bob[1], new Frame { CallBusy = new CallBusy { CallId = busy, ToUserId = alice[0].User } }));
        Assert.Equal(CallSignal.SignalOneofCase.Busy, (await NextSignalAsync(alice[0])).SignalCase);
        var (stopped, missed) = await HangupAndMissedCallAsync(bob[0], busy);
        AssertHangup(stopped, busy, CallEndReason.Normal);
        Assert.Equal((ContentKind.System, busy, alice[0].User), (missed.Kind, missed.System.MissedCall.CallId, missed.System.MissedCall.FromUserId));
        Assert.Equal(busy, (await NextDeliverAsync(bob[1])).System.MissedCall.CallId);
    }

    [Fact]
    public async Task An_unanswered_call_ends_no_answer_at_the_ring_timeout_and_leaves_one_missed_call_on_every_device_also_an_offline_one()
    {
        var alice = await OnlineAsync();
        var bob = await UserAsync(2);
        var online = await LoginAsync(bob[0]);
        var call = NewCallId();
        // The offline device is offered too (the caller's SDK knows the devices from the key directory).
        Assert.Null(await SendAsync(alice[0], Offer(call, bob[0].UserId, CallMedia.Audio, [(bob[0].UserId, bob[0].DeviceId), (bob[1].UserId, bob[1].DeviceId)])));
        Assert.Equal(CallSignal.SignalOneofCase.Offer, (await NextSignalAsync(online)).SignalCase);

        // The offline device logs in while it rings (woken by a VoIP push): it gets its offer.
        var woken = await LoginAsync(bob[1]);
        var late = await NextSignalAsync(woken);
        Assert.Equal(("offer for 2", call), (Assert.Single(late.Offer.Offers).Device.Ciphertext.ToStringUtf8(), late.CallId));
        await woken.Connection.DisposeAsync();

        fixture.Clock.Advance(TimeSpan.FromSeconds(46));
        AssertHangup(await NextSignalAsync(alice[0]), call, CallEndReason.NoAnswer);
        var (stopped, missed) = await HangupAndMissedCallAsync(online, call);
        AssertHangup(stopped, call, CallEndReason.NoAnswer);
        Assert.Equal((ContentKind.System, call, alice[0].User, CallMedia.Audio), (missed.Kind, missed.System.MissedCall.CallId, missed.System.MissedCall.FromUserId,
            missed.System.MissedCall.Media));

        // The device that was offline during the end finds exactly one missed call of this call in its backlog.
        var backlog = await RawBacklogAsync(Node, bob[1]);
        Assert.Single(backlog, d => d.System?.MissedCall?.CallId == call);

        // Hanging up before an answer is a missed call too.
        var cancelled = NewCallId();
        await SendAsync(alice[0], Offer(cancelled, bob[0].UserId, CallMedia.Video, online));
        await NextSignalAsync(online);
        Assert.Null(await SendAsync(alice[0], Hangup(cancelled)));
        AssertHangup((await HangupAndMissedCallAsync(online, cancelled)).Hangup, cancelled, CallEndReason.Normal);
    }

    [Fact]
    public async Task A_caller_the_callee_blocked_rings_nobody_and_one_who_blocked_the_callee_is_refused()
    {
        var alice = await OnlineAsync();
        var bobCredentials = (await UserAsync())[0];
        await using (var bobClient = await ConnectAsync(Node, bobCredentials))
            await bobClient.BlockAsync(alice[0].User);
        var bob = await LoginAsync(bobCredentials);

        var call = NewCallId();
        Assert.Null(await SendAsync(alice[0], Offer(call, bob.User, CallMedia.Audio, bob)));
        fixture.Clock.Advance(TimeSpan.FromSeconds(46));
        AssertHangup(await NextSignalAsync(alice[0]), call, CallEndReason.NoAnswer);
        // Bob saw nothing: neither the offer nor a missed call; the next thing he gets is carol's message.
        var carol = await OnlineAsync();
        await SendAsync(carol[0], new Frame
        {
            Send = new Send
            {
                MessageId = NewCallId(), ToUserId = bob.User, Kind = ContentKind.Text,
                Ciphertexts = { new DeviceCiphertext { DeviceId = bob.Id, Ciphertext = ByteString.CopyFromUtf8("from carol") } },
            },
        });
        var next = await NextCallOrDeliverAsync(bob);
        Assert.Equal("from carol", next.Deliver?.Ciphertext.ToStringUtf8());

        Assert.Equal(ErrorCode.Blocked, await SendAsync(bob, Offer(NewCallId(), alice[0].User, CallMedia.Audio, alice)));
        Assert.Equal(ErrorCode.InvalidArgument, await SendAsync(alice[0], Offer(ByteString.CopyFromUtf8("short"), bob.User, CallMedia.Audio, bob)));
        Assert.Equal(ErrorCode.NotFound, await SendAsync(alice[0], Hangup(NewCallId())));
    }

    [Fact]
    public async Task A_group_call_takes_32_participants_8_of_them_with_video_members_only_and_a_dropped_connection_leaves_it()
    {
        var members = await Task.WhenAll(Enumerable.Range(0, 33).Select(_ => OnlineAsync()));
        var outsider = await OnlineAsync();
        var callerCredentials = (await UserAsync())[0];
        string group;
        await using (var admin = await ConnectAsync(Node, callerCredentials))
            group = (await admin.CreateGroupAsync("the whole team", members.Select(m => m[0].User))).Group.GroupId;
        Device[] caller = [await LoginAsync(callerCredentials)];

        var call = NewCallId();
        Assert.Null(await SendAsync(caller[0], GroupOffer(call, group, CallMedia.Video, members.Select(m => m[0]).Append(outsider[0]))));
        Assert.Equal(CallSignal.SignalOneofCase.Participants, (await NextSignalAsync(caller[0])).SignalCase);
        var rung = await NextSignalAsync(members[0][0]);
        Assert.Equal((CallSignal.SignalOneofCase.Offer, group), (rung.SignalCase, rung.GroupId));

        Assert.Equal(ErrorCode.NotAMember, await SendAsync(outsider[0], new Frame { JoinCall = new JoinCall { CallId = call, Media = CallMedia.Audio } }));
        // Seven more with video make eight; the ninth with video is refused, and joins with audio instead.
        for (var i = 0; i < 7; i++)
            Assert.Null(await SendAsync(members[i][0], new Frame { JoinCall = new JoinCall { CallId = call, Media = CallMedia.Video } }));
        Assert.Equal(ErrorCode.CallFull, await SendAsync(members[7][0], new Frame { JoinCall = new JoinCall { CallId = call, Media = CallMedia.Video } }));
        for (var i = 7; i < 31; i++)
            Assert.Null(await SendAsync(members[i][0], new Frame { JoinCall = new JoinCall { CallId = call, Media = CallMedia.Audio } }));
        Assert.Equal(ErrorCode.CallFull, await SendAsync(members[31][0], new Frame { JoinCall = new JoinCall { CallId = call, Media = CallMedia.Audio } }));

        // Every participant is told the list on every change: the caller's latest has all 32.
        CallSignal latest;
        do
            latest = await NextSignalAsync(caller[0]);
        while (latest.Participants.Participants.Count < 32);
        Assert.Equal(8, latest.Participants.Participants.Count(p => p.Media == CallMedia.Video));

        // One participant's connection drops: the others are told, and a place is free again.
        await members[30][0].Connection.DisposeAsync();
        var after = await NextSignalAsync(caller[0]);
        Assert.Equal(31, after.Participants.Participants.Count);
        Assert.DoesNotContain(after.Participants.Participants, p => p.UserId == members[30][0].User);
        Assert.Null(await SendAsync(members[31][0], new Frame { JoinCall = new JoinCall { CallId = call, Media = CallMedia.Audio } }));
        Assert.Null(await SendAsync(members[0][0], new Frame { LeaveCall = new LeaveCall { CallId = call } }));
        Assert.Equal(32, (await NextSignalAsync(caller[0])).Participants.Participants.Count); // the join
        Assert.Equal(31, (await NextSignalAsync(caller[0])).Participants.Participants.Count); // the leave
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var open in _open)
            await open.DisposeAsync();
    }
}
