using System.Security.Cryptography;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;

namespace Akka.WhatsApp.Client.Crypto;

/// <summary>What a ciphertext held, and whether its sender's identity key is one this device had not seen for that device before.</summary>
public sealed record Decrypted(E2eContent Content, bool IdentityChanged);

/// <summary>
/// The device's side of the encryption layer, without the network: the keys it publishes, a Double Ratchet session per
/// remote device (started from a fetched bundle with <see cref="Pqxdh"/>, or from a received prekey message), and sender
/// keys per group. <see cref="WhatsAppClient"/> does the fetching and sending around it. Thread-safe (one lock).
/// <para>
/// Durability: a sending step is written to the <see cref="KeyStore"/> before its ciphertext is returned (a step lost
/// in a crash would encrypt the next message under the same key). A receiving step is kept in memory until
/// <see cref="Commit"/>, which the client calls once the decrypted messages are stored: a crash in between leaves the
/// old state on disk, so the redelivered messages decrypt again, and nothing is lost.
/// </para>
/// </summary>
public sealed class EndToEnd
{
    /// <summary>One-time prekeys per upload (the server's limit) and the level below which the SDK tops them up.</summary>
    public const int PreKeyBatch = 100;
    public const int KemPreKeyBatch = 20;
    public static readonly TimeSpan SignedPreKeyRotation = TimeSpan.FromDays(7);

    private readonly object _gate = new();
    /// <summary>Earlier sessions kept per remote device, for messages still in flight under them.</summary>
    public const int MaxPreviousSessions = 4;

    private readonly Dictionary<(string, uint), Sessions> _sessions = [];
    private readonly Dictionary<(string, string, uint), SenderKeyChain> _senderKeys = [];
    private readonly HashSet<(string, uint)> _dirtySessions = [];
    private readonly HashSet<(string, string, uint)> _dirtySenderKeys = [];
    private readonly List<(uint OneTime, uint Kem)> _usedPreKeys = [];

    public EndToEnd(KeyStore keys, string selfUser, uint selfDevice)
    {
        Keys = keys;
        SelfUser = selfUser;
        SelfDevice = selfDevice;
    }

    public KeyStore Keys { get; }
    public string SelfUser { get; }
    public uint SelfDevice { get; }
    public IdentityKeyPair Identity => Keys.Identity;

    // ---- what this device publishes ----

    /// <summary>Everything a device publishes on a new registration: identity, signed and last-resort keys, and full batches of one-time keys.</summary>
    public UploadKeys FullUpload(DateTimeOffset now)
    {
        var upload = new UploadKeys
        {
            IdentityKey = ByteString.CopyFrom(Identity.PublicKey),
            RegistrationId = Identity.RegistrationId,
            SignedPrekey = Keys.NewSignedPreKey(now),
            KemLastResortPrekey = Keys.NewKemPreKeys(1, lastResort: true)[0],
            ReplaceOneTimePrekeys = true,
            AccountSignature = ByteString.CopyFrom(Keys.AccountSignature),
        };
        upload.OneTimePrekeys.AddRange(Keys.NewOneTimePreKeys(PreKeyBatch));
        upload.OneTimeKemPrekeys.AddRange(Keys.NewKemPreKeys(KemPreKeyBatch, lastResort: false));
        return upload;
    }

    /// <summary>The primary's signature over a companion's identity key (PROTOCOL.md §7), made when the primary approves the link.</summary>
    public byte[] SignCompanion(ReadOnlySpan<byte> companionIdentityKey) => Identity.Sign(companionIdentityKey);

    /// <summary>
    /// Whether a companion's bundle (device 2 and up) belongs to the account: its account signature is the primary's
    /// (<paramref name="primaryIdentityKey"/>) over its identity key. Without the check the server could add a device
    /// of its own to a user and read what is sent to it. Primaries (device 1) need none.
    /// </summary>
    public static bool BelongsToAccount(PreKeyBundle bundle, ReadOnlySpan<byte> primaryIdentityKey) =>
        bundle.DeviceId == 1 || (bundle.AccountSignature.Length == Primitives.SignatureSize
            && Primitives.Verify(primaryIdentityKey, bundle.IdentityKey.Span, bundle.AccountSignature.Span));

