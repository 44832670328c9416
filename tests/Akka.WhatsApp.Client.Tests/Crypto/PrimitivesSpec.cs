using System.Security.Cryptography;
using Akka.WhatsApp.Client.Crypto;
using Xunit;

namespace Akka.WhatsApp.Client.Tests.Crypto;

/// <summary>Known-answer tests of the primitives the encryption layer wraps, from their RFCs.</summary>
public sealed class PrimitivesSpec
{
    private static byte[] Hex(string hex) => Convert.FromHexString(hex);

    [Fact]
    public void X25519_matches_RFC_7748_section_6_1()
    {
        var alice = Hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
        var bob = Hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
        Assert.Equal(Hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"), Primitives.X25519Public(alice));
        Assert.Equal(Hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"), Primitives.X25519Public(bob));
        var shared = Hex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
        Assert.Equal(shared, Primitives.Dh(alice, Primitives.X25519Public(bob)));
        Assert.Equal(shared, Primitives.Dh(bob, Primitives.X25519Public(alice)));
    }

    [Fact]
    public void X25519_refuses_a_low_order_public_key()
    {
        var (secret, _) = Primitives.NewX25519();
        Assert.Throws<CryptographicException>(() => Primitives.Dh(secret, new byte[32]));
    }

    [Fact]
    public void Ed25519_matches_RFC_8032_test_1_and_2()
    {
        var secret = Hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
        var pub = Hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
        var signature = Hex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
        Assert.Equal(pub, Primitives.Ed25519Public(secret));
        Assert.Equal(signature, Primitives.Sign(secret, []));
        Assert.True(Primitives.Verify(pub, [], signature));

        var secret2 = Hex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb");
        var pub2 = Hex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c");
        var signature2 = Hex("92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00");
        Assert.Equal(signature2, Primitives.Sign(secret2, [0x72]));
        Assert.True(Primitives.Verify(pub2, [0x72], signature2));
        Assert.False(Primitives.Verify(pub2, [0x73], signature2));
        Assert.False(Primitives.Verify(pub, [0x72], signature2));
    }

    [Fact]
    public void HKDF_SHA256_matches_RFC_5869_test_case_1()
    {
        var okm = new byte[42];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, Hex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"), okm, Hex("000102030405060708090a0b0c"), Hex("f0f1f2f3f4f5f6f7f8f9"));
        Assert.Equal(Hex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"), okm);
        // The wrapper passes its ASCII label as info and the salt through unchanged.
        var expected = new byte[32];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, [1, 2, 3], expected, [4, 5], "label"u8.ToArray());
        Assert.Equal(expected, Primitives.Hkdf([1, 2, 3], [4, 5], "label", 32));
    }

    [Fact]
    public void ML_KEM_1024_round_trips_and_a_wrong_key_or_ciphertext_gives_another_secret()
    {
        var (seed, pub) = Primitives.NewKem();
        Assert.Equal(Primitives.KemPublicKeySize, pub.Length);
        Assert.Equal(pub, Primitives.KemPublic(seed));
        var (ciphertext, secret) = Primitives.Encapsulate(pub);
        Assert.Equal(Primitives.KemCiphertextSize, ciphertext.Length);
        Assert.Equal(32, secret.Length);
        Assert.Equal(secret, Primitives.Decapsulate(seed, ciphertext));
        var (otherSeed, _) = Primitives.NewKem();
        Assert.NotEqual(secret, Primitives.Decapsulate(otherSeed, ciphertext));
        ciphertext[100] ^= 1;
        Assert.NotEqual(secret, Primitives.Decapsulate(seed, ciphertext));
    }

    [Fact]
    public void The_identity_key_in_X25519_form_is_the_same_from_either_side_of_the_birational_map()
    {
        // RFC 8032 test 1's public key: its X25519 form, from the map, equals that of the clamped SHA-512 scalar.
        var secret = Hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
        Assert.Equal(Primitives.X25519Public(Primitives.IdentityDhSecret(secret)), Primitives.IdentityDhPublic(Primitives.Ed25519Public(secret)));
        for (var i = 0; i < 20; i++)
        {
            var seed = Primitives.NewEd25519Seed();
            Assert.Equal(Primitives.X25519Public(Primitives.IdentityDhSecret(seed)), Primitives.IdentityDhPublic(Primitives.Ed25519Public(seed)));
        }
    }

    [Fact]
    public void AES_GCM_sealing_is_authenticated_over_the_ciphertext_and_the_associated_data()
    {
        var key = Primitives.RandomBytes(32);
        var sealedBytes = Primitives.Seal(key, "info", "hello"u8, "ad"u8);
        Assert.Equal("hello"u8.ToArray(), Primitives.Open(key, "info", sealedBytes, "ad"u8));
        Assert.ThrowsAny<CryptographicException>(() => Primitives.Open(key, "info", sealedBytes, "other"u8));
        Assert.ThrowsAny<CryptographicException>(() => Primitives.Open(key, "other info", sealedBytes, "ad"u8));
        sealedBytes[0] ^= 1;
        Assert.ThrowsAny<CryptographicException>(() => Primitives.Open(key, "info", sealedBytes, "ad"u8));
    }
}
