namespace Akka.WhatsApp.Client.Crypto;

/// <summary>
/// A device's long-term identity: an Ed25519 key (what the server stores as <c>identity_key</c> and what signs the
/// prekeys) whose X25519 form takes part in the PQXDH handshake (<see cref="Primitives.IdentityDhSecret"/>), and the
/// install's random registration id.
/// </summary>
public sealed class IdentityKeyPair
{
    public IdentityKeyPair(byte[] seed, uint registrationId)
    {
        if (seed.Length != Primitives.KeySize)
            throw new ArgumentException("an identity seed is 32 bytes", nameof(seed));
        if (registrationId == 0)
            throw new ArgumentException("a registration id is not 0", nameof(registrationId));
        Seed = seed;
        PublicKey = Primitives.Ed25519Public(seed);
        DhSecret = Primitives.IdentityDhSecret(seed);
        RegistrationId = registrationId;
    }

    public static IdentityKeyPair Generate()
    {
        uint id;
        do
            id = BitConverter.ToUInt32(Primitives.RandomBytes(4)) & 0x3FFF; // 14 bits, as Signal's
        while (id == 0);
        return new IdentityKeyPair(Primitives.NewEd25519Seed(), id);
    }

    public byte[] Seed { get; }
    public byte[] PublicKey { get; }
    public byte[] DhSecret { get; }
    public uint RegistrationId { get; }

    public byte[] Sign(ReadOnlySpan<byte> message) => Primitives.Sign(Seed, message);
}
