using System.Collections.Immutable;

namespace Akka.WhatsApp.Domain.Accounts;

/// <summary>Marker for every message addressed to a user's Account entity (the shard key is the user).</summary>
public interface IAccountCommand
{
    UserId User { get; }
}

/// <summary>Marker for the events an Account persists.</summary>
public interface IAccountEvent;

/// <summary>Marker for the replies an Account sends back.</summary>
public interface IAccountReply;

/// <summary>Marker for what an Account publishes to the user's live sessions.</summary>
public interface IAccountNotice;

/// <summary>Who may see a piece of a user's information.</summary>
public enum Visibility
{
    Everyone = 0,
    Contacts = 1,
    Nobody = 2,
}

/// <summary>How uploaded contacts change the stored set.</summary>
public enum ContactsMode
{
    Replace = 0,
    Add = 1,
    Remove = 2,
}

/// <summary>
/// A linked device: only the SHA-256 of its token is stored. <paramref name="Platform"/> is the wire Platform value
/// it reported when it registered or was linked (0: not reported); <paramref name="LastSeen"/> when its last
/// connection ended.
/// </summary>
public sealed record DeviceRecord(DeviceId Id, byte[] TokenHash, string Name, DateTimeOffset LinkedAt, int Platform = 0, DateTimeOffset? LastSeen = null,
    uint RegistrationId = 0, PushRegistration? Push = null)
{
    /// <summary>The token's identity in notices between nodes: the first 8 bytes of its hash, never the token.</summary>
    public ulong Fingerprint => AccountState.Fingerprint(TokenHash);
}

/// <summary>A device as a session identifies itself: the id, and which token it logged in with (a re-registered primary has another).</summary>
public readonly record struct DeviceToken(DeviceId Device, ulong Fingerprint);

public sealed record Profile(string Name, string About, string PhotoMediaId)
{
    public static readonly Profile Empty = new("", "", "");
}

public sealed record PrivacySettings(Visibility LastSeen, Visibility Photo, Visibility About, bool ReadReceipts)
{
    public static readonly PrivacySettings Default = new(Visibility.Everyone, Visibility.Everyone, Visibility.Everyone, true);
}

public static class AccountCommands
{
    /// <summary>A verified phone number (re)registers its primary device; any earlier devices are unlinked.</summary>
    public sealed record RegisterPrimary(UserId User, string Phone, byte[] TokenHash, string DeviceName, int Platform = 0) : IAccountCommand;

    /// <summary>Checks a device's token.</summary>
    public sealed record Authenticate(UserId User, DeviceId Device, byte[] TokenHash) : IAccountCommand;

    /// <summary>Links a companion device (up to <see cref="AccountState.MaxCompanions"/>), asked for by a linked device.</summary>
    public sealed record LinkDevice(UserId User, DeviceId RequestedBy, byte[] TokenHash, string Name, int Platform = 0) : IAccountCommand;

    /// <summary>Unlinks a device: its token stops working at once. The primary cannot be unlinked (re-register instead).</summary>
    public sealed record UnlinkDevice(UserId User, DeviceId RequestedBy, DeviceId Device) : IAccountCommand;

    public sealed record GetDevices(UserId User) : IAccountCommand;

    public sealed record SetProfile(UserId User, Profile Profile) : IAccountCommand;

    public sealed record SetPrivacy(UserId User, PrivacySettings Privacy) : IAccountCommand;

    /// <summary>Replaces the set of registered users found in the owner's uploaded contacts.</summary>
    public sealed record SetContacts(UserId User, ImmutableHashSet<UserId> Contacts, ContactsMode Mode = ContactsMode.Replace) : IAccountCommand;

    public sealed record Block(UserId User, UserId Target) : IAccountCommand;

    public sealed record Unblock(UserId User, UserId Target) : IAccountCommand;

    public sealed record GetBlocked(UserId User) : IAccountCommand;

    public sealed record GetPrivacy(UserId User) : IAccountCommand;

    /// <summary>The last device went offline at <paramref name="At"/>.</summary>
    public sealed record RecordLastSeen(UserId User, DateTimeOffset At) : IAccountCommand;

