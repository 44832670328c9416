using Akka.Cluster.Tools.PublishSubscribe;
using Akka.WhatsApp.Domain;
using Akka.WhatsApp.Domain.Accounts;
using Akka.WhatsApp.Domain.Mailbox;
using Akka.WhatsApp.Edge.Sessions;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;
using Xunit;

namespace Akka.WhatsApp.Edge.Tests.Handlers;

/// <summary>The other areas' handlers against probes: what they refuse on their own, and what they ask.</summary>
public sealed class AreasSpec : EdgeSpec
{
    [Fact]
    public async Task A_refused_login_leaves_the_connection_in_the_handshake_and_a_second_login_may_follow()
    {
        Receive(new Frame { Hello = new Hello { ProtocolVersion = ProtocolVersion.Current } });
        await Connection.NextAsync();
        var first = Receive(new Frame { Login = new Login { UserId = Alice.Value, DeviceId = 1, Token = ByteString.CopyFrom(9, 9) } });
        Accounts.ExpectMsg<AccountCommands.Authenticate>(Wait);
        Accounts.Reply(new AccountReplies.Rejected(AccountError.BadCredentials, "no"));
        var refused = await Connection.NextAsync();
        Assert.Equal((first, ErrorCode.BadCredentials), (refused.RequestId, refused.Error.Code));
        Assert.Equal(SessionState.Handshaking, Session.State);
        Assert.False(Connection.Closed);
    }

    [Fact]
    public async Task A_rate_limited_code_request_says_when_to_retry_rounded_up_never_a_moment_too_early()
    {
        Receive(new Frame { Hello = new Hello { ProtocolVersion = ProtocolVersion.Current } });
        await Connection.NextAsync();
        var request = Receive(new Frame { RequestCode = new RequestCode { PhoneNumber = "+15550000001" } });
        Verifications.ExpectMsg<Domain.Registration.VerificationCommands.RequestCode>(Wait);
        Verifications.Reply(new Domain.Registration.VerificationReplies.Rejected(Domain.Registration.VerificationError.RateLimited, "moments ago",
            TimeSpan.FromTicks(29_999_9999))); // 29,999.9999 ms
        var answer = await Connection.NextAsync();
        Assert.Equal((request, ErrorCode.RateLimited, 30_000ul), (answer.RequestId, answer.Error.Code, answer.Error.RetryAfterMs));
    }

    [Fact]
    public async Task Removing_the_primary_is_refused_INVALID_ARGUMENT_without_asking_the_account()
    {
        await LoggedInAsync();
        var request = Receive(new Frame { RemoveDevice = new RemoveDevice { DeviceId = 1 } });
        var answer = await Connection.NextAsync();
        Assert.Equal((request, ErrorCode.InvalidArgument), (answer.RequestId, answer.Error.Code));
        await NothingAskedOfTheAccountsAsync();
    }

    [Fact]
    public async Task A_companion_removing_another_device_gets_NOT_PRIMARY_as_the_account_decides()
    {
        await LoggedInAsync();
        var request = Receive(new Frame { RemoveDevice = new RemoveDevice { DeviceId = 3 } });
        Accounts.ExpectMsg<AccountCommands.UnlinkDevice>(Wait);
        Accounts.Reply(new AccountReplies.Rejected(AccountError.NotPrimary, "only the primary"));
        var answer = await Connection.NextAsync();
        Assert.Equal((request, ErrorCode.NotPrimary), (answer.RequestId, answer.Error.Code));
    }

    [Fact]
    public async Task A_group_id_that_cannot_be_one_is_answered_NOT_A_MEMBER_without_asking_a_group()
    {
        await LoggedInAsync();
        var request = Receive(new Frame { GetGroupInfo = new GetGroupInfo { GroupId = "not-a-group" } });
        var answer = await Connection.NextAsync();
        Assert.Equal((request, ErrorCode.NotAMember), (answer.RequestId, answer.Error.Code));
        await NothingAskedOfTheGroupsAsync();
    }

    [Fact]
    public async Task Unsubscribing_a_user_never_followed_tells_the_presence_bus_nothing()
    {
        await LoggedInAsync();
        Bus.ExpectMsg<Subscribe>(Wait); // the device's own inbox
        Assert.IsType<Domain.Calls.DeviceAttached>(Bus.ExpectMsg<Publish>(Wait).Message); // for a call ringing this device
        Directory.Users.Add(Bob);
        Receive(new Frame { UnsubscribePresence = new UnsubscribePresence { UserIds = { "never-followed" } } });
        await Connection.NextAsync(); // Ok

        var subscribe = Receive(new Frame { SubscribePresence = new SubscribePresence { UserIds = { Bob.Value } } });
        Accounts.ExpectMsg<AccountCommands.GetBlocked>(Wait);
        Accounts.Reply(new AccountReplies.Blocked([]));
        Accounts.ExpectMsg<AccountCommands.GetDeliveryInfo>(Wait);
        Accounts.Reply(Info(false, 1) with { SharesPresence = false });
        Assert.Equal(subscribe, (await Connection.NextAsync()).RequestId);
        Receive(new Frame { UnsubscribePresence = new UnsubscribePresence { UserIds = { Bob.Value } } });

        // In the order the device's actor sent them: only Bob's topic, subscribed then unsubscribed.
        Assert.Equal("presence-bob", Bus.ExpectMsg<Subscribe>(Wait).Topic);
        Assert.Equal("presence-bob", Bus.ExpectMsg<Unsubscribe>(Wait).Topic);
    }

    [Fact]
    public async Task Subscribing_to_ids_that_do_not_exist_asks_the_directory_once_and_no_account()
    {
        await LoggedInAsync();
        var request = Receive(new Frame { SubscribePresence = new SubscribePresence { UserIds = { Enumerable.Range(0, 200).Select(i => $"nobody{i}") } } });
        Accounts.ExpectMsg<AccountCommands.GetBlocked>(Wait); // the caller's own block list, once
        Accounts.Reply(new AccountReplies.Blocked([]));
        var answer = await Connection.NextAsync();
        Assert.Equal((request, 200), (answer.RequestId, answer.PresenceList.Presences.Count));
        Assert.All(answer.PresenceList.Presences, p => Assert.Equal(PresenceState.Unspecified, p.State));
        Assert.Equal(1, Directory.ExistenceQueries);
        await NothingAskedOfTheAccountsAsync();
    }

    [Fact]
    public async Task A_removal_notice_that_no_longer_lists_the_device_closes_the_connection_with_DEVICE_REMOVED()
    {
        await LoggedInAsync();
        var inbox = Bus.ExpectMsg<Subscribe>(Wait);
        inbox.Ref.Tell(new AccountNotices.DevicesChanged(Alice, Generation: 2, [new DeviceToken(new DeviceId(2), 42)]), TestActor);
        var last = await Connection.NextAsync();
        Assert.Equal((0u, ErrorCode.DeviceRemoved), (last.RequestId, last.Error.Code));
        Assert.True(Connection.Closed);
        Assert.Equal(SessionState.Closed, Session.State);
    }

    [Fact]
    public async Task An_older_device_notice_is_ignored()
    {
        await LoggedInAsync();
        var inbox = Bus.ExpectMsg<Subscribe>(Wait);
        inbox.Ref.Tell(new AccountNotices.DevicesChanged(Alice, Generation: 0, []), TestActor); // before this login's generation 1
        var ping = Receive(new Frame { Ping = new Ping() });
        Assert.Equal(ping, (await Connection.NextAsync()).RequestId);
        Assert.False(Connection.Closed);
    }
}