    /// <summary>
    /// Tops the server's one-time keys up to a full batch each; null when nothing is missing. Like every upload that
    /// carries the identity key (its KEM keys are signed), it names the install's registration id (PROTOCOL.md §13).
    /// </summary>
    public UploadKeys? Replenish(PreKeyCount count)
    {
        var prekeys = PreKeyBatch - (int)Math.Min(count.OneTimePrekeys, PreKeyBatch);
        var kem = KemPreKeyBatch - (int)Math.Min(count.OneTimeKemPrekeys, KemPreKeyBatch);
        if (prekeys < PreKeyBatch / 2 && kem < KemPreKeyBatch / 2)
            return null;
        var upload = new UploadKeys { IdentityKey = ByteString.CopyFrom(Identity.PublicKey), RegistrationId = Identity.RegistrationId };
        upload.OneTimePrekeys.AddRange(Keys.NewOneTimePreKeys(prekeys));
        upload.OneTimeKemPrekeys.AddRange(Keys.NewKemPreKeys(kem, lastResort: false));
        return upload;
    }

    /// <summary>A new signed prekey once the newest is a week old (PROTOCOL.md §13); null when it is not due.</summary>
    public UploadKeys? RotateSignedPreKey(DateTimeOffset now)
    {
        if (Keys.SignedPreKeyCreated is { } created && now - created < SignedPreKeyRotation)
            return null;
        var upload = new UploadKeys
        {
            IdentityKey = ByteString.CopyFrom(Identity.PublicKey), RegistrationId = Identity.RegistrationId, SignedPrekey = Keys.NewSignedPreKey(now),
        };
        Keys.PruneSignedPreKeys();
        return upload;
    }

    // ---- 1:1 sessions ----

    public bool HasSession(string user, uint device)
    {
        lock (_gate)
            return Session(user, device) is not null;
    }

    /// <summary>
    /// Starts a session from a fetched bundle (PQXDH initiator), replacing any earlier one with that device. Returns
    /// true when the device's identity key differs from the one seen before. A badly signed bundle throws.
    /// </summary>
    public bool Start(string user, PreKeyBundle bundle)
    {
        var session = Pqxdh.Initiate(Identity, bundle);
        lock (_gate)
        {
            var sessions = Session(user, bundle.DeviceId) ?? new Sessions();
            sessions.Use(session);
            _sessions[(user, bundle.DeviceId)] = sessions;
            Keys.Save([(user, bundle.DeviceId, sessions.Record)]);
            _dirtySessions.Remove((user, bundle.DeviceId));
        }
        return Keys.SeeIdentity(user, bundle.DeviceId, bundle.IdentityKey.ToByteArray());
    }

    /// <summary>
    /// The server says a device of <paramref name="user"/> has a new identity key (PROTOCOL.md §13, identity_key_changed):
    /// a session with another key is forgotten, so that the next message starts one with the new install, and the key is
    /// recorded. True when the device had another key before (its security code changed). The server is trusted here no
    /// more than for bundles: a user who verified the contact sees the change and may verify again.
    /// </summary>
    public bool SeeNewIdentity(string user, uint device, byte[] identityKey)
    {
        lock (_gate)
        {
            if (Session(user, device) is { } sessions && !sessions.Current.RemoteIdentity.Span.SequenceEqual(identityKey))
                Forget(user, device);
        }
        return Keys.SeeIdentity(user, device, identityKey);
    }

    /// <summary>Forgets the session with a device (it was reinstalled or removed): the next message starts a new one.</summary>
    public void Forget(string user, uint device)
    {
        lock (_gate)
        {
            _sessions.Remove((user, device));
            _dirtySessions.Remove((user, device));
            Keys.DeleteSession(user, device);
        }
    }

