using System.Security.Cryptography;
using Akka.WhatsApp.Client.Crypto.State;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;

namespace Akka.WhatsApp.Client.Crypto;

/// <summary>
/// Session setup: X3DH extended with ML-KEM-1024 as Signal's PQXDH specification (revision 3) describes, with the
/// identity key in Ed25519 form and converted for DH (PROTOCOL.md §13a):
/// <code>
/// DH1 = DH(IK_A, SPK_B)   DH2 = DH(EK_A, IK_B)   DH3 = DH(EK_A, SPK_B)   DH4 = DH(EK_A, OPK_B) (when a one-time prekey was left)
/// (CT, SS) = ML-KEM-1024.Encaps(PQPK_B)
/// SK = HKDF-SHA-256(ikm = 0xFF×32 ‖ DH1 ‖ DH2 ‖ DH3 [‖ DH4] ‖ SS, salt = 0×32, info = Info, 32 bytes)
/// </code>
/// The initiator's ratchet then starts from SK with the responder's signed prekey as its first remote ratchet key.
/// </summary>
public static class Pqxdh
{
    public const string Info = "Akka.WhatsApp_PQXDH_X25519_SHA-256_ML-KEM-1024";

    /// <summary>
    /// Starts a session from a fetched bundle. Refuses a bundle whose signed or KEM prekey is not signed by its identity
    /// key, or that has no KEM prekey (<see cref="CryptographicException"/>): the server could otherwise hand out keys of its own.
    /// </summary>
    public static RatchetSession Initiate(IdentityKeyPair local, PreKeyBundle bundle)
    {
        var identity = bundle.IdentityKey.Span;
        if (bundle.SignedPrekey is not { } signed || !Primitives.Verify(identity, signed.PublicKey.Span, signed.Signature.Span))
            throw new CryptographicException($"the signed prekey of device {bundle.DeviceId} is not signed by its identity key");
        if (bundle.KemPrekey is not { } kem || !Primitives.Verify(identity, kem.PublicKey.Span, kem.Signature.Span))
            throw new CryptographicException($"device {bundle.DeviceId} has no ML-KEM prekey signed by its identity key");
        var (ephemeral, ephemeralPublic) = Primitives.NewX25519();
        var remoteDh = Primitives.IdentityDhPublic(identity);
        var (kemCiphertext, kemSecret) = Primitives.Encapsulate(kem.PublicKey.ToByteArray());
        var oneTime = bundle.OneTimePrekey;
        var sk = SharedKey(
            Primitives.Dh(local.DhSecret, signed.PublicKey.Span),
            Primitives.Dh(ephemeral, remoteDh),
            Primitives.Dh(ephemeral, signed.PublicKey.Span),
            oneTime is null ? null : Primitives.Dh(ephemeral, oneTime.PublicKey.Span),
            kemSecret);
        CryptographicOperations.ZeroMemory(ephemeral);
        var pending = new PendingPreKey
        {
            SignedPrekeyId = signed.KeyId,
            OneTimePrekeyId = oneTime?.KeyId ?? 0,
            KemPrekeyId = kem.KeyId,
            KemCiphertext = ByteString.CopyFrom(kemCiphertext),
            BaseKey = ByteString.CopyFrom(ephemeralPublic),
        };
        return RatchetSession.Initiator(sk, local.PublicKey, identity.ToArray(), bundle.RegistrationId, signed.PublicKey.ToByteArray(), pending);
    }

    /// <summary>The responder's half, with the private keys the message names (the caller looked them up and deletes the one-time ones after).</summary>
    public static RatchetSession Respond(IdentityKeyPair local, PreKeyRatchetMessage message, byte[] signedPreKeySecret, byte[]? oneTimePreKeySecret,
        byte[] kemSeed)
    {
        if (message.IdentityKey.Length != Primitives.KeySize || message.BaseKey.Length != Primitives.KeySize)
            throw new CryptographicException("the prekey message's identity or base key is not 32 bytes");
        var remoteDh = Primitives.IdentityDhPublic(message.IdentityKey.Span);
        var baseKey = message.BaseKey.Span;
        var sk = SharedKey(
            Primitives.Dh(signedPreKeySecret, remoteDh),
            Primitives.Dh(local.DhSecret, baseKey),
            Primitives.Dh(signedPreKeySecret, baseKey),
            oneTimePreKeySecret is null ? null : Primitives.Dh(oneTimePreKeySecret, baseKey),
            Primitives.Decapsulate(kemSeed, message.KemCiphertext.ToByteArray()));
        return RatchetSession.Responder(sk, local.PublicKey, message.IdentityKey.ToByteArray(), message.RegistrationId, signedPreKeySecret,
            message.BaseKey.ToByteArray());
    }

    private static byte[] SharedKey(byte[] dh1, byte[] dh2, byte[] dh3, byte[]? dh4, byte[] kemSecret)
    {
        byte[] ikm = [.. Enumerable.Repeat((byte)0xFF, 32), .. dh1, .. dh2, .. dh3, .. dh4 ?? [], .. kemSecret];
        var sk = Primitives.Hkdf(ikm, new byte[32], Info, 32);
        foreach (var secret in new[] { ikm, dh1, dh2, dh3, dh4, kemSecret })
            if (secret is not null)
                CryptographicOperations.ZeroMemory(secret);
        return sk;
    }
}
