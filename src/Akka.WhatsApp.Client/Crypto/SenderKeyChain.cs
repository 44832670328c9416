using System.Security.Cryptography;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;

namespace Akka.WhatsApp.Client.Crypto;

/// <summary>
/// A sender key (Signal's group messaging): one symmetric chain per sender device per group, given to every member
/// device once over the 1:1 sessions (<see cref="SenderKeyDistribution"/>), after which each group message is
/// encrypted once. Message key i = HMAC-SHA-256(chain key i, 0x01), chain key i+1 = HMAC-SHA-256(chain key i, 0x02);
/// every message is signed with the key's Ed25519 signing key, so members cannot forge each other's messages. A new
/// key (new id, chain and signing key) replaces it when a member leaves or is removed.
/// </summary>
public sealed class SenderKeyChain
{
    internal const string MessageInfo = "Akka.WhatsApp Sender Key v1";

    /// <summary>How far ahead of the chain a message may be, and how many skipped keys are kept.</summary>
    public const int MaxSkip = 2000;

    private State.SenderKey _state;

    public SenderKeyChain(State.SenderKey state) => _state = state;

    public State.SenderKey State => _state.Clone();

    public uint KeyId => _state.KeyId;

    /// <summary>A new own sender key.</summary>
    public static SenderKeyChain Create()
    {
        var seed = Primitives.NewEd25519Seed();
        return new SenderKeyChain(new State.SenderKey
        {
            KeyId = BitConverter.ToUInt32(Primitives.RandomBytes(4)) & 0x7FFFFFFF,
            ChainKey = ByteString.CopyFrom(Primitives.RandomBytes(32)),
            SigningPrivate = ByteString.CopyFrom(seed),
            SigningPublic = ByteString.CopyFrom(Primitives.Ed25519Public(seed)),
        });
    }

    /// <summary>A member device's key, from the distribution it sent.</summary>
    public static SenderKeyChain From(SenderKeyDistribution distribution)
    {
        if (distribution.ChainKey.Length != 32 || distribution.SigningKey.Length != Primitives.KeySize)
            throw new CryptographicException("a sender key distribution carries a 32-byte chain key and signing key");
        return new SenderKeyChain(new State.SenderKey
        {
            KeyId = distribution.KeyId, Iteration = distribution.Iteration, ChainKey = distribution.ChainKey, SigningPublic = distribution.SigningKey,
        });
    }

    /// <summary>What a member needs to read this key's messages from now on.</summary>
    public SenderKeyDistribution Distribution(string groupId) => new()
    {
        GroupId = groupId, KeyId = _state.KeyId, Iteration = _state.Iteration, ChainKey = _state.ChainKey, SigningKey = _state.SigningPublic,
    };

    public SenderKeyMessage Encrypt(string groupId, ReadOnlySpan<byte> plaintext)
    {
        if (_state.SigningPrivate.IsEmpty)
            throw new InvalidOperationException("only the owner of a sender key encrypts with it");
        var (messageKey, next) = RatchetSession.ChainStep(_state.ChainKey.Span);
        var body = new SenderKeyBody
        {
            KeyId = _state.KeyId, Iteration = _state.Iteration,
            Ciphertext = ByteString.CopyFrom(Primitives.Seal(messageKey, MessageInfo, plaintext, AssociatedData(groupId))),
        }.ToByteString();
        CryptographicOperations.ZeroMemory(messageKey);
        _state.ChainKey = ByteString.CopyFrom(next);
        _state.Iteration++;
        return new SenderKeyMessage { Body = body, Signature = ByteString.CopyFrom(Primitives.Sign(_state.SigningPrivate.Span, body.Span)) };
    }

    /// <summary>The key id a message names (to find the chain), or null when it is malformed.</summary>
    public static SenderKeyBody? BodyOf(SenderKeyMessage message)
    {
        try
        {
            return SenderKeyBody.Parser.ParseFrom(message.Body);
        }
        catch (InvalidProtocolBufferException)
        {
            return null;
        }
    }

    /// <summary>Decrypts a member's message; all-or-nothing like <see cref="RatchetSession.Decrypt"/>.</summary>
    public byte[] Decrypt(string groupId, SenderKeyMessage message)
    {
        if (!Primitives.Verify(_state.SigningPublic.Span, message.Body.Span, message.Signature.Span))
            throw new CryptographicException("the group message is not signed by its sender key");
        var body = BodyOf(message) ?? throw new CryptographicException("the sender key message is malformed");
        if (body.KeyId != _state.KeyId)
            throw new CryptographicException("the group message is of another sender key");
        var s = _state.Clone();
        byte[] messageKey;
        if (body.Iteration < s.Iteration)
        {
            var skipped = s.Skipped.FirstOrDefault(k => k.Iteration == body.Iteration)
                          ?? throw new CryptographicException("a group message that was already read, or whose key is gone (a replay?)");
            s.Skipped.Remove(skipped);
            messageKey = skipped.MessageKey.ToByteArray();
        }
        else
        {
            if (body.Iteration - s.Iteration > MaxSkip)
                throw new CryptographicException($"a group message more than {MaxSkip} ahead of its chain");
            var chain = s.ChainKey.ToByteArray();
            while (s.Iteration < body.Iteration)
            {
                var (skippedKey, after) = RatchetSession.ChainStep(chain);
                s.Skipped.Add(new State.SkippedSenderKey { Iteration = s.Iteration, MessageKey = ByteString.CopyFrom(skippedKey) });
                chain = after;
                s.Iteration++;
            }
            (messageKey, var next) = RatchetSession.ChainStep(chain);
            s.ChainKey = ByteString.CopyFrom(next);
            s.Iteration++;
            while (s.Skipped.Count > MaxSkip)
                s.Skipped.RemoveAt(0);
        }
        var plaintext = Primitives.Open(messageKey, MessageInfo, body.Ciphertext.Span, AssociatedData(groupId));
        CryptographicOperations.ZeroMemory(messageKey);
        _state = s;
        return plaintext;
    }

    /// <summary>AD = the group id (UTF-8): a ciphertext cannot be replayed into another group.</summary>
    private static byte[] AssociatedData(string groupId) => System.Text.Encoding.UTF8.GetBytes(groupId);
}