    /// <summary>A connection of <paramref name="Device"/> ended at <paramref name="At"/> (its last-seen time in the device list).</summary>
    public sealed record RecordDeviceSeen(UserId User, DeviceId Device, DateTimeOffset At) : IAccountCommand;

    /// <summary>
    /// <paramref name="Device"/> published keys under <paramref name="RegistrationId"/> (random per install, PROTOCOL.md §13):
    /// sends encrypted for another install of the device are refused as stale (§8.2).
    /// </summary>
    public sealed record SetRegistrationId(UserId User, DeviceId Device, uint RegistrationId) : IAccountCommand;

    /// <summary>Where to push <paramref name="Device"/> (PROTOCOL.md §16); null removes its registration.</summary>
    public sealed record RegisterPush(UserId User, DeviceId Device, PushRegistration? Registration) : IAccountCommand;

    /// <summary>Mutes <paramref name="Chat"/> until <paramref name="Until"/> (<see cref="DateTimeOffset.MaxValue"/>: forever); null or a past time unmutes.</summary>
    public sealed record MuteChat(UserId User, ChatId Chat, DateTimeOffset? Until) : IAccountCommand;

    public sealed record SetDoNotDisturb(UserId User, DoNotDisturb Setting) : IAccountCommand;

    /// <summary>
    /// The user's media settings (auto-download rules, PROTOCOL.md §12), shared by all their devices: the edge's
    /// serialized wire message, kept as given (empty: never set).
    /// </summary>
    public sealed record SetMediaSettings(UserId User, byte[] Settings) : IAccountCommand;

    /// <summary>Answered by <see cref="AccountReplies.MediaSettingsAre"/>.</summary>
    public sealed record GetMediaSettings(UserId User) : IAccountCommand;

    /// <summary>The mutes in force and do-not-disturb (<see cref="AccountReplies.NotificationsAre"/>).</summary>
    public sealed record GetNotificationSettings(UserId User) : IAccountCommand;

    /// <summary>What the push pipeline needs to decide about <paramref name="Device"/> (<see cref="AccountReplies.PushProfileIs"/>).</summary>
    public sealed record GetPushProfile(UserId User, DeviceId Device) : IAccountCommand;

    /// <summary>
    /// A push provider said <paramref name="Token"/> is no longer valid (APNs 410 / BadDeviceToken, FCM UNREGISTERED): the
    /// device's registration goes if it still uses that token (as its VoIP token, only that goes). A newer token stays.
    /// </summary>
    public sealed record RemovePushToken(UserId User, DeviceId Device, string Token) : IAccountCommand;

    /// <summary>
    /// What a message between this user and <paramref name="Other"/> needs: this user's current devices and
    /// whether this user blocks the other. Asked of both sides of every 1:1 send.
    /// </summary>
    public sealed record GetDeliveryInfo(UserId User, UserId Other) : IAccountCommand;

    /// <summary>What <paramref name="Viewer"/> may see of this user (profile, last seen), with privacy and blocks applied.</summary>
    public sealed record View(UserId User, UserId Viewer) : IAccountCommand;
}

public static class AccountEvents
{
    public sealed record PrimaryRegistered(string Phone, DeviceRecord Device) : IAccountEvent;

    public sealed record DeviceLinked(DeviceRecord Device) : IAccountEvent;

    public sealed record DeviceUnlinked(DeviceId Device) : IAccountEvent;

    public sealed record ProfileChanged(Profile Profile) : IAccountEvent;

    public sealed record PrivacyChanged(PrivacySettings Privacy) : IAccountEvent;

    public sealed record ContactsReplaced(ImmutableHashSet<UserId> Contacts) : IAccountEvent;

    public sealed record UserBlocked(UserId Target) : IAccountEvent;

    public sealed record UserUnblocked(UserId Target) : IAccountEvent;

    public sealed record LastSeenRecorded(DateTimeOffset At) : IAccountEvent;

    public sealed record DeviceSeen(DeviceId Device, DateTimeOffset At) : IAccountEvent;

    public sealed record RegistrationIdSet(DeviceId Device, uint RegistrationId) : IAccountEvent;

