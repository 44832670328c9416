using Akka.WhatsApp.Domain.Accounts;
using Akka.WhatsApp.Domain.Notifications;
using Akka.WhatsApp.Domain.Registration;
using Google.Protobuf;
using C = Akka.WhatsApp.Domain.Accounts.AccountCommands;
using E = Akka.WhatsApp.Domain.Accounts.AccountEvents;
using Proto = Akka.WhatsApp.Cluster.Storage.Accounts;
using R = Akka.WhatsApp.Domain.Accounts.AccountReplies;
using V = Akka.WhatsApp.Domain.Registration;
using static Akka.WhatsApp.Cluster.Serialization.StorageMapping;

namespace Akka.WhatsApp.Cluster.Accounts;

/// <summary>Protobuf serializer for the Account and phone-verification entities (events, commands, replies).</summary>
public sealed class AccountSerializer : ProtobufSerializer
{
    public const int Id = 111;

    public override int Identifier => Id;

    public AccountSerializer(ExtendedActorSystem system) : base(system)
    {
        // events
        Map<E.PrimaryRegistered, Proto.PrimaryRegistered>("PR",
            e => new Proto.PrimaryRegistered { Phone = e.Phone, Device = ToProto(e.Device) },
            p => new E.PrimaryRegistered(p.Phone, FromProto(p.Device)));
        Map<E.DeviceLinked, Proto.DeviceLinked>("DL",
            e => new Proto.DeviceLinked { Device = ToProto(e.Device) }, p => new E.DeviceLinked(FromProto(p.Device)));
        Map<E.DeviceUnlinked, Proto.DeviceUnlinked>("DU",
            e => new Proto.DeviceUnlinked { DeviceId = e.Device.Value }, p => new E.DeviceUnlinked(new DeviceId(p.DeviceId)));
        Map<E.ProfileChanged, Proto.ProfileChanged>("PC",
            e => new Proto.ProfileChanged { Profile = ToProto(e.Profile) }, p => new E.ProfileChanged(FromProto(p.Profile)));
        Map<E.PrivacyChanged, Proto.PrivacyChanged>("PV",
            e => new Proto.PrivacyChanged { Privacy = ToProto(e.Privacy) }, p => new E.PrivacyChanged(FromProto(p.Privacy)));
        Map<E.ContactsReplaced, Proto.ContactsReplaced>("CR",
            e => new Proto.ContactsReplaced { Contacts = { e.Contacts.Select(u => u.Value).Order(StringComparer.Ordinal) } },
            p => new E.ContactsReplaced(Users(p.Contacts)));
        Map<E.UserBlocked, Proto.UserBlocked>("UB",
            e => new Proto.UserBlocked { Target = e.Target.Value }, p => new E.UserBlocked(new UserId(p.Target)));
        Map<E.UserUnblocked, Proto.UserUnblocked>("UU",
            e => new Proto.UserUnblocked { Target = e.Target.Value }, p => new E.UserUnblocked(new UserId(p.Target)));
        Map<E.LastSeenRecorded, Proto.LastSeenRecorded>("LS",
            e => new Proto.LastSeenRecorded { AtMs = Ms(e.At) }, p => new E.LastSeenRecorded(At(p.AtMs)));
        Map<E.DeviceSeen, Proto.DeviceSeen>("DS",
            e => new Proto.DeviceSeen { DeviceId = e.Device.Value, AtMs = Ms(e.At) }, p => new E.DeviceSeen(new DeviceId(p.DeviceId), At(p.AtMs)));
        Map<E.PushRegistered, Proto.PushRegistered>("PU",
            e => new Proto.PushRegistered { DeviceId = e.Device.Value, Registration = ToProto(e.Registration) },
            p => new E.PushRegistered(new DeviceId(p.DeviceId), FromProto(p.Registration)));
        Map<E.ChatMuted, Proto.ChatMuted>("CM",
            e => new Proto.ChatMuted { Chat = ToProto(e.Chat), UntilMs = UntilMs(e.Until), AtMs = Ms(e.At) },
            p => new E.ChatMuted(FromProto(p.Chat), UntilAt(p.UntilMs), At(p.AtMs)));
        Map<E.MediaSettingsSet, Proto.MediaSettingsSet>("MS",
            e => new Proto.MediaSettingsSet { Settings = ByteString.CopyFrom(e.Settings) }, p => new E.MediaSettingsSet(p.Settings.ToByteArray()));
        Map<E.DoNotDisturbSet, Proto.DoNotDisturbSet>("DD",
            e => new Proto.DoNotDisturbSet { Setting = ToProto(e.Setting) }, p => new E.DoNotDisturbSet(FromProto(p.Setting)));
        Map<E.RegistrationIdSet, Proto.RegistrationIdSet>("RI",
            e => new Proto.RegistrationIdSet { DeviceId = e.Device.Value, RegistrationId = e.RegistrationId },
            p => new E.RegistrationIdSet(new DeviceId(p.DeviceId), p.RegistrationId));

        // commands
        Map<C.RegisterPrimary, Proto.RegisterPrimary>("cRP",
            c => new Proto.RegisterPrimary { User = c.User.Value, Phone = c.Phone, TokenHash = Bytes(c.TokenHash), DeviceName = c.DeviceName, Platform = c.Platform },
            p => new C.RegisterPrimary(new UserId(p.User), p.Phone, p.TokenHash.ToByteArray(), p.DeviceName, p.Platform));
        Map<C.Authenticate, Proto.Authenticate>("cAU",
            c => new Proto.Authenticate { User = c.User.Value, DeviceId = c.Device.Value, TokenHash = Bytes(c.TokenHash) },
            p => new C.Authenticate(new UserId(p.User), new DeviceId(p.DeviceId), p.TokenHash.ToByteArray()));
        Map<C.LinkDevice, Proto.LinkDevice>("cLD",
            c => new Proto.LinkDevice { User = c.User.Value, RequestedBy = c.RequestedBy.Value, TokenHash = Bytes(c.TokenHash), Name = c.Name, Platform = c.Platform },
            p => new C.LinkDevice(new UserId(p.User), new DeviceId(p.RequestedBy), p.TokenHash.ToByteArray(), p.Name, p.Platform));
        Map<C.UnlinkDevice, Proto.UnlinkDevice>("cUD",
            c => new Proto.UnlinkDevice { User = c.User.Value, RequestedBy = c.RequestedBy.Value, DeviceId = c.Device.Value },
            p => new C.UnlinkDevice(new UserId(p.User), new DeviceId(p.RequestedBy), new DeviceId(p.DeviceId)));
        Map<C.GetDevices, Proto.GetDevices>("cGD", c => new Proto.GetDevices { User = c.User.Value }, p => new C.GetDevices(new UserId(p.User)));
        Map<C.SetProfile, Proto.SetProfile>("cSP",
            c => new Proto.SetProfile { User = c.User.Value, Profile = ToProto(c.Profile) },
            p => new C.SetProfile(new UserId(p.User), FromProto(p.Profile)));
        Map<C.SetPrivacy, Proto.SetPrivacy>("cSV",
            c => new Proto.SetPrivacy { User = c.User.Value, Privacy = ToProto(c.Privacy) },
            p => new C.SetPrivacy(new UserId(p.User), FromProto(p.Privacy)));
        Map<C.SetContacts, Proto.SetContacts>("cSC",
            c => new Proto.SetContacts { User = c.User.Value, Contacts = { c.Contacts.Select(u => u.Value).Order(StringComparer.Ordinal) }, Mode = (int)c.Mode },
            p => new C.SetContacts(new UserId(p.User), Users(p.Contacts), (ContactsMode)p.Mode));
        Map<C.Block, Proto.Block>("cBL",
            c => new Proto.Block { User = c.User.Value, Target = c.Target.Value }, p => new C.Block(new UserId(p.User), new UserId(p.Target)));
        Map<C.Unblock, Proto.Unblock>("cUB",
            c => new Proto.Unblock { User = c.User.Value, Target = c.Target.Value }, p => new C.Unblock(new UserId(p.User), new UserId(p.Target)));
        Map<C.GetBlocked, Proto.GetBlocked>("cGB", c => new Proto.GetBlocked { User = c.User.Value }, p => new C.GetBlocked(new UserId(p.User)));
        Map<C.RecordLastSeen, Proto.RecordLastSeen>("cLS",
            c => new Proto.RecordLastSeen { User = c.User.Value, AtMs = Ms(c.At) }, p => new C.RecordLastSeen(new UserId(p.User), At(p.AtMs)));
        Map<C.RecordDeviceSeen, Proto.RecordDeviceSeen>("cDS",
            c => new Proto.RecordDeviceSeen { User = c.User.Value, DeviceId = c.Device.Value, AtMs = Ms(c.At) },
            p => new C.RecordDeviceSeen(new UserId(p.User), new DeviceId(p.DeviceId), At(p.AtMs)));
        Map<C.RegisterPush, Proto.RegisterPush>("cPU",
            c => new Proto.RegisterPush { User = c.User.Value, DeviceId = c.Device.Value, Registration = ToProto(c.Registration) },
            p => new C.RegisterPush(new UserId(p.User), new DeviceId(p.DeviceId), FromProto(p.Registration)));
        Map<C.MuteChat, Proto.MuteChat>("cCM",
            c => new Proto.MuteChat { User = c.User.Value, Chat = ToProto(c.Chat), Unmute = c.Until is null, UntilMs = c.Until is { } u ? UntilMs(u) : 0 },
            p => new C.MuteChat(new UserId(p.User), FromProto(p.Chat), p.Unmute ? null : UntilAt(p.UntilMs)));
        Map<C.SetMediaSettings, Proto.SetMediaSettings>("cMS",
            c => new Proto.SetMediaSettings { User = c.User.Value, Settings = ByteString.CopyFrom(c.Settings) },
            p => new C.SetMediaSettings(new UserId(p.User), p.Settings.ToByteArray()));
        Map<C.GetMediaSettings, Proto.GetMediaSettings>("cGM", c => new Proto.GetMediaSettings { User = c.User.Value }, p => new C.GetMediaSettings(new UserId(p.User)));
        Map<C.SetDoNotDisturb, Proto.SetDoNotDisturb>("cDD",
            c => new Proto.SetDoNotDisturb { User = c.User.Value, Setting = ToProto(c.Setting) }, p => new C.SetDoNotDisturb(new UserId(p.User), FromProto(p.Setting)));
        Map<C.GetNotificationSettings, Proto.GetNotificationSettings>("cNS",
            c => new Proto.GetNotificationSettings { User = c.User.Value }, p => new C.GetNotificationSettings(new UserId(p.User)));
        Map<C.GetPushProfile, Proto.GetPushProfile>("cPP",
            c => new Proto.GetPushProfile { User = c.User.Value, DeviceId = c.Device.Value }, p => new C.GetPushProfile(new UserId(p.User), new DeviceId(p.DeviceId)));
        Map<C.RemovePushToken, Proto.RemovePushToken>("cRT",
            c => new Proto.RemovePushToken { User = c.User.Value, DeviceId = c.Device.Value, Token = c.Token },
            p => new C.RemovePushToken(new UserId(p.User), new DeviceId(p.DeviceId), p.Token));
        Map<C.SetRegistrationId, Proto.SetRegistrationId>("cRI",
            c => new Proto.SetRegistrationId { User = c.User.Value, DeviceId = c.Device.Value, RegistrationId = c.RegistrationId },
            p => new C.SetRegistrationId(new UserId(p.User), new DeviceId(p.DeviceId), p.RegistrationId));
        Map<C.View, Proto.View>("cVW",
            c => new Proto.View { User = c.User.Value, Viewer = c.Viewer.Value }, p => new C.View(new UserId(p.User), new UserId(p.Viewer)));

        Map<C.GetDeliveryInfo, Proto.GetDeliveryInfo>("cDI",
            c => new Proto.GetDeliveryInfo { User = c.User.Value, Other = c.Other.Value }, p => new C.GetDeliveryInfo(new UserId(p.User), new UserId(p.Other)));
        Map<C.GetPrivacy, Proto.GetPrivacy>("cGP", c => new Proto.GetPrivacy { User = c.User.Value }, p => new C.GetPrivacy(new UserId(p.User)));

        // replies
        Map<R.DeliveryInfo, Proto.DeliveryInfo>("rDI",
            r => new Proto.DeliveryInfo
            {
                Devices = { r.Devices }, Blocks = r.Blocks, SharesPresence = r.SharesPresence, ReadReceipts = r.ReadReceipts, RegistrationIds = { r.RegistrationIds },
            },
            p => new R.DeliveryInfo([.. p.Devices], p.Blocks, p.SharesPresence, p.ReadReceipts, p.RegistrationIds.ToImmutableSortedDictionary()));
        Map<R.PrivacyIs, Proto.PrivacyIs>("rPV", r => new Proto.PrivacyIs { Privacy = ToProto(r.Privacy) }, p => new R.PrivacyIs(FromProto(p.Privacy)));
        Map<R.Done, Proto.Done>("rDN", _ => new Proto.Done(), _ => R.Done.Instance);
        Map<R.MediaSettingsAre, Proto.MediaSettingsAre>("rMS", r => new Proto.MediaSettingsAre { Settings = ByteString.CopyFrom(r.Settings) },
            p => new R.MediaSettingsAre(p.Settings.ToByteArray()));
        Map<R.NotificationsAre, Proto.NotificationsAre>("rNS",
            r => new Proto.NotificationsAre
            {
                Mutes = { r.Mutes.Select(m => new Proto.ChatMute { Chat = ToProto(m.Chat), UntilMs = UntilMs(m.Until) }) }, DoNotDisturb = ToProto(r.DoNotDisturb),
            },
            p => new R.NotificationsAre([.. p.Mutes.Select(m => (FromProto(m.Chat), UntilAt(m.UntilMs)))], FromProto(p.DoNotDisturb)));
        Map<R.PushProfileIs, Proto.PushProfileIs>("rPP",
            r => new Proto.PushProfileIs
            {
                Registration = ToProto(r.Profile.Registration), DoNotDisturb = ToProto(r.Profile.DoNotDisturb),
                Mutes = { r.Profile.Mutes.Select(m => new Proto.ChatMute { Chat = ToProto(m.Chat), UntilMs = UntilMs(m.Until) }) },
            },
            p => new R.PushProfileIs(p.Registration is null ? PushProfile.Nowhere
                : new PushProfile(FromProto(p.Registration), [.. p.Mutes.Select(m => (FromProto(m.Chat), UntilAt(m.UntilMs)))], FromProto(p.DoNotDisturb))));
        Map<R.Authenticated, Proto.Authenticated>("rAU",
            r => new Proto.Authenticated { DeviceId = r.Device.Value, Devices = { r.Devices.Select(d => d.Value) }, Phone = r.Phone, Generation = r.Generation, HasKeys = r.HasKeys },
            p => new R.Authenticated(new DeviceId(p.DeviceId), p.Devices.Select(d => new DeviceId(d)).ToImmutableSortedSet(DeviceOrder), p.Phone, p.Generation, p.HasKeys));
        Map<R.DeviceLinked, Proto.DeviceLinkedReply>("rDL",
            r => new Proto.DeviceLinkedReply { DeviceId = r.Device.Value, Phone = r.Phone }, p => new R.DeviceLinked(new DeviceId(p.DeviceId), p.Phone));
        Map<R.Devices, Proto.Devices>("rDV",
            r => new Proto.Devices { List = { r.List.Select(ToProto) } }, p => new R.Devices(p.List.Select(FromProto).ToImmutableList()));
        Map<R.Blocked, Proto.Blocked>("rBL",
            r => new Proto.Blocked { Users = { r.Users } }, p => new R.Blocked(p.Users.ToImmutableSortedSet(StringComparer.Ordinal)));
        Map<R.Viewed, Proto.Viewed>("rVW",
            r => new Proto.Viewed { Profile = ToProto(r.Profile), HasLastSeen = r.LastSeen.HasValue, LastSeenMs = r.LastSeen is { } t ? Ms(t) : 0 },
            p => new R.Viewed(FromProto(p.Profile), p.HasLastSeen ? At(p.LastSeenMs) : null));
        Map<R.Rejected, Proto.AccountRejected>("rRJ",
            r => new Proto.AccountRejected { Error = (int)r.Error, Reason = r.Reason }, p => new R.Rejected((AccountError)p.Error, p.Reason));

        // notices to the user's sessions
        Map<AccountNotices.DevicesChanged, Proto.DevicesChanged>("nDC",
            n => new Proto.DevicesChanged
            {
                User = n.User.Value, Generation = n.Generation,
                Devices = { n.Devices.Select(d => new Proto.DeviceToken { DeviceId = d.Device.Value, Fingerprint = d.Fingerprint }) },
            },
            p => new AccountNotices.DevicesChanged(new UserId(p.User), p.Generation,
                [.. p.Devices.Select(d => new DeviceToken(new DeviceId(d.DeviceId), d.Fingerprint))]));

        // phone verification
        Map<V.VerificationEvents.CodeIssued, Proto.CodeIssued>("vCI",
            e => new Proto.CodeIssued { CodeHash = Bytes(e.CodeHash), AtMs = Ms(e.At), ExpiresAtMs = Ms(e.ExpiresAt) },
            p => new V.VerificationEvents.CodeIssued(p.CodeHash.ToByteArray(), At(p.AtMs), At(p.ExpiresAtMs)));
        Map<V.VerificationEvents.AttemptFailed, Proto.AttemptFailed>("vAF",
            e => new Proto.AttemptFailed { AtMs = Ms(e.At) }, p => new V.VerificationEvents.AttemptFailed(At(p.AtMs)));
        Map<V.VerificationEvents.NumberVerified, Proto.NumberVerified>("vNV",
            e => new Proto.NumberVerified { User = e.User.Value, AtMs = Ms(e.At) },
            p => new V.VerificationEvents.NumberVerified(new UserId(p.User), At(p.AtMs)));
        Map<V.VerificationCommands.RequestCode, Proto.RequestCode>("vRC",
            c => new Proto.RequestCode { Phone = c.Phone, Code = c.Code, Channel = (int)c.Channel },
            p => new V.VerificationCommands.RequestCode(p.Phone, p.Code, p.Channel == (int)V.CodeChannel.Voice ? V.CodeChannel.Voice : V.CodeChannel.Sms));
        Map<V.VerificationCommands.VerifyCode, Proto.VerifyCode>("vVC",
            c => new Proto.VerifyCode { Phone = c.Phone, Code = c.Code, NewUser = c.NewUserId.Value },
            p => new V.VerificationCommands.VerifyCode(p.Phone, p.Code, new UserId(p.NewUser)));
        Map<V.VerificationReplies.CodeSent, Proto.CodeSent>("vCS",
            r => new Proto.CodeSent { ExpiresAtMs = Ms(r.ExpiresAt), RetryAfterMs = (long)r.RetryAfter.TotalMilliseconds },
            p => new V.VerificationReplies.CodeSent(At(p.ExpiresAtMs), TimeSpan.FromMilliseconds(p.RetryAfterMs)));
        Map<V.VerificationReplies.Verified, Proto.Verified>("vVD",
            r => new Proto.Verified { User = r.User.Value, NewUser = r.NewUser }, p => new V.VerificationReplies.Verified(new UserId(p.User), p.NewUser));
        Map<V.VerificationReplies.Rejected, Proto.VerificationRejected>("vRJ",
            r => new Proto.VerificationRejected { Error = (int)r.Error, Reason = r.Reason, RetryAfterMs = (long)r.RetryAfter.TotalMilliseconds },
            p => new V.VerificationReplies.Rejected((VerificationError)p.Error, p.Reason, TimeSpan.FromMilliseconds(p.RetryAfterMs)));
    }

