using Akka.WhatsApp.Domain.Accounts;
using A = Akka.WhatsApp.Domain.Accounts.AccountReplies;

namespace Akka.WhatsApp.Edge.Handlers;

/// <summary>
/// Push registrations, mutes and do-not-disturb (PROTOCOL.md §16): what decides whether and where an offline device is
/// woken. The settings are kept with the account (the registration with the device, removed with it); sending the
/// pushes themselves is not built yet.
/// </summary>
public sealed class NotificationsHandler : IPacketHandler
{
    public const int MaxTokenLength = 4096;
    public const int MaxAppIdLength = 256;
    public const int MaxChatIdLength = 128;

    public void Register(PacketTable table) => table
        .Request(Frame.PacketOneofCase.RegisterPushToken, RegisterAsync)
        .Request(Frame.PacketOneofCase.MuteChat, MuteAsync)
        .Request(Frame.PacketOneofCase.SetDoNotDisturb, DoNotDisturbAsync)
        .Request(Frame.PacketOneofCase.GetNotificationSettings, SettingsAsync);

    private static async Task<Frame?> RegisterAsync(Frame frame, IEdgeSession session)
    {
        var r = frame.RegisterPushToken;
        PushRegistration? registration = r.Platform switch
        {
            PushPlatform.None => null,
            PushPlatform.Apns or PushPlatform.Fcm => new PushRegistration((int)r.Platform, Checked(r.Token, "token", required: true),
                Checked(r.VoipToken, "voip_token", required: false), r.AppId.Length <= MaxAppIdLength ? r.AppId
                    : throw new RequestException(ErrorCode.InvalidArgument, $"app_id has at most {MaxAppIdLength} characters"), r.Sandbox),
            _ => throw new RequestException(ErrorCode.InvalidArgument, "platform must be APNS, FCM or NONE (to remove the registration)"),
        };
        if (registration is { Platform: PushRegistration.Fcm } fcm && (fcm.VoipToken.Length > 0 || fcm.Sandbox))
            throw new RequestException(ErrorCode.InvalidArgument, "voip_token and sandbox are APNs settings");
        await StoreAsync(session, new AccountCommands.RegisterPush(session.User, session.Device, registration));
        return new Frame { Ok = new Ok() };
    }

    private static string Checked(string token, string field, bool required)
    {
        if (required && token.Length == 0)
            throw new RequestException(ErrorCode.InvalidArgument, $"{field} is required");
        if (token.Length > MaxTokenLength)
            throw new RequestException(ErrorCode.InvalidArgument, $"{field} has at most {MaxTokenLength} characters");
        return token;
    }

    private static async Task<Frame?> MuteAsync(Frame frame, IEdgeSession session)
    {
        var mute = frame.MuteChat;
        var chat = ChatOf(mute.Chat);
        // 0 unmutes; uint64 max (and anything past what a date can hold) is forever.
        DateTimeOffset? until = mute.MutedUntil switch
        {
            0 => null,
            > (ulong)WireMapping.MaxMs => DateTimeOffset.MaxValue,
            var ms => DateTimeOffset.FromUnixTimeMilliseconds((long)ms),
        };
        await StoreAsync(session, new AccountCommands.MuteChat(session.User, chat, until));
        return new Frame { Ok = new Ok() };
    }

    internal static ChatId ChatOf(ChatRef? chat) => chat?.ChatCase switch
    {
        ChatRef.ChatOneofCase.UserId when chat.UserId.Length is > 0 and <= MaxChatIdLength => ChatId.User(new UserId(chat.UserId)),
        ChatRef.ChatOneofCase.GroupId when chat.GroupId.Length is > 0 and <= MaxChatIdLength => ChatId.Group(new GroupId(chat.GroupId)),
        _ => throw new RequestException(ErrorCode.InvalidArgument, $"chat names a user_id or a group_id of 1 to {MaxChatIdLength} characters"),
    };

    private static async Task<Frame?> DoNotDisturbAsync(Frame frame, IEdgeSession session)
    {
        var d = frame.SetDoNotDisturb;
        DateTimeOffset? until = d.Until switch
        {
            0 => null,
            > (ulong)WireMapping.MaxMs => null, // past any date: the same as until turned off
            var ms => DateTimeOffset.FromUnixTimeMilliseconds((long)ms),
        };
        await StoreAsync(session, new AccountCommands.SetDoNotDisturb(session.User, d.Enabled ? new DoNotDisturb(true, until, d.AllowCalls) : DoNotDisturb.Off));
        return new Frame { Ok = new Ok() };
    }

    private static async Task<Frame?> SettingsAsync(Frame frame, IEdgeSession session)
    {
        var settings = await session.AskAsync<IAccountReply>(session.Backend.Accounts, new AccountCommands.GetNotificationSettings(session.User))
            as A.NotificationsAre ?? throw new RequestException(ErrorCode.NotFound, "no such account");
        var wire = new NotificationSettings
        {
            DoNotDisturb = new Protocol.SetDoNotDisturb
            {
                Enabled = settings.DoNotDisturb.Enabled, AllowCalls = settings.DoNotDisturb.AllowCalls,
                Until = settings.DoNotDisturb.Until is { } until ? WireMapping.Ms(until) : 0,
            },
        };
        wire.Mutes.AddRange(settings.Mutes.Select(m => new ChatMute
        {
            Chat = m.Chat.IsGroup ? new ChatRef { GroupId = m.Chat.Id } : new ChatRef { UserId = m.Chat.Id },
            MutedUntil = m.Until == DateTimeOffset.MaxValue ? ulong.MaxValue : WireMapping.Ms(m.Until),
        }));
        return new Frame { NotificationSettings = wire };
    }

    private static async Task StoreAsync(IEdgeSession session, IAccountCommand command)
    {
        switch (await session.AskAsync<IAccountReply>(session.Backend.Accounts, command))
        {
            case A.Rejected { Error: AccountError.NotFound } r:
                throw new RequestException(ErrorCode.NotFound, r.Reason);
            case A.Rejected r:
                throw new RequestException(ErrorCode.InvalidArgument, r.Reason);
        }
    }
}
