using Akka.WhatsApp.Domain.Mailbox;
using Akka.WhatsApp.Domain.Messaging;
using Google.Protobuf;
using DeviceCiphertext = Akka.WhatsApp.Domain.Mailbox.DeviceCiphertext;
using ReceiptType = Akka.WhatsApp.Domain.Mailbox.ReceiptType;
using WireProfile = Akka.WhatsApp.Protocol.Profile;
using WireReceiptType = Akka.WhatsApp.Protocol.ReceiptType;

namespace Akka.WhatsApp.Edge.Sessions;

/// <summary>Conversions between wire packets and domain records. The only place that knows both.</summary>
public static partial class WireMapping
{
    public static ulong Ms(DateTimeOffset t) => (ulong)t.ToUnixTimeMilliseconds();

    /// <summary>The last unix millisecond a DateTimeOffset can hold (9999-12-31).</summary>
    public const long MaxMs = 253_402_300_799_999;

    public static ByteString Bytes(MessageId id) => ByteString.CopyFrom(id.ToByteArray());

    public static ByteString Bytes(MessageId? id) => id is { } v ? Bytes(v) : ByteString.Empty;

    /// <summary>An optional message id: empty is none, 16 bytes is one, anything else is invalid.</summary>
    public static bool TryOptionalId(ByteString bytes, out MessageId? id)
    {
        id = null;
        if (bytes.IsEmpty)
            return true;
        if (!MessageId.TryFrom(bytes.Span, out var v))
            return false;
        id = v;
        return true;
    }

    public static ImmutableSortedDictionary<uint, DeviceCiphertext> Ciphertexts(IEnumerable<Protocol.DeviceCiphertext> wire) =>
        wire.ToImmutableSortedDictionary(c => c.DeviceId, c => new DeviceCiphertext(c.Ciphertext.ToByteArray(), (int)c.Type));

    /// <summary>The registration ids the sender encrypted for (§8.2), for the devices that name one.</summary>
    public static ImmutableSortedDictionary<uint, uint> Registrations(IEnumerable<Protocol.DeviceCiphertext> wire) =>
        wire.Where(c => c.RegistrationId != 0).ToImmutableSortedDictionary(c => c.DeviceId, c => c.RegistrationId);

    public static Frame Deliver(MailboxEntry entry, DeviceId device) => entry switch
    {
        StoredMessage m => new Frame { Deliver = Deliver(m, device) },
        StoredReceipt r => new Frame { Receipt = Receipt(r) },
        _ => throw new ArgumentOutOfRangeException(nameof(entry), entry.GetType().Name, "unknown mailbox entry"),
    };