    public sealed record PushRegistered(DeviceId Device, PushRegistration? Registration) : IAccountEvent;

    /// <summary><paramref name="Until"/> not after <paramref name="At"/>: unmuted. Mutes expired at <paramref name="At"/> are dropped.</summary>
    public sealed record ChatMuted(ChatId Chat, DateTimeOffset Until, DateTimeOffset At) : IAccountEvent;

    public sealed record DoNotDisturbSet(DoNotDisturb Setting) : IAccountEvent;

    public sealed record MediaSettingsSet(byte[] Settings) : IAccountEvent;
}

/// <summary>What an Account tells the user's live sessions (through the pub-sub topic of the user), on every node.</summary>
public static class AccountNotices
{
    /// <summary>
    /// The account's devices after a change (a link, an unlink, a re-registration). A session whose device, or whose
    /// token, is not among them lost its rights and closes with DEVICE_REMOVED. <paramref name="Generation"/> counts the
    /// changes: a session ignores a notice older than what it knows (notices of one account arrive in order, but a
    /// session may have logged in after a later change).
    /// </summary>
    public sealed record DevicesChanged(UserId User, long Generation, ImmutableArray<DeviceToken> Devices) : IAccountNotice
    {
        public bool Allows(DeviceToken device) => Devices.Contains(device);
    }
}

public static class AccountReplies
{
    public sealed record Done : IAccountReply
    {
        public static readonly Done Instance = new();
    }

    /// <param name="Generation">The account's device generation (see <see cref="AccountNotices.DevicesChanged"/>).</param>
    /// <param name="HasKeys">The device published keys (it has a registration id): its session checks at login whether they run low.</param>
    public sealed record Authenticated(DeviceId Device, ImmutableSortedSet<DeviceId> Devices, string Phone, long Generation = 0, bool HasKeys = false) : IAccountReply;

    public sealed record DeviceLinked(DeviceId Device, string Phone = "") : IAccountReply;

    public sealed record Devices(ImmutableList<DeviceRecord> List) : IAccountReply;

    public sealed record Blocked(ImmutableSortedSet<string> Users) : IAccountReply;

    /// <param name="RegistrationIds">The registration id of each device that published keys (devices without keys are absent).</param>
    public sealed record DeliveryInfo(ImmutableSortedSet<uint> Devices, bool Blocks, bool SharesPresence, bool ReadReceipts,
        ImmutableSortedDictionary<uint, uint>? RegistrationIds = null) : IAccountReply
    {
        public ImmutableSortedDictionary<uint, uint> RegistrationIds { get; init; } = RegistrationIds ?? ImmutableSortedDictionary<uint, uint>.Empty;

        /// <summary>The device's current registration id; 0 while it has published no keys.</summary>
        public uint RegistrationOf(uint device) => RegistrationIds.GetValueOrDefault(device);
    }

    public sealed record PrivacyIs(PrivacySettings Privacy) : IAccountReply;

    /// <summary>The media settings as set (empty: never set, the defaults apply).</summary>
    public sealed record MediaSettingsAre(byte[] Settings) : IAccountReply;

    /// <summary>The mutes in force (chat, until) in chat order, and do-not-disturb as of now.</summary>
    public sealed record NotificationsAre(ImmutableArray<(ChatId Chat, DateTimeOffset Until)> Mutes, DoNotDisturb DoNotDisturb) : IAccountReply;

    /// <summary>One device's push settings (<see cref="Notifications.PushProfile.Nowhere"/> for an unknown device).</summary>
    public sealed record PushProfileIs(Notifications.PushProfile Profile) : IAccountReply;

    /// <summary>What a viewer may see; hidden parts are empty or null.</summary>
    public sealed record Viewed(Profile Profile, DateTimeOffset? LastSeen) : IAccountReply;

    public sealed record Rejected(AccountError Error, string Reason) : IAccountReply;
}

public enum AccountError
{
    NotFound = 1,
    BadCredentials = 2,
    TooManyDevices = 3,
    Forbidden = 4,
    InvalidArgument = 5,
    /// <summary>Only the primary device may do this.</summary>
    NotPrimary = 6,
}
