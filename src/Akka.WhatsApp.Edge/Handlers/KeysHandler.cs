using Akka.Cluster.Tools.PublishSubscribe;
using Akka.WhatsApp.Domain.Keys;
using Akka.WhatsApp.Domain.Mailbox;
using DeviceCiphertext = Akka.WhatsApp.Domain.Mailbox.DeviceCiphertext;
using Akka.WhatsApp.Domain.Presence;
using Google.Protobuf;
using NSec.Cryptography;
using A = Akka.WhatsApp.Domain.Accounts.AccountReplies;
using K = Akka.WhatsApp.Domain.Keys;

namespace Akka.WhatsApp.Edge.Handlers;

/// <summary>
/// The key directory (PROTOCOL.md §13): a device publishes its own public keys, any logged-in user fetches a user's
/// bundles and identity keys. The server checks what it can without private keys: sizes, and that every signed
/// prekey is signed by the identity key it is uploaded with (Ed25519). Bundles are only ever served for the devices
/// the account has now.
/// </summary>
public sealed class KeysHandler : IPacketHandler
{
    public const int IdentityKeySize = 32;      // Ed25519 public key
    public const int PreKeySize = 32;           // X25519 public key
    public const int KemPreKeySize = 1568;      // ML-KEM-1024 encapsulation key
    public const int SignatureSize = 64;        // Ed25519 signature
    public const int MaxAccountSignature = 64;

    public void Register(PacketTable table) => table
        .Request(Frame.PacketOneofCase.UploadKeys, UploadAsync)
        .Request(Frame.PacketOneofCase.FetchPreKeyBundles, FetchAsync)
        .Request(Frame.PacketOneofCase.GetPreKeyCount, CountAsync)
        .Request(Frame.PacketOneofCase.GetIdentityKeys, IdentitiesAsync);

    private static async Task<Frame?> UploadAsync(Frame frame, IEdgeSession session)
    {
        var upload = Checked(frame.UploadKeys, session);
        var reply = await session.AskAsync<IKeyReply>(session.Backend.Keys, upload);
        if (reply is KeyReplies.Rejected rejected)
            throw new RequestException(ErrorCode.InvalidArgument, rejected.Reason);
        // The account keeps the registration id beside the device, where every send already looks (§8.2): checking it
        // costs a send nothing more. Answered once both hold it, so a sender that fetched the new bundle is checked against it.
        if (upload.RegistrationId != 0)
            await session.AskAsync<IAccountReply>(session.Backend.Accounts, new AccountCommands.SetRegistrationId(session.User, session.Device, upload.RegistrationId));
        session.DeviceActor?.Tell(DeviceSessionActor.PreKeysUploaded.Instance);
        var count = (KeyReplies.Count)reply;
        if (count.NewIdentity)
            await AnnounceIdentityAsync(session, upload.IdentityKey);
        return new Frame { PreKeyCount = CountOf(count) };
    }

    /// <summary>How many of the users a device's owner talked with lately learn of its new identity key.</summary>
    public const int MaxAnnounced = 1_000;

    /// <summary>
    /// §13: a device has a new identity key (its first, or a reinstall's), so the users the owner exchanged 1:1 messages
    /// with lately (the window of its mailbox, group members included through their sender-key distributions) get
    /// <c>identity_key_changed</c> as a SYSTEM message, silent (no push). Its id follows from the user, the device and the
    /// key, so an announcement made twice is stored once. Done before the upload is answered; a node that dies in between
    /// leaves it unsaid, and contacts then learn of the new install at their next send (STALE_DEVICES, §8.2).
    /// </summary>
    private static async Task AnnounceIdentityAsync(IEdgeSession session, byte[] key)
    {
        var (user, device, mailboxes) = (session.User, session.Device, session.Backend.Mailboxes);
        if (await session.AskAsync<IMailboxReply>(mailboxes, new MailboxCommands.GetPeers(user, MaxAnnounced)) is not MailboxReplies.PeersAre { Users: var peers }
            || peers.IsEmpty)
            return;
        var id = MessageId.Derived($"identity-key\0{user.Value}\0{device.Value}\0{Convert.ToHexString(key)}");
        var meta = new MessageMeta(ContentKinds.System, Silent: true, IdentityKey: new IdentityKeyChange(device.Value, key));
        var everyDevice = ImmutableSortedDictionary<uint, DeviceCiphertext>.Empty.Add(StoredMessage.AllDevices, new DeviceCiphertext([], 0));
        await Task.WhenAll(peers.Select(peer =>
            session.AskAsync<IMailboxReply>(mailboxes, new MailboxCommands.Enqueue(peer, id, user, new DeviceId(0), meta, everyDevice))));
    }

