using System.Numerics;
using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.Kems;
using Org.BouncyCastle.Crypto.Parameters;
using NSec.Cryptography;
using Org.BouncyCastle.Security;

namespace Akka.WhatsApp.Client.Crypto;

/// <summary>
/// The primitives of the encryption layer, and nothing else: X25519 (RFC 7748) and Ed25519 (RFC 8032) from NSec
/// (libsodium: several times faster than a managed implementation, and what the server verifies signatures with),
/// ML-KEM-1024 (FIPS 203) from BouncyCastle; HKDF-SHA-256 (RFC 5869), HMAC-SHA-256, SHA-512 and AES-256-GCM from .NET. The
/// protocol state machines (<see cref="Pqxdh"/>, <see cref="RatchetSession"/>, <see cref="SenderKeyChain"/>) are
/// built on these; PROTOCOL.md §13a names each use.
/// </summary>
public static class Primitives
{
    public const int KeySize = 32;
    public const int SignatureSize = 64;
    public const int KemPublicKeySize = 1568;
    public const int KemCiphertextSize = 1568;
    private const int TagSize = 16;
    private const int NonceSize = 12;

    private static readonly SecureRandom Random = new();
    private static readonly MLKemParameters Kem = MLKemParameters.ml_kem_1024;

    // ---- X25519 and Ed25519 (NSec, on libsodium) ----