    private static readonly Comparer<DeviceId> DeviceOrder = Comparer<DeviceId>.Create((a, b) => a.Value.CompareTo(b.Value));

    private static ImmutableHashSet<UserId> Users(IEnumerable<string> ids) => ids.Select(u => new UserId(u)).ToImmutableHashSet();

    private static Proto.Device ToProto(DeviceRecord d) =>
        new() { Id = d.Id.Value, TokenHash = Bytes(d.TokenHash), Name = d.Name, LinkedAtMs = Ms(d.LinkedAt), Platform = d.Platform, LastSeenMs = d.LastSeen is { } t ? Ms(t) : 0,
            RegistrationId = d.RegistrationId, Push = ToProto(d.Push) };

    private static DeviceRecord FromProto(Proto.Device p) =>
        new(new DeviceId(p.Id), p.TokenHash.ToByteArray(), p.Name, At(p.LinkedAtMs), p.Platform, p.LastSeenMs == 0 ? null : At(p.LastSeenMs), p.RegistrationId,
            FromProto(p.Push));

    private static Proto.PushRegistration? ToProto(PushRegistration? r) => r is null ? null
        : new() { Platform = r.Platform, Token = r.Token, VoipToken = r.VoipToken, AppId = r.AppId, Sandbox = r.Sandbox };

