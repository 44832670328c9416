using Akka.WhatsApp.Domain.Groups;
using Akka.WhatsApp.Domain.Mailbox;
using Google.Protobuf;
using MailboxProto = Akka.WhatsApp.Cluster.Storage.Mailbox;
using GroupProto = Akka.WhatsApp.Cluster.Storage.Groups;
using SerializationException = System.Runtime.Serialization.SerializationException;

namespace Akka.WhatsApp.Cluster.Serialization;

/// <summary>Conversions between domain values and storage messages that several serializers share.</summary>
internal static class StorageMapping
{
    public static long Ms(DateTimeOffset t) => t.ToUnixTimeMilliseconds();

    public static DateTimeOffset At(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    public static ByteString Bytes(byte[] b) => ByteString.CopyFrom(b);

    public static ByteString Bytes(MessageId id) => ByteString.CopyFrom(id.ToByteArray());

    public static ByteString OptionalBytes(MessageId? id) => id is { } v ? Bytes(v) : ByteString.Empty;

    public static MessageId? OptionalId(ByteString bytes) => bytes.IsEmpty ? null : IdOf(bytes);

    public static ImmutableArray<MessageId> Ids(IEnumerable<ByteString> ids) => [.. ids.Select(IdOf)];

    public static UserId? UserOrNull(string s) => s.Length == 0 ? null : new UserId(s);

    public static GroupId? GroupOrNull(string s) => s.Length == 0 ? null : new GroupId(s);

    public static ImmutableArray<UserId> Users(IEnumerable<string> users) => [.. users.Select(u => new UserId(u))];

    public static MessageId IdOf(ByteString bytes) =>
        MessageId.TryFrom(bytes.Span, out var id)
            ? id
            : throw new SerializationException($"a stored message id has {bytes.Length} bytes, expected 16");

    public static MailboxProto.MessageMeta MetaToProto(MessageMeta m) => new()
    {
        Kind = m.Kind,
        ReplyTo = OptionalBytes(m.ReplyTo),
        ForwardCount = m.ForwardCount,
        Mentions = { m.Mentions },
        Target = OptionalBytes(m.Target),
        ClientTimestampMs = m.ClientTimestamp,
        Silent = m.Silent,
        SyncTo = m.SyncTo?.Value ?? "",
        GroupId = m.Group?.Value ?? "",
        GroupSeq = m.GroupSeq,
        GroupEvent = m.GroupEvent is { } change ? ChangeToProto(change) : null,
        DeviceList = m.DeviceList is { } list ? new MailboxProto.DeviceListChange { Current = { list.Current }, Added = { list.Added }, Removed = { list.Removed } } : null,
        IdentityKey = m.IdentityKey is { } key ? new MailboxProto.IdentityKeyChange { DeviceId = key.Device, Key = ByteString.CopyFrom(key.Key) } : null,
        MissedCall = m.MissedCall is { } missed
            ? new MailboxProto.MissedCall
            {
                CallId = missed.Call.Value, GroupId = missed.Group?.Value ?? "", Media = (int)missed.Media, OfferedAtMs = Ms(missed.OfferedAt),
                Caller = missed.Caller.Value, Callee = missed.Callee.Value,
            }
            : null,
        Scheduled = m.Scheduled is { } update ? ScheduledUpdateToProto(update) : null,
        ScheduledForMs = m.ScheduledFor is { } at ? Ms(at) : 0,
        HistorySync = m.HistorySync is { } sync
            ? new MailboxProto.HistorySyncRequested
            {
                SyncId = ByteString.CopyFrom(sync.Sync.ToBytes()), DeviceId = sync.Companion.Value, MaxDays = sync.MaxDays, MaxMessages = sync.MaxMessages,
            }
            : null,
    };

    public static MailboxProto.ScheduledUpdate ScheduledUpdateToProto(Domain.Scheduling.ScheduledUpdate u) => new()
    {
        MessageId = Bytes(u.Message), ToUser = u.To?.Value ?? "", GroupId = u.Group?.Value ?? "", Outcome = (int)u.Outcome, SendAtMs = Ms(u.SendAt),
        FromDevice = u.FromDevice.Value, Delivered = u.Delivered, Reason = u.Reason, ResendBy = u.ResendBy.Value,
        Resend =
        {
            u.Resend.Select(r => new MailboxProto.DeviceMismatch { User = r.User.Value, Missing = { r.Missing }, Extra = { r.Extra }, Stale = { r.Stale } }),
        },
    };

    public static Domain.Scheduling.ScheduledUpdate ScheduledUpdateFromProto(MailboxProto.ScheduledUpdate p) => new(
        IdOf(p.MessageId), UserOrNull(p.ToUser), GroupOrNull(p.GroupId), (Domain.Scheduling.ScheduledOutcome)p.Outcome, At(p.SendAtMs), new DeviceId(p.FromDevice),
        p.Delivered, [.. p.Resend.Select(r => new Domain.Messaging.DeviceMismatch(new UserId(r.User), [.. r.Missing], [.. r.Extra], [.. r.Stale]))], p.Reason,
        new DeviceId(p.ResendBy));

    public static MessageMeta MetaFromProto(MailboxProto.MessageMeta? p) => p is null
        ? new MessageMeta(0)
        : new MessageMeta(p.Kind, OptionalId(p.ReplyTo), p.ForwardCount, [.. p.Mentions], OptionalId(p.Target), p.ClientTimestampMs, p.Silent,
            UserOrNull(p.SyncTo), GroupOrNull(p.GroupId), p.GroupSeq, p.GroupEvent is { } change ? ChangeFromProto(change) : null,
            p.DeviceList is { } list ? new DeviceListChange([.. list.Current], [.. list.Added], [.. list.Removed]) : null,
            p.IdentityKey is { } key ? new IdentityKeyChange(key.DeviceId, key.Key.ToByteArray()) : null,
            p.MissedCall is { } missed
                ? new Domain.Calls.MissedCall(new Domain.Calls.CallId(missed.CallId), new UserId(missed.Callee), new UserId(missed.Caller), GroupOrNull(missed.GroupId),
                    (Domain.Calls.CallMedia)missed.Media, At(missed.OfferedAtMs))
                : null,
            p.Scheduled is { } update ? ScheduledUpdateFromProto(update) : null,
            p.ScheduledForMs != 0 ? At(p.ScheduledForMs) : null,
            p.HistorySync is { } sync
                ? new Domain.Sync.HistorySyncRequest(Domain.Sync.SyncId.Of(sync.SyncId.Span), new DeviceId(sync.DeviceId), sync.MaxDays, sync.MaxMessages)
                : null);

    public static MailboxProto.DeviceCiphertext CiphertextToProto(uint device, DeviceCiphertext c) =>
        new() { DeviceId = device, Ciphertext = ByteString.CopyFrom(c.Bytes), Type = c.Type };

    public static IEnumerable<MailboxProto.DeviceCiphertext> CiphertextsToProto(ImmutableSortedDictionary<uint, DeviceCiphertext> ciphertexts) =>
        ciphertexts.Select(kv => CiphertextToProto(kv.Key, kv.Value));

    public static DeviceCiphertext CiphertextFromProto(MailboxProto.DeviceCiphertext c) => new(c.Ciphertext.ToByteArray(), c.Type);

    public static ImmutableSortedDictionary<uint, DeviceCiphertext> CiphertextsFromProto(IEnumerable<MailboxProto.DeviceCiphertext> ciphertexts) =>
        ciphertexts.ToImmutableSortedDictionary(c => c.DeviceId, CiphertextFromProto);

    public static GroupProto.GroupPayload PayloadToProto(GroupPayload payload) => payload switch
    {
        SenderKeyPayload s => new GroupProto.GroupPayload { SenderKey = CiphertextToProto(0, s.Ciphertext) },
        PerDevicePayload p => new GroupProto.GroupPayload
        {
            PerDevice = new GroupProto.PerDevice
            {
                Recipients =
                {
                    p.Ciphertexts.OrderBy(kv => kv.Key.Value, StringComparer.Ordinal).Select(kv => new GroupProto.RecipientCiphertexts
                    {
                        UserId = kv.Key.Value, Devices = { CiphertextsToProto(kv.Value) },
                    }),
                },
            },
        },
        _ => throw new System.Runtime.Serialization.SerializationException($"unknown group payload {payload.GetType().Name}"),
    };

    public static GroupPayload PayloadFromProto(GroupProto.GroupPayload p) => p.PayloadCase switch
    {
        GroupProto.GroupPayload.PayloadOneofCase.SenderKey => new SenderKeyPayload(CiphertextFromProto(p.SenderKey)),
        GroupProto.GroupPayload.PayloadOneofCase.PerDevice => new PerDevicePayload(
            p.PerDevice.Recipients.ToImmutableDictionary(r => new UserId(r.UserId), r => CiphertextsFromProto(r.Devices))),
        _ => throw new System.Runtime.Serialization.SerializationException("a stored group payload is empty"),
    };

    public static GroupProto.GroupSettings SettingsToProto(GroupSettings s) =>
        new() { OnlyAdminsSend = s.OnlyAdminsSend, OnlyAdminsEditInfo = s.OnlyAdminsEditInfo, OnlyAdminsAddMembers = s.OnlyAdminsAddMembers };

    public static GroupSettings SettingsFromProto(GroupProto.GroupSettings p) => new(p.OnlyAdminsSend, p.OnlyAdminsEditInfo, p.OnlyAdminsAddMembers);

    public static GroupProto.GroupChange ChangeToProto(GroupChange c)
    {
        var p = new GroupProto.GroupChange
        {
            Type = (int)c.Type, Actor = c.Actor.Value, Users = { c.Users.Select(u => u.Value) }, Version = c.Version,
            Settings = c.Settings is { } s ? SettingsToProto(s) : null,
        };
        if (c.Name is { } name)
            p.Name = name;
        if (c.Description is { } description)
            p.Description = description;
        if (c.IconMediaId is { } icon)
            p.IconMediaId = icon;
        return p;
    }

    public static GroupChange ChangeFromProto(GroupProto.GroupChange p) => new(
        (GroupChangeType)p.Type, new UserId(p.Actor), Users(p.Users),
        p.HasName ? p.Name : null, p.HasDescription ? p.Description : null, p.HasIconMediaId ? p.IconMediaId : null,
        p.Settings is { } s ? SettingsFromProto(s) : null, p.Version);
}
