using System.Collections.Immutable;
using Akka.WhatsApp.Domain.Accounts;
using Xunit;
using static Akka.WhatsApp.Domain.Accounts.AccountCommands;
using R = Akka.WhatsApp.Domain.Accounts.AccountReplies;

namespace Akka.WhatsApp.Domain.Tests;

public sealed class AccountStateSpec
{
    private static readonly UserId Ann = new("ann");
    private static readonly UserId Ben = new("ben");
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
    private static readonly byte[] PrimaryToken = AccountState.HashToken("primary-token"u8);

    private static AccountState Run(AccountState state, IAccountCommand command, out IAccountReply reply)
    {
        var (r, events) = state.Decide(command, Now);
        reply = r;
        return events.Aggregate(state, (s, e) => s.Apply(e));
    }

    private static AccountState Registered() => Run(AccountState.Empty, new RegisterPrimary(Ann, "+4915112345678", PrimaryToken, "phone"), out _);

    [Fact]
    public void Mutes_hold_until_their_time_an_unmute_ends_them_and_expired_ones_are_dropped_with_the_next_change()
    {
        var state = Registered();
        var ben = ChatId.User(Ben);
        var group = ChatId.Group(new GroupId("g1"));
        state = Run(state, new MuteChat(Ann, ben, Now.AddHours(8)), out _);
        state = Run(state, new MuteChat(Ann, group, DateTimeOffset.MaxValue), out _);
        Assert.True(state.Notifications.IsMuted(ben, Now.AddHours(7)));
        Assert.False(state.Notifications.IsMuted(ben, Now.AddHours(8)));
        Assert.True(state.Notifications.IsMuted(group, DateTimeOffset.MaxValue.AddYears(-1)));

        var (settings, _) = state.Decide(new GetNotificationSettings(Ann), Now.AddHours(9));
        var only = Assert.Single(((AccountReplies.NotificationsAre)settings).Mutes);
        Assert.Equal(group, only.Chat);
        Assert.Equal(DateTimeOffset.MaxValue, only.Until);

        // Later, a change drops the expired mute of Ben with it; unmuting a chat that is not muted writes nothing.
        var later = Now.AddDays(1);
        var (_, unmute) = state.Decide(new MuteChat(Ann, group, null), later);
        state = unmute.Aggregate(state, (s, e) => s.Apply(e));
        Assert.Empty(state.Notifications.Mutes);
        Assert.Empty(state.Decide(new MuteChat(Ann, ben, later.AddMinutes(-1)), later).Events);
    }

    [Fact]
    public void Media_settings_are_kept_as_given_and_setting_the_same_again_writes_nothing()
    {
        var state = Registered();
        Assert.Empty(((R.MediaSettingsAre)state.Decide(new GetMediaSettings(Ann), Now).Reply).Settings);
        state = Run(state, new SetMediaSettings(Ann, [10, 2, 8, 1]), out _);
        Assert.Equal([10, 2, 8, 1], ((R.MediaSettingsAre)state.Decide(new GetMediaSettings(Ann), Now).Reply).Settings);
        Assert.Empty(state.Decide(new SetMediaSettings(Ann, [10, 2, 8, 1]), Now).Events);
        Assert.Single(state.Decide(new SetMediaSettings(Ann, []), Now).Events);
    }

    [Fact]
    public void Do_not_disturb_reads_as_off_once_its_time_is_over()
    {
        var state = Run(Registered(), new SetDoNotDisturb(Ann, new DoNotDisturb(true, Now.AddHours(1), AllowCalls: true)), out _);
        Assert.True(state.Notifications.DoNotDisturb.InForce(Now));
        var (during, _) = state.Decide(new GetNotificationSettings(Ann), Now.AddMinutes(30));
        Assert.Equal(new DoNotDisturb(true, Now.AddHours(1), true), ((AccountReplies.NotificationsAre)during).DoNotDisturb);
        var (after, _) = state.Decide(new GetNotificationSettings(Ann), Now.AddHours(2));
        Assert.Equal(DoNotDisturb.Off, ((AccountReplies.NotificationsAre)after).DoNotDisturb);
    }

