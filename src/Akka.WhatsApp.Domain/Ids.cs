namespace Akka.WhatsApp.Domain;

/// <summary>A user, identified by an opaque server-assigned id.</summary>
public readonly record struct UserId(string Value)
{
    /// <summary>A new opaque user id: 15 random bytes in base32 (24 lower-case characters, no padding).</summary>
    public static UserId New()
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyz234567";
        Span<byte> bytes = stackalloc byte[15];
        System.Security.Cryptography.RandomNumberGenerator.Fill(bytes);
        var chars = new char[24];
        var bits = 0;
        var value = 0;
        var i = 0;
        foreach (var b in bytes)
        {
            value = (value << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                chars[i++] = alphabet[(value >> (bits - 5)) & 31];
                bits -= 5;
            }
        }
        return new UserId(new string(chars, 0, i));
    }

    public override string ToString() => Value;
}

/// <summary>A device of a user: 1 is the primary, companions get 2..n.</summary>
public readonly record struct DeviceId(uint Value)
{
    public static readonly DeviceId Primary = new(1);
    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>A group, identified by an opaque server-assigned id.</summary>
public readonly record struct GroupId(string Value)
{
    public override string ToString() => Value;
}

/// <summary>
/// The 128-bit id a sending client generates for each message: the end-to-end deduplication key.
/// </summary>
public readonly record struct MessageId(Guid Value)
{
    public static MessageId New() => new(Guid.NewGuid());

    /// <summary>
    /// The id of a message the server makes itself (a SYSTEM event): the first 16 bytes of SHA-256 of <paramref name="name"/>,
    /// so that making it again (a retry, a recovery) gives the same id and the mailbox stores it once.
    /// </summary>
    public static MessageId Derived(string name) =>
        new(new Guid(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(name)).AsSpan(0, 16)));

    /// <summary>Reads the 16 bytes a client sends on the wire.</summary>
    public static bool TryFrom(ReadOnlySpan<byte> bytes, out MessageId id)
    {
        if (bytes.Length != 16)
        {
            id = default;
            return false;
        }
        id = new MessageId(new Guid(bytes));
        return true;
    }

    public byte[] ToByteArray() => Value.ToByteArray();

    public override string ToString() => Value.ToString("N");
}
