using System.Collections.Immutable;
using System.Security.Cryptography;
using Akka.WhatsApp.Domain.Notifications;
using static Akka.WhatsApp.Domain.Accounts.AccountCommands;
using static Akka.WhatsApp.Domain.Accounts.AccountReplies;
using E = Akka.WhatsApp.Domain.Accounts.AccountEvents;

namespace Akka.WhatsApp.Domain.Accounts;

/// <summary>
/// One user's account: phone, linked devices (token hashes only), profile, privacy, contacts, blocks, last seen.
/// Pure: <see cref="Decide"/> turns a command into a reply and events, <see cref="Apply"/> folds an event.
/// </summary>
public sealed record AccountState : IAggregate<AccountState, IAccountCommand, IAccountEvent, IAccountReply>
{
    /// <summary>A primary plus up to four companions.</summary>
    public const int MaxCompanions = 4;

    public const int MaxNameLength = 25;
    public const int MaxAboutLength = 139;

    // Before Empty: static fields initialize in order, and Empty's devices need it.
    private static readonly Comparer<DeviceId> DeviceOrder = Comparer<DeviceId>.Create((x, y) => x.Value.CompareTo(y.Value));

    public static readonly AccountState Empty = new();

    public string? Phone { get; init; }
    public ImmutableSortedDictionary<DeviceId, DeviceRecord> Devices { get; init; } = ImmutableSortedDictionary.Create<DeviceId, DeviceRecord>(DeviceOrder);
    /// <summary>Device ids are never reused, so an old token can never match a new device.</summary>
    public uint LastDeviceId { get; init; }
    public Profile Profile { get; init; } = Profile.Empty;
    public PrivacySettings Privacy { get; init; } = PrivacySettings.Default;
    public ImmutableHashSet<UserId> Contacts { get; init; } = ImmutableHashSet<UserId>.Empty;
    public ImmutableHashSet<UserId> Blocked { get; init; } = ImmutableHashSet<UserId>.Empty;
    public DateTimeOffset? LastSeen { get; init; }
    public NotificationPreferences Notifications { get; init; } = NotificationPreferences.None;
    public byte[] MediaSettings { get; init; } = [];

    /// <summary>Counts the changes of the device list (registrations, links, unlinks): the version of <see cref="DevicesNotice"/>.</summary>
    public long DeviceGeneration { get; init; }

    public bool Exists => Phone is not null;

    public static byte[] HashToken(ReadOnlySpan<byte> token) => SHA256.HashData(token);

    /// <summary>The short identity of a token hash in notices: its first 8 bytes.</summary>
    public static ulong Fingerprint(ReadOnlySpan<byte> tokenHash) => System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(tokenHash);

    /// <summary>The current devices with their tokens, as the user's sessions are told after a change.</summary>
    public AccountNotices.DevicesChanged DevicesNotice(UserId user) =>
        new(user, DeviceGeneration, [.. Devices.Values.Select(d => new DeviceToken(d.Id, d.Fingerprint))]);

    /// <summary>
    /// Who may see this user's presence may have changed with <paramref name="e"/>: their subscribers check again. A block
    /// or unblock also changes whether this user may see the other's presence (<paramref name="other"/>).
    /// </summary>
    public static bool ChangesPresenceAccess(IAccountEvent e, out UserId? other)
    {
        other = e switch
        {
            E.UserBlocked b => b.Target,
            E.UserUnblocked u => u.Target,
            _ => null,
        };
        return e is E.PrivacyChanged or E.ContactsReplaced or E.UserBlocked or E.UserUnblocked;
    }

    /// <summary>
    /// A number registered again starts over (PROTOCOL.md §6): every earlier device, the old primary included, loses
    /// what its mailbox kept for it (encrypted for keys that are gone).
    /// </summary>
    public static IEnumerable<DeviceId> DevicesDroppedByRegistration(IEnumerable<DeviceRecord>? earlier) => earlier?.Select(d => d.Id) ?? [];

    /// <summary>Whether an event changes which devices (and tokens) may act as this user.</summary>
    public static bool ChangesDevices(IAccountEvent e) => e is E.PrimaryRegistered or E.DeviceLinked or E.DeviceUnlinked;