    /// <summary>Encrypts <paramref name="content"/> for one device; the session must exist (<see cref="Start"/>). Durable before it returns.</summary>
    public DeviceCiphertext Encrypt(string user, uint device, E2eContent content) =>
        TryEncrypt(user, device, content) ?? throw new InvalidOperationException($"no session with {user} device {device}");

    /// <summary>
    /// <see cref="Encrypt"/>, or null when there is no session with the device: a SYSTEM event (identity_key_changed)
    /// may forget one between the sender's setup and its encryption.
    /// </summary>
    public DeviceCiphertext? TryEncrypt(string user, uint device, E2eContent content)
    {
        var plaintext = Padded(content).ToByteArray();
        lock (_gate)
        {
            if (Session(user, device) is not { } sessions)
                return null;
            var session = sessions.Current;
            var message = session.Encrypt(plaintext);
            Keys.Save([(user, device, sessions.Record)]);
            _dirtySessions.Remove((user, device));
            if (session.Pending is { } pending)
            {
                var prekey = new PreKeyRatchetMessage
                {
                    RegistrationId = Identity.RegistrationId,
                    IdentityKey = ByteString.CopyFrom(Identity.PublicKey),
                    BaseKey = pending.BaseKey,
                    SignedPrekeyId = pending.SignedPrekeyId,
                    OneTimePrekeyId = pending.OneTimePrekeyId,
                    KemPrekeyId = pending.KemPrekeyId,
                    KemCiphertext = pending.KemCiphertext,
                    Message = message,
                };
                return new DeviceCiphertext
                {
                    DeviceId = device, RegistrationId = session.RemoteRegistrationId, Type = CiphertextType.PrekeyMessage, Ciphertext = prekey.ToByteString(),
                };
            }
            return new DeviceCiphertext
            {
                DeviceId = device, RegistrationId = session.RemoteRegistrationId, Type = CiphertextType.SignalMessage, Ciphertext = message.ToByteString(),
            };
        }
    }

    /// <summary>
    /// Decrypts a 1:1 ciphertext (a prekey or ratchet message) or a group one (a sender-key message of
    /// <paramref name="groupId"/>). <see cref="CryptographicException"/> when it cannot be decrypted; nothing changed then.
    /// </summary>
    public Decrypted Decrypt(string fromUser, uint fromDevice, CiphertextType type, ByteString ciphertext, string groupId = "")
    {
        try
        {
            return type switch
            {
                CiphertextType.PrekeyMessage => DecryptPreKey(fromUser, fromDevice, PreKeyRatchetMessage.Parser.ParseFrom(ciphertext)),
                CiphertextType.SignalMessage => DecryptRatchet(fromUser, fromDevice, RatchetMessage.Parser.ParseFrom(ciphertext)),
                CiphertextType.SenderKeyMessage when groupId.Length > 0 => DecryptGroup(groupId, fromUser, fromDevice, SenderKeyMessage.Parser.ParseFrom(ciphertext)),
                _ => throw new CryptographicException($"a {type} ciphertext is not end-to-end encrypted here"),
            };
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new CryptographicException("the ciphertext is malformed", e);
        }
    }

    private Decrypted DecryptPreKey(string user, uint device, PreKeyRatchetMessage message)
    {
        lock (_gate)
        {
            // The initiator repeats its prekey message until it hears back: the session it set up is the one to use.
            var sessions = Session(user, device);
            if (sessions?.WithBaseKey(message.BaseKey) is { } existing)
                return new Decrypted(Content(Decrypt(user, device, sessions, existing, message.Message)), false);
            var signed = Keys.SignedPreKeySecret(message.SignedPrekeyId)
                         ?? throw new CryptographicException($"the signed prekey {message.SignedPrekeyId} is not (or no longer) this device's");
            byte[]? oneTime = null;
            if (message.OneTimePrekeyId != 0)
                oneTime = Keys.OneTimePreKeySecret(message.OneTimePrekeyId)
                          ?? throw new CryptographicException($"the one-time prekey {message.OneTimePrekeyId} was used already");
            var (kemSeed, _) = Keys.KemPreKeySeed(message.KemPrekeyId)
                               ?? throw new CryptographicException($"the ML-KEM prekey {message.KemPrekeyId} was used already");
            var session = Pqxdh.Respond(Identity, message, signed, oneTime, kemSeed);
            var content = Content(session.Decrypt(message.Message));
            // The new session becomes the one to send with; the one it replaces stays for what is still in flight under it.
            sessions ??= new Sessions();
            sessions.Use(session);
            _sessions[(user, device)] = sessions;
            _dirtySessions.Add((user, device));
            _usedPreKeys.Add((message.OneTimePrekeyId, message.KemPrekeyId));
            var changed = Keys.SeeIdentity(user, device, message.IdentityKey.ToByteArray());
            return new Decrypted(content, changed);
        }
    }