    private static Deliver Deliver(StoredMessage m, DeviceId device)
    {
        var c = m.IsFor(device) ? m.CiphertextFor(device) : null;
        var d = new Deliver
        {
            Seq = (ulong)m.Seq,
            MessageId = Bytes(m.MessageId),
            FromUserId = m.From.Value,
            FromDeviceId = m.FromDevice.Value,
            ServerTimestamp = Ms(m.ServerTimestamp),
            Kind = (ContentKind)m.Meta.Kind,
            Ciphertext = c is null ? ByteString.Empty : ByteString.CopyFrom(c.Bytes),
            CiphertextType = (CiphertextType)(c?.Type ?? 0),
            ReplyToMessageId = Bytes(m.Meta.ReplyTo),
            ForwardCount = m.Meta.ForwardCount,
            TargetMessageId = Bytes(m.Meta.Target),
            ClientTimestamp = (ulong)Math.Max(0, m.Meta.ClientTimestamp),
            ToUserId = m.Meta.SyncTo?.Value ?? "",
            GroupId = m.Meta.Group?.Value ?? "",
            GroupSeq = (ulong)Math.Max(0, m.Meta.GroupSeq),
        };
        d.Mentions.AddRange(m.Meta.Mentions);
        if (m.Meta.GroupEvent is { } change)
            d.System = new SystemEvent { GroupEvent = Wire(change) };
        if (m.Meta.IdentityKey is { } key)
            d.System = new SystemEvent { IdentityKeyChanged = new IdentityKeyChanged { UserId = m.From.Value, DeviceId = key.Device, IdentityKey = ByteString.CopyFrom(key.Key) } };
        if (m.Meta.DeviceList is { } list)
            d.System = new SystemEvent { DeviceListChanged = new DeviceListChanged { DeviceIds = { list.Current }, Added = { list.Added }, Removed = { list.Removed } } };
        if (m.Meta.MissedCall is { } missed)
        {
            d.System = new SystemEvent
            {
                MissedCall = new MissedCall
                {
                    CallId = ByteString.CopyFrom(missed.Call.ToBytes()), FromUserId = missed.Caller.Value, GroupId = missed.Group?.Value ?? "",
                    Media = Wire(missed.Media), At = Ms(missed.OfferedAt),
                },
            };
        }
        if (m.Meta.Scheduled is { } update)
            d.System = new SystemEvent { ScheduledUpdate = Wire(update) };
        if (m.Meta.ScheduledFor is { } scheduledFor)
            d.ScheduledFor = Ms(scheduledFor);
        if (m.Meta.HistorySync is { } sync)
        {
            d.System = new SystemEvent
            {
                HistorySyncRequested = new HistorySyncRequested
                {
                    SyncId = ByteString.CopyFrom(sync.Sync.ToBytes()), DeviceId = sync.Companion.Value, MaxDays = sync.MaxDays, MaxMessages = sync.MaxMessages,
                },
            };
        }
        return d;
    }

    public static Protocol.CallMedia Wire(Domain.Calls.CallMedia media) => media == Domain.Calls.CallMedia.Video ? Protocol.CallMedia.Video : Protocol.CallMedia.Audio;

    /// <summary>
    /// A call's push as the device sees it (§15): an offer carries only this device's ciphertext (none on the caller's other
    /// devices); server-made signals have no sender.
    /// </summary>
    public static Frame CallSignal(Domain.Calls.CallPush p)
    {
        var id = ByteString.CopyFrom(p.Call.ToBytes());
        var signal = new Protocol.CallSignal
        {
            CallId = id, FromUserId = p.From?.Value ?? "", FromDeviceId = p.FromDevice, Timestamp = Ms(p.At), GroupId = p.Group?.Value ?? "",
        };
        var ciphertext = ByteString.CopyFrom(p.Ciphertext);
        switch (p.Kind)
        {
            case Domain.Calls.CallPushKind.Offer:
                var offer = new CallOffer { CallId = id, ToUserId = p.Callee?.Value ?? "", GroupId = p.Group?.Value ?? "", Media = Wire(p.Media) };
                if (p.Ciphertext.Length > 0)
                    offer.Offers.Add(new RecipientCiphertext { UserId = p.To.Value, Device = new Protocol.DeviceCiphertext { DeviceId = p.Device, Ciphertext = ciphertext } });
                signal.Offer = offer;
                break;
            case Domain.Calls.CallPushKind.Answer:
                signal.Answer = new CallAnswer { CallId = id, ToUserId = p.To.Value, ToDeviceId = p.Device, Ciphertext = ciphertext };
                break;
            case Domain.Calls.CallPushKind.IceCandidate:
                signal.IceCandidate = new IceCandidate { CallId = id, ToUserId = p.To.Value, ToDeviceId = p.Device, Ciphertext = ciphertext };
                break;
            case Domain.Calls.CallPushKind.Ringing:
                signal.Ringing = new CallRinging { CallId = id, ToUserId = p.To.Value };
                break;
            case Domain.Calls.CallPushKind.Busy:
                signal.Busy = new CallBusy { CallId = id, ToUserId = p.To.Value };
                break;
            case Domain.Calls.CallPushKind.Reject:
                signal.Reject = new CallReject { CallId = id };
                break;
            case Domain.Calls.CallPushKind.Participants:
                var list = new CallParticipants();
                list.Participants.AddRange(p.Participants.Select(x => new Protocol.CallParticipant { UserId = x.User.Value, DeviceId = x.Device.Value, Media = Wire(x.Media) }));
                signal.Participants = list;
                break;
            default:
                signal.Hangup = new CallHangup { CallId = id, Reason = (Protocol.CallEndReason)(int)p.Reason };
                break;
        }
        return new Frame { CallSignal = signal };
    }

