namespace Akka.WhatsApp.Protocol.Framing;

/// <summary>The outcome of reading a varint32 from the front of a buffer.</summary>
public enum VarintStatus
{
    /// <summary>A complete varint was read.</summary>
    Ok,

    /// <summary>The buffer ends inside the varint; read more bytes and try again.</summary>
    NeedMoreData,

    /// <summary>Longer than 5 bytes, or the 5th byte carries bits beyond 32: the stream cannot be framed.</summary>
    Malformed,
}

/// <summary>
/// Unsigned LEB128 ("Protobuf varint") limited to 32 bits and 5 bytes: the length prefix of every frame.
/// </summary>
public static class Varint32
{
    /// <summary>The longest encoding of a 32-bit value.</summary>
    public const int MaxLength = 5;

    /// <summary>How many bytes <see cref="Write"/> uses for <paramref name="value"/> (1..5).</summary>
    public static int SizeOf(uint value) => value switch
    {
        < 1u << 7 => 1,
        < 1u << 14 => 2,
        < 1u << 21 => 3,
        < 1u << 28 => 4,
        _ => 5,
    };

    /// <summary>Writes the minimal encoding of <paramref name="value"/> and returns the number of bytes written.</summary>
    /// <exception cref="ArgumentException"><paramref name="dest"/> is shorter than <see cref="SizeOf"/>.</exception>
    public static int Write(Span<byte> dest, uint value)
    {
        var size = SizeOf(value);
        if (dest.Length < size)
            throw new ArgumentException($"{size} bytes are needed to write {value}, the destination has {dest.Length}", nameof(dest));

        var i = 0;
        while (value >= 0x80)
        {
            dest[i++] = (byte)(value | 0x80);
            value >>= 7;
        }
        dest[i++] = (byte)value;
        return i;
    }

    /// <summary>
    /// Reads a varint32 from the start of <paramref name="src"/>. Never throws; on anything but
    /// <see cref="VarintStatus.Ok"/> the outputs are 0. Non-minimal encodings of up to 5 bytes are accepted.
    /// </summary>
    public static VarintStatus TryRead(ReadOnlySpan<byte> src, out uint value, out int bytesRead)
    {
        value = 0;
        bytesRead = 0;
        uint result = 0;
        for (var i = 0; i < MaxLength - 1; i++)
        {
            if (i == src.Length)
                return VarintStatus.NeedMoreData;
            uint b = src[i];
            result |= (b & 0x7F) << (7 * i);
            if (b < 0x80)
            {
                value = result;
                bytesRead = i + 1;
                return VarintStatus.Ok;
            }
        }

        if (src.Length < MaxLength)
            return VarintStatus.NeedMoreData;
        // The 5th byte holds bits 28..31 only: a continuation bit (a 6th byte) or any higher bit is malformed.
        uint last = src[MaxLength - 1];
        if (last > 0x0F)
            return VarintStatus.Malformed;
        value = result | (last << 28);
        bytesRead = MaxLength;
        return VarintStatus.Ok;
    }
}