    [Fact]
    public void A_push_registration_belongs_to_its_device_and_goes_with_it()
    {
        var state = Run(Registered(), new LinkDevice(Ann, DeviceId.Primary, AccountState.HashToken([7]), "tablet"), out var linked);
        var tablet = ((AccountReplies.DeviceLinked)linked).Device;
        var apns = new PushRegistration(PushRegistration.Apns, "a1b2", "c3d4", "com.example.app", Sandbox: true);
        state = Run(state, new RegisterPush(Ann, tablet, apns), out _);
        Assert.Equal(apns, state.Devices[tablet].Push);
        Assert.Empty(state.Decide(new RegisterPush(Ann, tablet, apns), Now).Events); // the same again: nothing written

        state = Run(state, new RegisterPush(Ann, tablet, null), out _);
        Assert.Null(state.Devices[tablet].Push);
        state = Run(state, new RegisterPush(Ann, tablet, apns), out _);
        state = Run(state, new UnlinkDevice(Ann, DeviceId.Primary, tablet), out _);
        Run(state, new RegisterPush(Ann, tablet, apns), out var gone);
        Assert.Equal(AccountError.NotFound, ((AccountReplies.Rejected)gone).Error);
    }

    [Fact]
    public void A_devices_registration_id_is_told_to_every_sender_and_a_new_registration_forgets_it()
    {
        var state = Run(Registered(), new SetRegistrationId(Ann, DeviceId.Primary, 4711), out var done);
        Assert.IsType<AccountReplies.Done>(done);
        Run(state, new GetDeliveryInfo(Ann, Ben), out var info);
        Assert.Equal(4711u, ((AccountReplies.DeliveryInfo)info).RegistrationOf(1));
        Assert.Equal(0u, ((AccountReplies.DeliveryInfo)info).RegistrationOf(2));

        var (_, again) = state.Decide(new SetRegistrationId(Ann, DeviceId.Primary, 4711), Now);
        Assert.Empty(again); // unchanged: nothing written
        Run(state, new SetRegistrationId(Ann, new DeviceId(5), 1), out var unknown);
        Assert.Equal(AccountError.NotFound, ((AccountReplies.Rejected)unknown).Error);

        state = Run(state, new RegisterPrimary(Ann, "+4915112345678", AccountState.HashToken("reinstalled"u8), "phone"), out _);
        Run(state, new GetDeliveryInfo(Ann, Ben), out var after);
        Assert.Empty(((AccountReplies.DeliveryInfo)after).RegistrationIds);
    }

    [Fact]
    public void Commands_to_an_account_that_does_not_exist_are_refused_NotFound()
    {
        var (reply, events) = AccountState.Empty.Decide(new Authenticate(Ann, DeviceId.Primary, PrimaryToken), Now);
        Assert.Equal(AccountError.NotFound, Assert.IsType<R.Rejected>(reply).Error);
        Assert.Empty(events);
    }

    [Fact]
    public void The_primary_device_authenticates_with_its_token_and_not_with_another()
    {
        var state = Registered();
        Assert.IsType<R.Authenticated>(state.Decide(new Authenticate(Ann, DeviceId.Primary, PrimaryToken), Now).Reply);
        var wrong = state.Decide(new Authenticate(Ann, DeviceId.Primary, AccountState.HashToken("guess"u8)), Now).Reply;
        Assert.Equal(AccountError.BadCredentials, Assert.IsType<R.Rejected>(wrong).Error);
    }

    [Fact]
    public void At_most_four_companions_can_be_linked()
    {
        var state = Registered();
        for (var i = 0; i < AccountState.MaxCompanions; i++)
        {
            state = Run(state, new LinkDevice(Ann, DeviceId.Primary, AccountState.HashToken([(byte)i]), $"laptop {i}"), out var linked);
            Assert.Equal((uint)(i + 2), Assert.IsType<R.DeviceLinked>(linked).Device.Value);
        }
        Run(state, new LinkDevice(Ann, DeviceId.Primary, AccountState.HashToken([9]), "one too many"), out var refused);
        Assert.Equal(AccountError.TooManyDevices, Assert.IsType<R.Rejected>(refused).Error);
    }