    /// <summary>A new X25519 key pair (the private key as the 32 raw bytes RFC 7748 clamps on use).</summary>
    public static (byte[] Private, byte[] Public) NewX25519()
    {
        using var key = Key.Create(KeyAgreementAlgorithm.X25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });
        return (key.Export(KeyBlobFormat.RawPrivateKey), key.PublicKey.Export(KeyBlobFormat.RawPublicKey));
    }

    public static byte[] X25519Public(ReadOnlySpan<byte> secret)
    {
        using var key = Key.Import(KeyAgreementAlgorithm.X25519, secret, KeyBlobFormat.RawPrivateKey);
        return key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
    }

    /// <summary>X25519(secret, public); refuses a low-order public key (an all-zero result), which would make the secret known.</summary>
    public static byte[] Dh(ReadOnlySpan<byte> secret, ReadOnlySpan<byte> publicKey)
    {
        if (secret.Length != KeySize || publicKey.Length != KeySize)
            throw new CryptographicException("an X25519 key is 32 bytes");
        using var key = Key.Import(KeyAgreementAlgorithm.X25519, secret, KeyBlobFormat.RawPrivateKey);
        if (!PublicKey.TryImport(KeyAgreementAlgorithm.X25519, publicKey, KeyBlobFormat.RawPublicKey, out var other) || other is null)
            throw new CryptographicException("not an X25519 public key");
        using var shared = KeyAgreementAlgorithm.X25519.Agree(key, other, new SharedSecretCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport })
                           ?? throw new CryptographicException("the X25519 public key is of low order");
        return shared.Export(SharedSecretBlobFormat.RawSharedSecret);
    }

    /// <summary>A new Ed25519 private key (the 32-byte seed of RFC 8032).</summary>
    public static byte[] NewEd25519Seed() => RandomBytes(KeySize);

    public static byte[] Ed25519Public(ReadOnlySpan<byte> seed)
    {
        using var key = Key.Import(SignatureAlgorithm.Ed25519, seed, KeyBlobFormat.RawPrivateKey);
        return key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
    }

    public static byte[] Sign(ReadOnlySpan<byte> seed, ReadOnlySpan<byte> message)
    {
        using var key = Key.Import(SignatureAlgorithm.Ed25519, seed, KeyBlobFormat.RawPrivateKey);
        return SignatureAlgorithm.Ed25519.Sign(key, message);
    }

    public static bool Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature) =>
        publicKey.Length == KeySize && signature.Length == SignatureSize
        && PublicKey.TryImport(SignatureAlgorithm.Ed25519, publicKey, KeyBlobFormat.RawPublicKey, out var key) && key is not null
        && SignatureAlgorithm.Ed25519.Verify(key, message, signature);

    /// <summary>
    /// The X25519 private key of an Ed25519 identity: the clamped first half of SHA-512(seed), the scalar Ed25519
    /// itself signs with, so that <see cref="X25519Public"/> of it equals <see cref="IdentityDhPublic"/> of the Ed25519 public key.
    /// </summary>
    public static byte[] IdentityDhSecret(ReadOnlySpan<byte> seed)
    {
        var hash = SHA512.HashData(seed);
        var scalar = hash[..KeySize];
        scalar[0] &= 248;
        scalar[31] &= 127;
        scalar[31] |= 64;
        CryptographicOperations.ZeroMemory(hash);
        return scalar;
    }

    private static readonly BigInteger P = BigInteger.Pow(2, 255) - 19;

    /// <summary>The X25519 public key of an Ed25519 public key: u = (1 + y) / (1 − y) mod p (RFC 7748 §4.1).</summary>
    public static byte[] IdentityDhPublic(ReadOnlySpan<byte> edPublic)
    {
        if (edPublic.Length != KeySize)
            throw new CryptographicException("an Ed25519 public key is 32 bytes");
        var bytes = edPublic.ToArray();
        bytes[31] &= 0x7F; // the sign of x
        var y = new BigInteger(bytes, isUnsigned: true, isBigEndian: false);
        if (y >= P)
            throw new CryptographicException("the Ed25519 public key is not canonical");
        var denominator = (1 - y + P) % P;
        if (denominator.IsZero)
            throw new CryptographicException("the Ed25519 public key has no X25519 form");
        var u = (1 + y) * BigInteger.ModPow(denominator, P - 2, P) % P;
        var result = new byte[KeySize];
        u.TryWriteBytes(result, out _, isUnsigned: true, isBigEndian: false);
        return result;
    }

    // ---- ML-KEM-1024 ----

    /// <summary>A new ML-KEM-1024 key pair: the 1,568-byte encapsulation key and the decapsulation key's 64-byte seed.</summary>
    public static (byte[] Seed, byte[] Public) NewKem()
    {
        var seed = new byte[64];
        Random.NextBytes(seed);
        return (seed, KemPublic(seed));
    }

    public static byte[] KemPublic(byte[] seed) => MLKemPrivateKeyParameters.FromSeed(Kem, seed).GetPublicKey().GetEncoded();

    public static (byte[] Ciphertext, byte[] Secret) Encapsulate(byte[] publicKey)
    {
        if (publicKey.Length != KemPublicKeySize)
            throw new CryptographicException("an ML-KEM-1024 encapsulation key is 1,568 bytes");
        var encapsulator = new MLKemEncapsulator(Kem);
        encapsulator.Init(new ParametersWithRandom(MLKemPublicKeyParameters.FromEncoding(Kem, publicKey), Random));
        var ciphertext = new byte[encapsulator.EncapsulationLength];
        var secret = new byte[encapsulator.SecretLength];
        encapsulator.Encapsulate(ciphertext, 0, ciphertext.Length, secret, 0, secret.Length);
        return (ciphertext, secret);
    }

    public static byte[] Decapsulate(byte[] seed, byte[] ciphertext)
    {
        if (ciphertext.Length != KemCiphertextSize)
            throw new CryptographicException("an ML-KEM-1024 ciphertext is 1,568 bytes");
        var decapsulator = new MLKemDecapsulator(Kem);
        decapsulator.Init(MLKemPrivateKeyParameters.FromSeed(Kem, seed));
        var secret = new byte[decapsulator.SecretLength];
        decapsulator.Decapsulate(ciphertext, 0, ciphertext.Length, secret, 0, secret.Length);
        return secret;
    }

    // ---- Symmetric ----

    public static byte[] Hkdf(ReadOnlySpan<byte> ikm, ReadOnlySpan<byte> salt, string info, int length)
    {
        var output = new byte[length];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, ikm, output, salt, System.Text.Encoding.ASCII.GetBytes(info));
        return output;
    }

    public static byte[] Hmac(ReadOnlySpan<byte> key, ReadOnlySpan<byte> data) => HMACSHA256.HashData(key, data);

    /// <summary>
    /// AES-256-GCM under a message key: key and nonce are HKDF(message key, salt 32 zero bytes, <paramref name="info"/>)
    /// (44 bytes: key, then nonce); the tag is appended to the ciphertext.
    /// </summary>
    public static byte[] Seal(ReadOnlySpan<byte> messageKey, string info, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        var material = Hkdf(messageKey, new byte[KeySize], info, KeySize + NonceSize);
        try
        {
            using var aes = new AesGcm(material.AsSpan(0, KeySize), TagSize);
            var output = new byte[plaintext.Length + TagSize];
            aes.Encrypt(material.AsSpan(KeySize, NonceSize), plaintext, output.AsSpan(0, plaintext.Length), output.AsSpan(plaintext.Length), associatedData);
            return output;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(material);
        }
    }

    /// <summary>The inverse of <see cref="Seal"/>; a forged or altered ciphertext throws <see cref="CryptographicException"/>.</summary>
    public static byte[] Open(ReadOnlySpan<byte> messageKey, string info, ReadOnlySpan<byte> sealedBytes, ReadOnlySpan<byte> associatedData)
    {
        if (sealedBytes.Length < TagSize)
            throw new CryptographicException("the ciphertext is shorter than its tag");
        var material = Hkdf(messageKey, new byte[KeySize], info, KeySize + NonceSize);
        try
        {
            using var aes = new AesGcm(material.AsSpan(0, KeySize), TagSize);
            var plaintext = new byte[sealedBytes.Length - TagSize];
            aes.Decrypt(material.AsSpan(KeySize, NonceSize), sealedBytes[..^TagSize], sealedBytes[^TagSize..], plaintext, associatedData);
            return plaintext;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(material);
        }
    }

    public static byte[] RandomBytes(int count) => RandomNumberGenerator.GetBytes(count);
}