    /// <summary>
    /// The SYSTEM message device_list_changed (PROTOCOL.md §6) for every device of <paramref name="user"/> after a link or an
    /// unlink (this state already includes it), so that the user's other devices start or drop their sessions with it;
    /// null for other events (a registration starts over with the primary alone). Its id follows from the device
    /// generation, so that storing it again after a crash stores it once.
    /// </summary>
    public Mailbox.MailboxCommands.Enqueue? DeviceListMessage(UserId user, IAccountEvent e)
    {
        (ImmutableArray<uint> Added, ImmutableArray<uint> Removed)? change = e switch
        {
            E.DeviceLinked l => ([l.Device.Id.Value], []),
            E.DeviceUnlinked u => ([], [u.Device.Value]),
            _ => null,
        };
        if (change is not { } c)
            return null;
        var id = MessageId.Derived($"device-list\0{user.Value}\0{DeviceGeneration.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
        var meta = new Mailbox.MessageMeta(Mailbox.ContentKinds.System, DeviceList: new Mailbox.DeviceListChange([.. Devices.Keys.Select(d => d.Value)], c.Added, c.Removed));
        return new Mailbox.MailboxCommands.Enqueue(user, id, user, new DeviceId(0), meta,
            ImmutableSortedDictionary<uint, Mailbox.DeviceCiphertext>.Empty.Add(Mailbox.StoredMessage.AllDevices, new Mailbox.DeviceCiphertext([], 0)));
    }

    public (IAccountReply Reply, IReadOnlyList<IAccountEvent> Events) Decide(IAccountCommand command, DateTimeOffset now)
    {
        if (command is RegisterPrimary r)
            return (new Authenticated(DeviceId.Primary, ImmutableSortedSet.Create(DeviceOrder, DeviceId.Primary), r.Phone, DeviceGeneration + 1),
                [new E.PrimaryRegistered(r.Phone, new DeviceRecord(new DeviceId(LastDeviceId + 1), r.TokenHash, r.DeviceName, now, r.Platform))]);
        if (!Exists)
            return (new Rejected(AccountError.NotFound, "no such account"), []);

        return command switch
        {
            Authenticate a => (Devices.TryGetValue(a.Device, out var d) && CryptographicOperations.FixedTimeEquals(d.TokenHash, a.TokenHash)
                ? new Authenticated(a.Device, Devices.Keys.ToImmutableSortedSet(DeviceOrder), Phone!, DeviceGeneration, d.RegistrationId != 0)
                : new Rejected(AccountError.BadCredentials, "unknown device or wrong token"), []),
            LinkDevice l => DecideLink(l, now),
            UnlinkDevice u => DecideUnlink(u),
            GetDevices => (new AccountReplies.Devices(Devices.Values.ToImmutableList()), []),
            SetProfile p => TextLength.CodePoints(p.Profile.Name) > MaxNameLength || TextLength.CodePoints(p.Profile.About) > MaxAboutLength
                ? (new Rejected(AccountError.InvalidArgument, $"name is limited to {MaxNameLength} and about to {MaxAboutLength} code points"), [])
                : (AccountReplies.Done.Instance, p.Profile == Profile ? [] : [new E.ProfileChanged(p.Profile)]),
            SetPrivacy p => (AccountReplies.Done.Instance, p.Privacy == Privacy ? [] : [new E.PrivacyChanged(p.Privacy)]),
            SetContacts c => (AccountReplies.Done.Instance, NewContacts(c) is var next && next.SetEquals(Contacts) ? [] : [new E.ContactsReplaced(next)]),
            Block b => b.Target == b.User
                ? (new Rejected(AccountError.InvalidArgument, "you cannot block yourself"), [])
                : (AccountReplies.Done.Instance, Blocked.Contains(b.Target) ? [] : [new E.UserBlocked(b.Target)]),
            Unblock u => (AccountReplies.Done.Instance, Blocked.Contains(u.Target) ? [new E.UserUnblocked(u.Target)] : []),
            GetBlocked => (new AccountReplies.Blocked(Blocked.Select(u => u.Value).ToImmutableSortedSet(StringComparer.Ordinal)), []),
            RecordLastSeen s => (AccountReplies.Done.Instance, LastSeen >= s.At ? [] : [new E.LastSeenRecorded(s.At)]),
            RecordDeviceSeen s => (AccountReplies.Done.Instance,
                Devices.TryGetValue(s.Device, out var seen) && !(seen.LastSeen >= s.At) ? [new E.DeviceSeen(s.Device, s.At)] : []),
            SetRegistrationId set => Devices.TryGetValue(set.Device, out var keyed)
                ? (AccountReplies.Done.Instance, keyed.RegistrationId == set.RegistrationId ? [] : [new E.RegistrationIdSet(set.Device, set.RegistrationId)])
                : (new Rejected(AccountError.NotFound, $"no device {set.Device.Value}"), []),
            RegisterPush p => Devices.TryGetValue(p.Device, out var pushed)
                ? (AccountReplies.Done.Instance, pushed.Push == p.Registration ? [] : [new E.PushRegistered(p.Device, p.Registration)])
                : (new Rejected(AccountError.NotFound, $"no device {p.Device.Value}"), []),
            MuteChat m => DecideMute(m, now),
            SetDoNotDisturb d => (AccountReplies.Done.Instance, Notifications.DoNotDisturb == d.Setting ? [] : [new E.DoNotDisturbSet(d.Setting)]),
            SetMediaSettings m => (AccountReplies.Done.Instance, MediaSettings.AsSpan().SequenceEqual(m.Settings) ? [] : [new E.MediaSettingsSet(m.Settings)]),
            GetMediaSettings => (new MediaSettingsAre(MediaSettings), []),
            GetNotificationSettings => (new NotificationsAre([.. Notifications.MutesInForce(now)], Notifications.DoNotDisturb.AsOf(now)), []),
            GetPushProfile g => (new PushProfileIs(Devices.TryGetValue(g.Device, out var target) && target.Push is { } push
                ? new PushProfile(push, [.. Notifications.MutesInForce(now)], Notifications.DoNotDisturb.AsOf(now))
                : PushProfile.Nowhere), []),
            RemovePushToken t => (AccountReplies.Done.Instance, WithoutToken(t) is { } removal ? [removal] : []),
            View v => (ViewFor(v.User, v.Viewer), []),
            GetDeliveryInfo d => (new DeliveryInfo([.. Devices.Keys.Select(k => k.Value)], Blocked.Contains(d.Other), SharesPresenceWith(d.Other),
                Privacy.ReadReceipts,
                Devices.Values.Where(k => k.RegistrationId != 0).ToImmutableSortedDictionary(k => k.Id.Value, k => k.RegistrationId)), []),
            GetPrivacy => (new PrivacyIs(Privacy), []),
            _ => (new Rejected(AccountError.InvalidArgument, $"unknown command {command.GetType().Name}"), []),
        };
    }

    /// <summary>The event that drops <paramref name="r"/>'s token from its device, if the device still uses it.</summary>
    private E.PushRegistered? WithoutToken(RemovePushToken r)
    {
        if (r.Token.Length == 0 || !Devices.TryGetValue(r.Device, out var device) || device.Push is not { } push)
            return null;
        if (push.Token == r.Token)
            return new E.PushRegistered(r.Device, null);
        return push.VoipToken == r.Token ? new E.PushRegistered(r.Device, push with { VoipToken = "" }) : null;
    }

    private ImmutableHashSet<UserId> NewContacts(SetContacts c) => c.Mode switch
    {
        ContactsMode.Add => Contacts.Union(c.Contacts),
        ContactsMode.Remove => Contacts.Except(c.Contacts),
        _ => c.Contacts,
    };

    private (IAccountReply, IReadOnlyList<IAccountEvent>) DecideLink(LinkDevice l, DateTimeOffset now)
    {
        if (!Devices.ContainsKey(l.RequestedBy))
            return (new Rejected(AccountError.Forbidden, "only a linked device can link another"), []);
        if (Devices.Count >= 1 + MaxCompanions)
            return (new Rejected(AccountError.TooManyDevices, $"a user has at most {MaxCompanions} companion devices"), []);
        var device = new DeviceRecord(new DeviceId(LastDeviceId + 1), l.TokenHash, l.Name, now, l.Platform);
        return (new AccountReplies.DeviceLinked(device.Id, Phone!), [new E.DeviceLinked(device)]);
    }

    private (IAccountReply, IReadOnlyList<IAccountEvent>) DecideMute(MuteChat m, DateTimeOffset now)
    {
        var until = m.Until ?? now;
        var muting = until > now;
        if (!muting && !Notifications.Mutes.ContainsKey(m.Chat))
            return (AccountReplies.Done.Instance, []);
        if (muting && !Notifications.IsMuted(m.Chat, now) && Notifications.MutesInForce(now).Count() >= NotificationPreferences.MaxMutes)
            return (new Rejected(AccountError.InvalidArgument, $"at most {NotificationPreferences.MaxMutes} chats can be muted at once"), []);
        return (AccountReplies.Done.Instance, [new E.ChatMuted(m.Chat, until, now)]);
    }

    private (IAccountReply, IReadOnlyList<IAccountEvent>) DecideUnlink(UnlinkDevice u)
    {
        if (!Devices.ContainsKey(u.RequestedBy))
            return (new Rejected(AccountError.Forbidden, "only a linked device can unlink one"), []);
        if (u.Device == DeviceId.Primary && u.RequestedBy != DeviceId.Primary)
            return (new Rejected(AccountError.Forbidden, "the primary device cannot be unlinked by another device; register the number again instead"), []);
        if (u.RequestedBy != DeviceId.Primary && u.RequestedBy != u.Device)
            return (new Rejected(AccountError.NotPrimary, "only the primary device can remove another device"), []);
        return Devices.ContainsKey(u.Device)
            ? (AccountReplies.Done.Instance, [new E.DeviceUnlinked(u.Device)])
            : (new Rejected(AccountError.NotFound, $"device {u.Device} is not linked"), []);
    }

    /// <summary>Privacy and blocks applied: a user this account blocked sees nothing but the name.</summary>
    private Viewed ViewFor(UserId self, UserId viewer)
    {
        if (viewer == self)
            return new Viewed(Profile, LastSeen);
        var blocked = Blocked.Contains(viewer);
        bool Visible(Visibility v) => !blocked && (v == Visibility.Everyone || (v == Visibility.Contacts && Contacts.Contains(viewer)));
        var profile = new Profile(Profile.Name, Visible(Privacy.About) ? Profile.About : "", Visible(Privacy.Photo) ? Profile.PhotoMediaId : "");
        return new Viewed(profile, Visible(Privacy.LastSeen) ? LastSeen : null);
    }

    /// <summary>Whether this account lets <paramref name="other"/> see its presence and last seen.</summary>
    public bool SharesPresenceWith(UserId other) =>
        !Blocked.Contains(other) &&
        (Privacy.LastSeen == Visibility.Everyone || (Privacy.LastSeen == Visibility.Contacts && Contacts.Contains(other)));

    public AccountState Apply(IAccountEvent @event) => @event switch
    {
        E.PrimaryRegistered r => this with
        {
            Phone = r.Phone,
            // Re-registration of the number starts over with a new primary: every earlier device is unlinked.
            Devices = Devices.Clear().Add(DeviceId.Primary, r.Device with { Id = DeviceId.Primary }),
            LastDeviceId = Math.Max(LastDeviceId, r.Device.Id.Value),
            DeviceGeneration = DeviceGeneration + 1,
        },
        E.DeviceLinked l => this with
        {
            Devices = Devices.SetItem(l.Device.Id, l.Device), LastDeviceId = Math.Max(LastDeviceId, l.Device.Id.Value), DeviceGeneration = DeviceGeneration + 1,
        },
        E.DeviceUnlinked u => this with { Devices = Devices.Remove(u.Device), DeviceGeneration = DeviceGeneration + 1 },
        E.DeviceSeen s => Devices.TryGetValue(s.Device, out var d) ? this with { Devices = Devices.SetItem(s.Device, d with { LastSeen = s.At }) } : this,
        E.PushRegistered p => Devices.TryGetValue(p.Device, out var d) ? this with { Devices = Devices.SetItem(p.Device, d with { Push = p.Registration }) } : this,
        E.ChatMuted m => this with { Notifications = Notifications.Muted(m.Chat, m.Until, m.At) },
        E.DoNotDisturbSet d => this with { Notifications = Notifications with { DoNotDisturb = d.Setting } },
        E.MediaSettingsSet m => this with { MediaSettings = m.Settings },
        E.RegistrationIdSet r => Devices.TryGetValue(r.Device, out var d)
            ? this with { Devices = Devices.SetItem(r.Device, d with { RegistrationId = r.RegistrationId }) }
            : this,
        E.ProfileChanged p => this with { Profile = p.Profile },
        E.PrivacyChanged p => this with { Privacy = p.Privacy },
        E.ContactsReplaced c => this with { Contacts = c.Contacts },
        E.UserBlocked b => this with { Blocked = Blocked.Add(b.Target) },
        E.UserUnblocked u => this with { Blocked = Blocked.Remove(u.Target) },
        E.LastSeenRecorded s => this with { LastSeen = s.At },
        _ => this,
    };
}
