using System.Collections.Immutable;
using Akka.WhatsApp.Domain.Accounts;
using Akka.WhatsApp.Domain.Mailbox;
using Akka.WhatsApp.Domain.Notifications;
using Xunit;
using static Akka.WhatsApp.Domain.Accounts.AccountCommands;
using R = Akka.WhatsApp.Domain.Accounts.AccountReplies;

namespace Akka.WhatsApp.Domain.Tests;

/// <summary>When a push goes out (PROTOCOL.md §16), and what the account hands the push pipeline.</summary>
public sealed class PushPolicySpec
{
    private static readonly DateTimeOffset Now = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);
    private static readonly ChatId Ben = ChatId.User(new UserId("ben"));
    private static readonly ChatId Family = ChatId.Group(new GroupId("family"));
    private static readonly PushRegistration Phone = new(PushRegistration.Apns, "apns-token", VoipToken: "voip-token");

    private static PushProfile Profile(DoNotDisturb? dnd = null, params (ChatId, DateTimeOffset)[] mutes) => new(Phone, [.. mutes], dnd ?? DoNotDisturb.Off);

    [Fact]
    public void A_message_is_pushed_unless_its_chat_is_muted_or_do_not_disturb_is_on()
    {
        Assert.Equal(PushSkip.None, PushPolicy.Decide(Profile(), Ben, PushKind.Message, Now));
        Assert.Equal(PushSkip.NoRegistration, PushPolicy.Decide(PushProfile.Nowhere, Ben, PushKind.Message, Now));
        Assert.Equal(PushSkip.Muted, PushPolicy.Decide(Profile(null, (Family, DateTimeOffset.MaxValue)), Family, PushKind.Message, Now));
        Assert.Equal(PushSkip.None, PushPolicy.Decide(Profile(null, (Family, DateTimeOffset.MaxValue)), Ben, PushKind.Message, Now));
        Assert.Equal(PushSkip.None, PushPolicy.Decide(Profile(null, (Ben, Now)), Ben, PushKind.Message, Now)); // the mute ended
        Assert.Equal(PushSkip.DoNotDisturb, PushPolicy.Decide(Profile(new DoNotDisturb(true, null, true)), Ben, PushKind.Message, Now));
        Assert.Equal(PushSkip.None, PushPolicy.Decide(Profile(new DoNotDisturb(true, Now, true)), Ben, PushKind.Message, Now)); // it ended
    }

    [Fact]
    public void A_call_rings_through_do_not_disturb_only_when_calls_are_allowed_and_on_APNs_needs_a_VoIP_token()
    {
        Assert.Equal(PushSkip.None, PushPolicy.Decide(Profile(new DoNotDisturb(true, null, AllowCalls: true)), Ben, PushKind.Call, Now));
        Assert.Equal(PushSkip.DoNotDisturb, PushPolicy.Decide(Profile(new DoNotDisturb(true, null, AllowCalls: false)), Ben, PushKind.Call, Now));
        // A muted chat still rings (WhatsApp mutes messages, not calls).
        Assert.Equal(PushSkip.None, PushPolicy.Decide(Profile(null, (Ben, DateTimeOffset.MaxValue)), Ben, PushKind.Call, Now));
        Assert.Equal(PushSkip.NoVoipToken, PushPolicy.Decide(Profile() with { Registration = Phone with { VoipToken = "" } }, Ben, PushKind.Call, Now));
        Assert.Equal(PushSkip.None, PushPolicy.Decide(Profile() with { Registration = new PushRegistration(PushRegistration.Fcm, "fcm") }, Ben, PushKind.Call, Now));
    }

    [Fact]
    public void Own_copies_silent_messages_and_device_list_notices_wake_nobody()
    {
        var message = new StoredMessage(1, MessageId.New(), new UserId("ben"), DeviceId.Primary, Now, new MessageMeta(1),
            ImmutableSortedDictionary<uint, DeviceCiphertext>.Empty.Add(1, new DeviceCiphertext([1], 1)));
        Assert.True(PushRequest.Wakes(message));
        Assert.False(PushRequest.Wakes(message with { Meta = new MessageMeta(1, Silent: true) }));
        Assert.False(PushRequest.Wakes(message with { Meta = new MessageMeta(1, SyncTo: new UserId("cy")) }));
        Assert.False(PushRequest.Wakes(message with { ExceptDevice = 2 }));
        Assert.False(PushRequest.Wakes(message with { Meta = new MessageMeta(ContentKinds.System, DeviceList: new DeviceListChange([1], [], [2])) }));
    }

    [Fact]
    public void The_account_hands_out_a_devices_profile_and_drops_a_token_only_while_the_device_still_uses_it()
    {
        var ann = new UserId("ann");
        var state = Run(AccountState.Empty, new RegisterPrimary(ann, "+4915112345678", AccountState.HashToken("t"u8), "phone"), out _);
        state = Run(state, new RegisterPush(ann, DeviceId.Primary, Phone), out _);
        state = Run(state, new MuteChat(ann, Family, DateTimeOffset.MaxValue), out _);

        Run(state, new GetPushProfile(ann, DeviceId.Primary), out var reply);
        var profile = Assert.IsType<R.PushProfileIs>(reply).Profile;
        Assert.Equal((Phone, Family), (profile.Registration, Assert.Single(profile.Mutes).Chat));
        Run(state, new GetPushProfile(ann, new DeviceId(9)), out var unknown);
        Assert.Same(PushProfile.Nowhere, Assert.IsType<R.PushProfileIs>(unknown).Profile);

        // A stale report about an older token changes nothing; the VoIP token goes alone; the device token takes the registration.
        Assert.Equal(Phone, Device(Run(state, new RemovePushToken(ann, DeviceId.Primary, "older-token"), out _)));
        Assert.Equal(Phone with { VoipToken = "" }, Device(Run(state, new RemovePushToken(ann, DeviceId.Primary, "voip-token"), out _)));
        Assert.Null(Device(Run(state, new RemovePushToken(ann, DeviceId.Primary, "apns-token"), out _)));
    }

    private static PushRegistration? Device(AccountState state) => state.Devices[DeviceId.Primary].Push;

    private static AccountState Run(AccountState state, IAccountCommand command, out IAccountReply reply)
    {
        var (r, events) = state.Decide(command, Now);
        reply = r;
        return events.Aggregate(state, (s, e) => s.Apply(e));
    }
}
