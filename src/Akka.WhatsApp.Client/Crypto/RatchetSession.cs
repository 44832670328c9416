using System.Security.Cryptography;
using Akka.WhatsApp.Protocol;
using Akka.WhatsApp.Client.Crypto.State;
using Google.Protobuf;

namespace Akka.WhatsApp.Client.Crypto;

/// <summary>
/// One Double Ratchet session with one remote device (Signal's specification, revision 4): a DH ratchet step whenever
/// the remote ratchet key changes, a symmetric step per message, message keys used once and deleted, a bounded store
/// of skipped keys for out-of-order and lost messages. Every operation is all-or-nothing: a message that fails to
/// decrypt (forged, replayed, too far ahead) leaves the session exactly as it was.
/// </summary>
public sealed class RatchetSession
{
    /// <summary>At most this many message keys are skipped in one chain (a message further ahead is refused).</summary>
    public const int MaxSkip = 1000;

    /// <summary>At most this many skipped keys are kept in all; the oldest go first.</summary>
    public const int MaxSkippedKeys = 2000;

    internal const string RootInfo = "Akka.WhatsApp Ratchet v1";
    internal const string MessageInfo = "Akka.WhatsApp Message Keys v1";

    private State.Session _state;

    public RatchetSession(State.Session state) => _state = state;

    /// <summary>The persisted form; a copy, so a caller cannot change the session behind its back.</summary>
    public State.Session State => _state.Clone();

    public ByteString RemoteIdentity => _state.RemoteIdentity;
    public uint RemoteRegistrationId => _state.RemoteRegistrationId;

    public ByteString BaseKey => _state.BaseKey;

    public PendingPreKey? Pending => _state.Pending;

    /// <summary>The initiator's side after PQXDH: DHs is new, DHr is the responder's signed prekey.</summary>
    public static RatchetSession Initiator(byte[] sharedKey, byte[] localIdentity, byte[] remoteIdentity, uint remoteRegistrationId,
        byte[] remoteSignedPreKey, PendingPreKey pending)
    {
        var (secret, pub) = Primitives.NewX25519();
        var (root, chain) = RootStep(sharedKey, Primitives.Dh(secret, remoteSignedPreKey));
        return new RatchetSession(new State.Session
        {
            LocalIdentity = ByteString.CopyFrom(localIdentity),
            RemoteIdentity = ByteString.CopyFrom(remoteIdentity),
            RemoteRegistrationId = remoteRegistrationId,
            RootKey = ByteString.CopyFrom(root),
            SendingPrivate = ByteString.CopyFrom(secret),
            SendingPublic = ByteString.CopyFrom(pub),
            SendingChain = ByteString.CopyFrom(chain),
            ReceivingKey = ByteString.CopyFrom(remoteSignedPreKey),
            Pending = pending,
            BaseKey = pending.BaseKey,
        });
    }

    /// <summary>The responder's side after PQXDH: DHs is its signed prekey; the first DH step happens with the first message.</summary>
    public static RatchetSession Responder(byte[] sharedKey, byte[] localIdentity, byte[] remoteIdentity, uint remoteRegistrationId,
        byte[] signedPreKeySecret, byte[] baseKey) =>
        new(new State.Session
        {
            LocalIdentity = ByteString.CopyFrom(localIdentity),
            RemoteIdentity = ByteString.CopyFrom(remoteIdentity),
            RemoteRegistrationId = remoteRegistrationId,
            RootKey = ByteString.CopyFrom(sharedKey),
            SendingPrivate = ByteString.CopyFrom(signedPreKeySecret),
            SendingPublic = ByteString.CopyFrom(Primitives.X25519Public(signedPreKeySecret)),
            BaseKey = ByteString.CopyFrom(baseKey),
        });

    public RatchetMessage Encrypt(ReadOnlySpan<byte> plaintext)
    {
        if (_state.SendingChain.IsEmpty)
            throw new InvalidOperationException("a responder's session sends only after it received");
        var (messageKey, next) = ChainStep(_state.SendingChain.Span);
        var header = new RatchetHeader
        {
            RatchetKey = _state.SendingPublic, Counter = _state.SendingCounter, PreviousCounter = _state.PreviousCounter,
        }.ToByteString();
        var ciphertext = Primitives.Seal(messageKey, MessageInfo, plaintext, AssociatedData(_state.LocalIdentity, _state.RemoteIdentity, header));
        CryptographicOperations.ZeroMemory(messageKey);
        _state.SendingChain = ByteString.CopyFrom(next);
        _state.SendingCounter++;
        return new RatchetMessage { Header = header, Ciphertext = ByteString.CopyFrom(ciphertext) };
    }