    private static PushRegistration? FromProto(Proto.PushRegistration? p) => p is null ? null : new(p.Platform, p.Token, p.VoipToken, p.AppId, p.Sandbox);

    private static Proto.ChatId ToProto(ChatId c) => new() { IsGroup = c.IsGroup, Id = c.Id };

    private static ChatId FromProto(Proto.ChatId? p) => new(p?.IsGroup ?? false, p?.Id ?? "");

    private static Proto.DoNotDisturb ToProto(DoNotDisturb d) =>
        new() { Enabled = d.Enabled, UntilMs = d.Until is { } u ? UntilMs(u) : 0, AllowCalls = d.AllowCalls };

    private static DoNotDisturb FromProto(Proto.DoNotDisturb? p) =>
        p is null ? DoNotDisturb.Off : new(p.Enabled, p.UntilMs == 0 ? null : UntilAt(p.UntilMs), p.AllowCalls);

    /// <summary>An end time in unix ms, with <see cref="DateTimeOffset.MaxValue"/> (forever) as int64 max: it has no exact ms value.</summary>
    private static long UntilMs(DateTimeOffset t) => t == DateTimeOffset.MaxValue ? long.MaxValue : Ms(t);

    private static DateTimeOffset UntilAt(long ms) => ms == long.MaxValue ? DateTimeOffset.MaxValue : At(ms);

    private static Proto.Profile ToProto(Profile p) => new() { Name = p.Name, About = p.About, PhotoMediaId = p.PhotoMediaId };

    private static Profile FromProto(Proto.Profile p) => new(p.Name, p.About, p.PhotoMediaId);

    private static Proto.Privacy ToProto(PrivacySettings p) =>
        new() { LastSeen = (int)p.LastSeen, Photo = (int)p.Photo, About = (int)p.About, ReadReceipts = p.ReadReceipts };

    private static PrivacySettings FromProto(Proto.Privacy p) =>
        new((Visibility)p.LastSeen, (Visibility)p.Photo, (Visibility)p.About, p.ReadReceipts);
}