    private Decrypted DecryptRatchet(string user, uint device, RatchetMessage message)
    {
        lock (_gate)
        {
            var sessions = Session(user, device) ?? throw new CryptographicException($"no session with {user} device {device}");
            CryptographicException? failure = null;
            foreach (var session in sessions.All)
            {
                try
                {
                    return new Decrypted(Content(Decrypt(user, device, sessions, session, message)), false);
                }
                catch (CryptographicException e)
                {
                    failure ??= e;
                }
            }
            throw failure!;
        }
    }

    /// <summary>
    /// Decrypts with one of the device's sessions; a session the other side answers in becomes the one to send with
    /// (after two devices started sessions with each other at once, both settle on the one that was answered).
    /// </summary>
    private byte[] Decrypt(string user, uint device, Sessions sessions, RatchetSession session, RatchetMessage message)
    {
        var plaintext = session.Decrypt(message);
        sessions.Use(session);
        _dirtySessions.Add((user, device));
        return plaintext;
    }

    // ---- groups: sender keys ----

    /// <summary>This device's sender key for a group, made when it has none (or after <see cref="DropOwnSenderKey"/>).</summary>
    public SenderKeyChain OwnSenderKey(string groupId, out bool created)
    {
        lock (_gate)
        {
            created = false;
            if (SenderKey(groupId, SelfUser, SelfDevice) is { } chain)
                return chain;
            chain = SenderKeyChain.Create();
            _senderKeys[(groupId, SelfUser, SelfDevice)] = chain;
            Keys.Save([], [(groupId, SelfUser, SelfDevice, chain.State)]);
            created = true;
            return chain;
        }
    }

    /// <summary>Rotates: the next group message starts a new sender key, which the current members get (and a removed member does not).</summary>
    public void DropOwnSenderKey(string groupId)
    {
        lock (_gate)
        {
            _senderKeys.Remove((groupId, SelfUser, SelfDevice));
            Keys.DropOwnSenderKey(groupId, SelfUser, SelfDevice);
        }
    }

    /// <summary>Encrypts a group message once with this device's sender key; durable before it returns.</summary>
    public ByteString GroupEncrypt(string groupId, E2eContent content)
    {
        var plaintext = Padded(content).ToByteArray();
        lock (_gate)
        {
            var chain = OwnSenderKey(groupId, out _);
            var message = chain.Encrypt(groupId, plaintext);
            Keys.Save([], [(groupId, SelfUser, SelfDevice, chain.State)]);
            return message.ToByteString();
        }
    }

    /// <summary>Keeps a member device's sender key from its distribution (a repeat of the same key does not move its chain back).</summary>
    public void Accept(string fromUser, uint fromDevice, SenderKeyDistribution distribution)
    {
        lock (_gate)
        {
            var key = (distribution.GroupId, fromUser, fromDevice);
            if (SenderKey(distribution.GroupId, fromUser, fromDevice) is { } known && known.KeyId == distribution.KeyId)
                return;
            _senderKeys[key] = SenderKeyChain.From(distribution);
            _dirtySenderKeys.Add(key);
        }
    }