    /// <summary>The wire upload as a command, or INVALID_ARGUMENT / INVALID_SIGNATURE saying what is wrong.</summary>
    internal static KeyCommands.Upload Checked(UploadKeys u, IEdgeSession session)
    {
        if (!u.IdentityKey.IsEmpty && u.IdentityKey.Length != IdentityKeySize)
            throw new RequestException(ErrorCode.InvalidArgument, $"identity_key is a {IdentityKeySize}-byte Ed25519 public key");
        if (!u.IdentityKey.IsEmpty && u.RegistrationId == 0)
            throw new RequestException(ErrorCode.InvalidArgument, "an upload with identity_key carries the install's non-zero registration_id");
        if (u.AccountSignature.Length > MaxAccountSignature)
            throw new RequestException(ErrorCode.InvalidArgument, $"account_signature has at most {MaxAccountSignature} bytes");
        if (u.OneTimePrekeys.Count > KeyState.MaxOneTimePerUpload || u.OneTimeKemPrekeys.Count > KeyState.MaxOneTimeKemPerUpload)
            throw new RequestException(ErrorCode.InvalidArgument,
                $"at most {KeyState.MaxOneTimePerUpload} one-time prekeys and {KeyState.MaxOneTimeKemPerUpload} one-time KEM prekeys per upload");
        var signed = u.SignedPrekey is { } s ? Key(s.KeyId, s.PublicKey, s.Signature, PreKeySize, "signed_prekey") : null;
        var lastResort = u.KemLastResortPrekey is { } l ? Key(l.KeyId, l.PublicKey, l.Signature, KemPreKeySize, "kem_last_resort_prekey") : null;
        ImmutableArray<K.PublicKey> oneTime = [.. u.OneTimePrekeys.Select(k => Key(k.KeyId, k.PublicKey, null, PreKeySize, "one_time_prekeys"))];
        ImmutableArray<K.PublicKey> oneTimeKem = [.. u.OneTimeKemPrekeys.Select(k => Key(k.KeyId, k.PublicKey, k.Signature, KemPreKeySize, "one_time_kem_prekeys"))];

        // Signed keys are checked here, against the identity key they come with (§13: an upload with signed keys
        // always carries it); the entity then refuses an identity key that is new without the keys signed by it.
        var signedKeys = new[] { signed, lastResort }.OfType<K.PublicKey>().Concat(oneTimeKem).ToList();
        if (signedKeys.Count > 0)
        {
            if (u.IdentityKey.IsEmpty)
                throw new RequestException(ErrorCode.InvalidArgument, "an upload with signed prekeys carries the identity_key that signed them");
            if (!NSec.Cryptography.PublicKey.TryImport(SignatureAlgorithm.Ed25519, u.IdentityKey.Span, KeyBlobFormat.RawPublicKey, out var identity) || identity is null)
                throw new RequestException(ErrorCode.InvalidArgument, "identity_key is not an Ed25519 public key");
            foreach (var key in signedKeys)
                if (!SignatureAlgorithm.Ed25519.Verify(identity, key.Key, key.Signature))
                    throw new RequestException(ErrorCode.InvalidSignature, $"the signature of prekey {key.KeyId} does not verify against identity_key");
        }
        return new KeyCommands.Upload(session.User, session.Device, u.IdentityKey.ToByteArray(), u.RegistrationId, signed, lastResort, oneTime, oneTimeKem,
            u.ReplaceOneTimePrekeys, u.AccountSignature.ToByteArray());
    }

    private static K.PublicKey Key(uint id, ByteString key, ByteString? signature, int size, string field)
    {
        if (key.Length != size)
            throw new RequestException(ErrorCode.InvalidArgument, $"{field}: public_key has {size} bytes, not {key.Length}");
        if (signature is not null && signature.Length != SignatureSize)
            throw new RequestException(ErrorCode.InvalidArgument, $"{field}: signature is a {SignatureSize}-byte Ed25519 signature");
        return new K.PublicKey(id, key.ToByteArray(), signature?.ToByteArray());
    }