    /// <summary>Decrypts a message of this session; <see cref="CryptographicException"/> when it cannot (and then nothing changed).</summary>
    public byte[] Decrypt(RatchetMessage message)
    {
        RatchetHeader header;
        try
        {
            header = RatchetHeader.Parser.ParseFrom(message.Header);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new CryptographicException("the ratchet header is malformed", e);
        }
        if (header.RatchetKey.Length != Primitives.KeySize)
            throw new CryptographicException("the ratchet key is not 32 bytes");
        var working = _state.Clone();
        var plaintext = Decrypt(working, header, message);
        // A message from the other side confirms the session: no more prekey messages.
        working.Pending = null;
        _state = working;
        return plaintext;
    }

    private static byte[] Decrypt(State.Session s, RatchetHeader header, RatchetMessage message)
    {
        var ad = AssociatedData(s.RemoteIdentity, s.LocalIdentity, message.Header);
        var skipped = s.Skipped.FirstOrDefault(k => k.Counter == header.Counter && k.RatchetKey.Equals(header.RatchetKey));
        if (skipped is not null)
        {
            s.Skipped.Remove(skipped);
            return Primitives.Open(skipped.MessageKey.Span, MessageInfo, message.Ciphertext.Span, ad);
        }
        if (!header.RatchetKey.Equals(s.ReceivingKey) || s.ReceivingChain.IsEmpty)
        {
            if (!s.ReceivingChain.IsEmpty)
                Skip(s, header.PreviousCounter);
            DhStep(s, header.RatchetKey);
        }
        Skip(s, header.Counter);
        if (header.Counter < s.ReceivingCounter)
            throw new CryptographicException("a message of this session that was already read, or whose key is gone (a replay?)");
        var (messageKey, next) = ChainStep(s.ReceivingChain.Span);
        var plaintext = Primitives.Open(messageKey, MessageInfo, message.Ciphertext.Span, ad);
        CryptographicOperations.ZeroMemory(messageKey);
        s.ReceivingChain = ByteString.CopyFrom(next);
        s.ReceivingCounter++;
        return plaintext;
    }

    private static void Skip(State.Session s, uint until)
    {
        if (s.ReceivingChain.IsEmpty || until <= s.ReceivingCounter)
            return;
        if (until - s.ReceivingCounter > MaxSkip)
            throw new CryptographicException($"a message more than {MaxSkip} ahead of its chain");
        var chain = s.ReceivingChain.ToByteArray();
        while (s.ReceivingCounter < until)
        {
            var (messageKey, next) = ChainStep(chain);
            s.Skipped.Add(new State.SkippedKey { RatchetKey = s.ReceivingKey, Counter = s.ReceivingCounter, MessageKey = ByteString.CopyFrom(messageKey) });
            chain = next;
            s.ReceivingCounter++;
        }
        s.ReceivingChain = ByteString.CopyFrom(chain);
        while (s.Skipped.Count > MaxSkippedKeys)
            s.Skipped.RemoveAt(0);
    }

    private static void DhStep(State.Session s, ByteString remoteKey)
    {
        s.PreviousCounter = s.SendingCounter;
        s.SendingCounter = 0;
        s.ReceivingCounter = 0;
        s.ReceivingKey = remoteKey;
        var (root, receiving) = RootStep(s.RootKey.Span, Primitives.Dh(s.SendingPrivate.Span, remoteKey.Span));
        var (secret, pub) = Primitives.NewX25519();
        var (root2, sending) = RootStep(root, Primitives.Dh(secret, remoteKey.Span));
        s.ReceivingChain = ByteString.CopyFrom(receiving);
        s.SendingPrivate = ByteString.CopyFrom(secret);
        s.SendingPublic = ByteString.CopyFrom(pub);
        s.SendingChain = ByteString.CopyFrom(sending);
        s.RootKey = ByteString.CopyFrom(root2);
    }

    /// <summary>KDF_RK: HKDF-SHA-256(salt = root key, ikm = DH output, info "Akka.WhatsApp Ratchet v1") → 64 bytes: new root key, chain key.</summary>
    internal static (byte[] Root, byte[] Chain) RootStep(ReadOnlySpan<byte> root, byte[] dh)
    {
        var output = Primitives.Hkdf(dh, root, RootInfo, 64);
        CryptographicOperations.ZeroMemory(dh);
        return (output[..32], output[32..]);
    }

    /// <summary>KDF_CK: message key = HMAC-SHA-256(chain key, 0x01), next chain key = HMAC-SHA-256(chain key, 0x02).</summary>
    internal static (byte[] MessageKey, byte[] Next) ChainStep(ReadOnlySpan<byte> chain) =>
        (Primitives.Hmac(chain, [0x01]), Primitives.Hmac(chain, [0x02]));

    /// <summary>AD = sender identity key ‖ recipient identity key ‖ the header bytes.</summary>
    private static byte[] AssociatedData(ByteString sender, ByteString recipient, ByteString header) =>
        [.. sender.Span, .. recipient.Span, .. header.Span];
}