    [Fact]
    public void An_unlinked_device_token_stops_working_at_once_and_its_id_is_never_reused()
    {
        var token = AccountState.HashToken("laptop"u8);
        var state = Run(Registered(), new LinkDevice(Ann, DeviceId.Primary, token, "laptop"), out _);
        state = Run(state, new UnlinkDevice(Ann, DeviceId.Primary, new DeviceId(2)), out var done);
        Assert.IsType<R.Done>(done);

        Assert.IsType<R.Rejected>(state.Decide(new Authenticate(Ann, new DeviceId(2), token), Now).Reply);
        Run(state, new LinkDevice(Ann, DeviceId.Primary, token, "laptop again"), out var relinked);
        Assert.Equal(3u, Assert.IsType<R.DeviceLinked>(relinked).Device.Value);
    }

    [Fact]
    public void A_companion_cannot_unlink_another_device_nor_the_primary()
    {
        var state = Run(Registered(), new LinkDevice(Ann, DeviceId.Primary, AccountState.HashToken("a"u8), "a"), out _);
        state = Run(state, new LinkDevice(Ann, DeviceId.Primary, AccountState.HashToken("b"u8), "b"), out _);
        Run(state, new UnlinkDevice(Ann, new DeviceId(2), new DeviceId(3)), out var other);
        Run(state, new UnlinkDevice(Ann, new DeviceId(2), DeviceId.Primary), out var primary);
        Assert.Equal(AccountError.NotPrimary, Assert.IsType<R.Rejected>(other).Error);
        Assert.Equal(AccountError.Forbidden, Assert.IsType<R.Rejected>(primary).Error);
    }

    [Fact]
    public void Registering_the_number_again_unlinks_every_earlier_device()
    {
        var state = Run(Registered(), new LinkDevice(Ann, DeviceId.Primary, AccountState.HashToken("a"u8), "a"), out _);
        var newToken = AccountState.HashToken("new-phone"u8);
        state = Run(state, new RegisterPrimary(Ann, "+4915112345678", newToken, "new phone"), out _);

        Assert.Equal([DeviceId.Primary], state.Devices.Keys);
        Assert.IsType<R.Authenticated>(state.Decide(new Authenticate(Ann, DeviceId.Primary, newToken), Now).Reply);
        Assert.IsType<R.Rejected>(state.Decide(new Authenticate(Ann, DeviceId.Primary, PrimaryToken), Now).Reply);
    }

    [Fact]
    public void Privacy_hides_last_seen_and_about_from_non_contacts_and_everything_from_blocked_users()
    {
        var state = Registered();
        state = Run(state, new SetProfile(Ann, new Profile("Ann", "hiking", "media-1")), out _);
        state = Run(state, new SetPrivacy(Ann, new PrivacySettings(Visibility.Contacts, Visibility.Everyone, Visibility.Contacts, true)), out _);
        state = Run(state, new RecordLastSeen(Ann, Now), out _);
        state = Run(state, new SetContacts(Ann, [Ben]), out _);

        var contact = Assert.IsType<R.Viewed>(state.Decide(new View(Ann, Ben), Now).Reply);
        Assert.Equal(Now, contact.LastSeen);
        Assert.Equal("hiking", contact.Profile.About);

        var stranger = Assert.IsType<R.Viewed>(state.Decide(new View(Ann, new UserId("eve")), Now).Reply);
        Assert.Null(stranger.LastSeen);
        Assert.Equal("", stranger.Profile.About);
        Assert.Equal("media-1", stranger.Profile.PhotoMediaId);

        state = Run(state, new Block(Ann, Ben), out _);
        var blocked = Assert.IsType<R.Viewed>(state.Decide(new View(Ann, Ben), Now).Reply);
        Assert.Null(blocked.LastSeen);
        Assert.Equal("", blocked.Profile.PhotoMediaId);
        Assert.False(state.SharesPresenceWith(Ben));
    }