    private static Receipt Receipt(StoredReceipt r)
    {
        var w = new Receipt
        {
            Seq = (ulong)r.Seq,
            FromUserId = r.From.Value,
            FromDeviceId = r.FromDevice.Value,
            Type = (WireReceiptType)(int)r.Type,
            Timestamp = Ms(r.ServerTimestamp),
            GroupId = r.Group?.Value ?? "",
            ToUserId = r.SyncTo?.Value ?? "",
        };
        w.MessageIds.AddRange(r.MessageIds.Select(Bytes));
        return w;
    }

    public static ErrorCode ErrorOf(SendError error) => error switch
    {
        SendError.NotFound => ErrorCode.NotFound,
        SendError.Blocked => ErrorCode.Blocked,
        SendError.StaleDevices => ErrorCode.StaleDevices,
        SendError.EditWindowExpired => ErrorCode.EditWindowExpired,
        SendError.SenderRemoved => ErrorCode.DeviceRemoved,
        SendError.ScheduleTooFar => ErrorCode.ScheduleTooFar,
        SendError.TooManyScheduled => ErrorCode.RateLimited,
        _ => ErrorCode.InvalidArgument,
    };

    public static Protocol.ScheduledUpdate Wire(Domain.Scheduling.ScheduledUpdate u) => new()
    {
        MessageId = Bytes(u.Message), ToUserId = u.To?.Value ?? "", GroupId = u.Group?.Value ?? "", Outcome = (Protocol.ScheduledOutcome)(int)u.Outcome,
        SendAt = Ms(u.SendAt), FromDeviceId = u.FromDevice.Value, Delivered = u.Delivered, Reason = u.Reason, Resend = { u.Resend.Select(Wire) },
        ResendByDeviceId = u.ResendBy.Value,
    };

    public static StaleDevices Wire(DeviceMismatch m)
    {
        var stale = new StaleDevices { UserId = m.User.Value };
        stale.MissingDeviceIds.AddRange(m.Missing);
        stale.ExtraDeviceIds.AddRange(m.Extra);
        stale.StaleDeviceIds.AddRange(m.Stale);
        return stale;
    }

    public static ReceiptType? ReceiptTypeOf(WireReceiptType type) => type switch
    {
        WireReceiptType.Delivered => ReceiptType.Delivered,
        WireReceiptType.Read => ReceiptType.Read,
        WireReceiptType.Played => ReceiptType.Played,
        _ => null,
    };

    /// <summary>Wire Visibility is 1-based with 0 = "unchanged"; the domain's is 0-based.</summary>
    public static Domain.Accounts.Visibility? VisibilityOf(Protocol.Visibility v) =>
        v == Protocol.Visibility.Unspecified ? null : (Domain.Accounts.Visibility)((int)v - 1);

    public static Protocol.Visibility Wire(Domain.Accounts.Visibility v) => (Protocol.Visibility)((int)v + 1);

    public static Protocol.PrivacySettings Wire(Domain.Accounts.PrivacySettings p) => new()
    {
        LastSeen = Wire(p.LastSeen),
        ProfilePhoto = Wire(p.Photo),
        About = Wire(p.About),
        ReadReceipts = p.ReadReceipts,
    };

    public static WireProfile Wire(UserId user, Domain.Accounts.Profile p, DateTimeOffset? lastSeen) => new()
    {
        UserId = user.Value,
        Name = p.Name,
        About = p.About,
        PhotoMediaId = p.PhotoMediaId,
        LastSeen = lastSeen is { } t ? Ms(t) : 0,
    };
}
