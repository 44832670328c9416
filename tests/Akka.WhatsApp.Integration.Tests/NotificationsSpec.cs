using Akka.WhatsApp.Client;
using Akka.WhatsApp.Host;
using Akka.WhatsApp.Protocol;
using Xunit;
using static Akka.WhatsApp.Integration.Tests.TestUsers;

namespace Akka.WhatsApp.Integration.Tests;

public sealed class PostgresNotificationsNode() : MessagingNode(JournalKind.Postgres);

/// <summary>Notification settings over real TCP on a PostgreSQL journal (PROTOCOL.md §16): stored, shared by the user's devices, checked.</summary>
public sealed class NotificationsSpec(PostgresNotificationsNode fixture) : IClassFixture<PostgresNotificationsNode>
{
    private WhatsAppNode Node => fixture.Node;

    [Fact]
    public async Task Mutes_and_do_not_disturb_are_kept_for_the_account_and_read_back_on_a_new_connection()
    {
        var alice = await RegisterAsync(Node);
        var inAnHour = (ulong)DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeMilliseconds();
        await using (var a = await ConnectAsync(Node, alice))
        {
            Ok(await a.RequestAsync(new Frame
            {
                RegisterPushToken = new RegisterPushToken { Platform = PushPlatform.Apns, Token = "a1b2c3d4", VoipToken = "e5f6", AppId = "com.example", Sandbox = true },
            }));
            Ok(await a.RequestAsync(new Frame { MuteChat = new MuteChat { Chat = new ChatRef { UserId = "bob" }, MutedUntil = inAnHour } }));
            Ok(await a.RequestAsync(new Frame { MuteChat = new MuteChat { Chat = new ChatRef { GroupId = "g-family" }, MutedUntil = ulong.MaxValue } }));
            Ok(await a.RequestAsync(new Frame { MuteChat = new MuteChat { Chat = new ChatRef { UserId = "carol" }, MutedUntil = inAnHour } }));
            Ok(await a.RequestAsync(new Frame { MuteChat = new MuteChat { Chat = new ChatRef { UserId = "carol" }, MutedUntil = 0 } })); // unmuted
            Ok(await a.RequestAsync(new Frame { SetDoNotDisturb = new SetDoNotDisturb { Enabled = true, Until = inAnHour, AllowCalls = true } }));
        }

        await using var again = await ConnectAsync(Node, alice);
        var settings = (await again.RequestAsync(new Frame { GetNotificationSettings = new GetNotificationSettings() })).NotificationSettings;
        Assert.Equal(["g:g-family", "u:bob"], settings.Mutes.Select(m => (m.Chat.ChatCase == ChatRef.ChatOneofCase.GroupId ? "g:" + m.Chat.GroupId : "u:" + m.Chat.UserId)));
        Assert.Equal([ulong.MaxValue, inAnHour], settings.Mutes.Select(m => m.MutedUntil));
        Assert.Equal((true, inAnHour, true), (settings.DoNotDisturb.Enabled, settings.DoNotDisturb.Until, settings.DoNotDisturb.AllowCalls));

        Ok(await again.RequestAsync(new Frame { SetDoNotDisturb = new SetDoNotDisturb { Enabled = false } }));
        var off = (await again.RequestAsync(new Frame { GetNotificationSettings = new GetNotificationSettings() })).NotificationSettings.DoNotDisturb;
        Assert.Equal((false, 0ul, false), (off.Enabled, off.Until, off.AllowCalls));
    }

    [Theory]
    [InlineData(PushPlatform.Unspecified, "t", "")]
    [InlineData(PushPlatform.Apns, "", "")]
    [InlineData(PushPlatform.Fcm, "t", "voip")]
    public async Task A_registration_that_cannot_be_used_is_refused(PushPlatform platform, string token, string voip)
    {
        await using var a = await ConnectAsync(Node, await RegisterAsync(Node));
        var refused = await Assert.ThrowsAsync<ServerErrorException>(() =>
            a.RequestAsync(new Frame { RegisterPushToken = new RegisterPushToken { Platform = platform, Token = token, VoipToken = voip } }));
        Assert.Equal(ErrorCode.InvalidArgument, refused.Code);
        var tooLong = await Assert.ThrowsAsync<ServerErrorException>(() =>
            a.RequestAsync(new Frame { MuteChat = new MuteChat { Chat = new ChatRef { UserId = new string('x', 129) }, MutedUntil = 1 } }));
        Assert.Equal(ErrorCode.InvalidArgument, tooLong.Code);
        var noChat = await Assert.ThrowsAsync<ServerErrorException>(() => a.RequestAsync(new Frame { MuteChat = new MuteChat { MutedUntil = 1 } }));
        Assert.Equal(ErrorCode.InvalidArgument, noChat.Code);
        Ok(await a.RequestAsync(new Frame { RegisterPushToken = new RegisterPushToken { Platform = PushPlatform.None } }));
    }

    private static void Ok(Frame reply) => Assert.Equal(Frame.PacketOneofCase.Ok, reply.PacketCase);
}