    [Fact]
    public void Block_and_unblock_are_idempotent()
    {
        var state = Run(Registered(), new Block(Ann, Ben), out _);
        Assert.Empty(state.Decide(new Block(Ann, Ben), Now).Events);
        state = Run(state, new Unblock(Ann, Ben), out _);
        Assert.Empty(state.Decide(new Unblock(Ann, Ben), Now).Events);
        Assert.Empty(state.Blocked);
    }

    [Fact]
    public void Every_change_of_the_devices_is_a_new_generation_whose_notice_lists_the_remaining_devices_and_tokens()
    {
        var state = Registered();
        var laptop = AccountState.HashToken("laptop"u8);
        state = Run(state, new LinkDevice(Ann, DeviceId.Primary, laptop, "laptop"), out _);
        var linked = state.DevicesNotice(Ann);
        state = Run(state, new UnlinkDevice(Ann, DeviceId.Primary, new DeviceId(2)), out _);
        var unlinked = state.DevicesNotice(Ann);

        Assert.Equal((1 + 1, 1 + 2), (linked.Generation, unlinked.Generation));
        Assert.True(linked.Allows(new DeviceToken(new DeviceId(2), AccountState.Fingerprint(laptop))));
        Assert.False(unlinked.Allows(new DeviceToken(new DeviceId(2), AccountState.Fingerprint(laptop))));
        Assert.True(unlinked.Allows(new DeviceToken(DeviceId.Primary, AccountState.Fingerprint(PrimaryToken))));
        // Seeing a device is not a change of the list.
        Assert.Equal(unlinked.Generation, Run(state, new RecordDeviceSeen(Ann, DeviceId.Primary, Now), out _).DeviceGeneration);
    }

    [Fact]
    public void A_re_registered_primary_keeps_device_id_1_but_the_old_token_is_no_longer_allowed()
    {
        var state = Run(Registered(), new RegisterPrimary(Ann, "+4915112345678", AccountState.HashToken("new"u8), "new phone"), out var reply);
        var notice = state.DevicesNotice(Ann);
        Assert.Equal(notice.Generation, Assert.IsType<R.Authenticated>(reply).Generation);
        Assert.False(notice.Allows(new DeviceToken(DeviceId.Primary, AccountState.Fingerprint(PrimaryToken))));
        Assert.True(notice.Allows(new DeviceToken(DeviceId.Primary, AccountState.Fingerprint(AccountState.HashToken("new"u8)))));
    }

    [Fact]
    public void A_device_keeps_its_platform_and_when_its_last_connection_ended()
    {
        var state = Run(Registered(), new LinkDevice(Ann, DeviceId.Primary, AccountState.HashToken("t"u8), "tablet", Platform: 1), out _);
        state = Run(state, new RecordDeviceSeen(Ann, new DeviceId(2), Now), out _);
        Assert.Empty(state.Decide(new RecordDeviceSeen(Ann, new DeviceId(2), Now.AddSeconds(-1)), Now).Events);
        Assert.Empty(state.Decide(new RecordDeviceSeen(Ann, new DeviceId(9), Now), Now).Events);
        Assert.Equal((1, Now), (state.Devices[new DeviceId(2)].Platform, state.Devices[new DeviceId(2)].LastSeen));
    }

    [Theory]
    [InlineData("😀😀😀😀😀😀😀😀😀😀😀😀😀", true)]     // 13 emoji: 26 UTF-16 units, 13 code points
    [InlineData("ABCDEFGHIJKLMNOPQRSTUVWXY", true)] // 25
    [InlineData("ABCDEFGHIJKLMNOPQRSTUVWXYZ", false)] // 26
    public void Profile_names_are_limited_in_code_points(string name, bool accepted)
    {
        var reply = Registered().Decide(new SetProfile(Ann, new Profile(name, "", "")), Now).Reply;
        Assert.Equal(accepted, reply is R.Done);
    }

    [Fact]
    public void A_user_cannot_block_themself()
    {
        Assert.IsType<R.Rejected>(Registered().Decide(new Block(Ann, Ann), Now).Reply);
    }
}