    private Decrypted DecryptGroup(string groupId, string user, uint device, SenderKeyMessage message)
    {
        lock (_gate)
        {
            var chain = SenderKey(groupId, user, device) ?? throw new CryptographicException($"no sender key of {user} device {device} for this group");
            var content = Content(chain.Decrypt(groupId, message));
            _dirtySenderKeys.Add((groupId, user, device));
            return new Decrypted(content, false);
        }
    }

    // ---- durability ----

    /// <summary>Writes what decrypting changed (sessions, sender keys) and deletes the one-time prekeys used, in one transaction.</summary>
    public void Commit()
    {
        lock (_gate)
        {
            if (_dirtySessions.Count == 0 && _dirtySenderKeys.Count == 0 && _usedPreKeys.Count == 0)
                return;
            Keys.Save(
                _dirtySessions.Select(k => (k.Item1, k.Item2, _sessions[k].Record)).ToList(),
                _dirtySenderKeys.Where(_senderKeys.ContainsKey).Select(k => (k.Item1, k.Item2, k.Item3, _senderKeys[k].State)).ToList());
            foreach (var (oneTime, kem) in _usedPreKeys)
                Keys.RemoveOneTimeKeys(oneTime, kem);
            _dirtySessions.Clear();
            _dirtySenderKeys.Clear();
            _usedPreKeys.Clear();
        }
    }

    // ---- helpers ----

    private Sessions? Session(string user, uint device)
    {
        if (_sessions.TryGetValue((user, device), out var sessions))
            return sessions;
        if (Keys.LoadSession(user, device) is not { Current: not null } record)
            return null;
        return _sessions[(user, device)] = new Sessions(record);
    }

    /// <summary>The sessions with one remote device: the current one first, then earlier ones, newest first.</summary>
    private sealed class Sessions
    {
        private readonly List<RatchetSession> _all = [];

        public Sessions()
        {
        }

        public Sessions(State.SessionRecord record)
        {
            _all.Add(new RatchetSession(record.Current));
            _all.AddRange(record.Previous.Select(p => new RatchetSession(p)));
        }

        public RatchetSession Current => _all[0];

        /// <summary>A copy: decrypting may reorder the list.</summary>
        public IReadOnlyList<RatchetSession> All => [.. _all];

        public RatchetSession? WithBaseKey(ByteString baseKey) => _all.FirstOrDefault(s => s.BaseKey.Equals(baseKey));

        /// <summary>Makes <paramref name="session"/> the one to send with, keeping at most <see cref="MaxPreviousSessions"/> others.</summary>
        public void Use(RatchetSession session)
        {
            _all.Remove(session);
            _all.Insert(0, session);
            if (_all.Count > MaxPreviousSessions + 1)
                _all.RemoveRange(MaxPreviousSessions + 1, _all.Count - MaxPreviousSessions - 1);
        }

        public State.SessionRecord Record
        {
            get
            {
                var record = new State.SessionRecord { Current = _all[0].State };
                record.Previous.AddRange(_all.Skip(1).Select(s => s.State));
                return record;
            }
        }
    }

    private SenderKeyChain? SenderKey(string group, string user, uint device)
    {
        if (_senderKeys.TryGetValue((group, user, device), out var chain))
            return chain;
        if (Keys.LoadSenderKey(group, user, device) is not { } state)
            return null;
        return _senderKeys[(group, user, device)] = new SenderKeyChain(state);
    }

    /// <summary>Pads the serialized content to a multiple of 32 bytes (at least one padding byte), so ciphertext sizes say less about the text.</summary>
    private static E2eContent Padded(E2eContent content)
    {
        var padded = content.Clone();
        padded.Padding = ByteString.Empty;
        var size = padded.CalculateSize() + 2;
        padded.Padding = ByteString.CopyFrom(new byte[32 - size % 32]);
        return padded;
    }

    private static E2eContent Content(byte[] plaintext)
    {
        try
        {
            return E2eContent.Parser.ParseFrom(plaintext);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new CryptographicException("the decrypted content is malformed", e);
        }
    }
}