    private static async Task<Frame?> FetchAsync(Frame frame, IEdgeSession session)
    {
        var request = frame.FetchPreKeyBundles;
        if (!session.KeyFetches.TryTake())
            throw new RequestException(ErrorCode.RateLimited, $"at most {EdgeSettings.KeyFetchesPerSecond} bundle fetches per second",
                retryAfterMs: 1000 / EdgeSettings.KeyFetchesPerSecond);
        var user = new UserId(request.UserId);
        var current = await CurrentDevicesAsync(session, user);
        var reply = await session.AskAsync<IKeyReply>(session.Backend.Keys,
            new KeyCommands.FetchBundles(user, session.User, [.. request.DeviceIds], current)) as KeyReplies.Bundles
            ?? throw new RequestException(ErrorCode.Internal, "unexpected answer from the key directory");
        foreach (var low in reply.List.Where(b => b.OneTime is not null && b.OneTimeLeft < KeyState.LowWatermark))
            session.Backend.PresenceBus.Tell(new Publish(PresenceTopics.Inbox(user), new KeyNotices.Low(user, new DeviceId(low.Device), (uint)low.OneTimeLeft)));
        var bundles = new PreKeyBundles { UserId = user.Value };
        bundles.Bundles.AddRange(reply.List.Select(ToWire));
        return new Frame { PreKeyBundles = bundles };
    }

    private static async Task<Frame?> CountAsync(Frame frame, IEdgeSession session) =>
        new Frame { PreKeyCount = CountOf(await session.AskAsync<KeyReplies.Count>(session.Backend.Keys, new KeyCommands.GetCount(session.User, session.Device))) };

    private static async Task<Frame?> IdentitiesAsync(Frame frame, IEdgeSession session)
    {
        var user = new UserId(frame.GetIdentityKeys.UserId);
        var current = await CurrentDevicesAsync(session, user);
        var reply = await session.AskAsync<KeyReplies.Identities>(session.Backend.Keys, new KeyCommands.GetIdentities(user, current));
        var keys = new IdentityKeys { UserId = user.Value };
        keys.Devices.AddRange(reply.Devices.Select(d => new Protocol.DeviceIdentity { DeviceId = d.Device, IdentityKey = ByteString.CopyFrom(d.IdentityKey) }));
        return new Frame { IdentityKeys = keys };
    }

    /// <summary>The account's devices now (NOT_FOUND for a user that does not exist): keys of others are never served.</summary>
    private static async Task<ImmutableArray<uint>> CurrentDevicesAsync(IEdgeSession session, UserId user)
    {
        if (user.Value.Length == 0)
            throw new RequestException(ErrorCode.InvalidArgument, "user_id is required");
        if (!(await session.Backend.Directory.ExistingAsync([user], CancellationToken.None)).Contains(user))
            throw new RequestException(ErrorCode.NotFound, $"no user {user}");
        var info = await session.AskAsync<IAccountReply>(session.Backend.Accounts, new AccountCommands.GetDeliveryInfo(user, session.User)) as A.DeliveryInfo
                   ?? throw new RequestException(ErrorCode.NotFound, $"no user {user}");
        return [.. info.Devices];
    }

    private static PreKeyCount CountOf(KeyReplies.Count c) => new()
    {
        OneTimePrekeys = c.OneTime, SignedPrekeyId = c.SignedPreKeyId, OneTimeKemPrekeys = c.OneTimeKem, KemLastResortPrekeyId = c.KemLastResortId,
    };

    private static PreKeyBundle ToWire(KeyBundle b)
    {
        var bundle = new PreKeyBundle
        {
            DeviceId = b.Device,
            RegistrationId = b.Keys.RegistrationId,
            IdentityKey = ByteString.CopyFrom(b.Keys.IdentityKey),
            SignedPrekey = new SignedPreKey
            {
                KeyId = b.Keys.SignedPreKey.KeyId, PublicKey = ByteString.CopyFrom(b.Keys.SignedPreKey.Key),
                Signature = ByteString.CopyFrom(b.Keys.SignedPreKey.Signature ?? []),
            },
            AccountSignature = ByteString.CopyFrom(b.Keys.AccountSignature),
            KemPrekey = new KemPreKey { KeyId = b.Kem.KeyId, PublicKey = ByteString.CopyFrom(b.Kem.Key), Signature = ByteString.CopyFrom(b.Kem.Signature ?? []) },
            KemPrekeyLastResort = b.KemIsLastResort,
        };
        if (b.OneTime is { } oneTime)
            bundle.OneTimePrekey = new PreKey { KeyId = oneTime.KeyId, PublicKey = ByteString.CopyFrom(oneTime.Key) };
        return bundle;
    }
}
