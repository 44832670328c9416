using System.Security.Cryptography;
using Google.Protobuf;

namespace Akka.WhatsApp.Client.Calls;

/// <summary>A call's id: 16 random bytes the caller chooses (PROTOCOL.md §15), shown as 32 lowercase hex characters.</summary>
public readonly record struct CallId
{
    public const int Length = 16;

    private CallId(ByteString bytes) => Bytes = bytes;

    public ByteString Bytes { get; }

    public static CallId New() => new(ByteString.CopyFrom(RandomNumberGenerator.GetBytes(Length)));

    public static CallId Of(ByteString bytes) =>
        bytes is { Length: Length } ? new CallId(bytes) : throw new ArgumentException($"a call id is {Length} bytes", nameof(bytes));

    public static CallId Parse(string hex)
    {
        ArgumentNullException.ThrowIfNull(hex);
        try
        {
            return Of(ByteString.CopyFrom(Convert.FromHexString(hex)));
        }
        catch (FormatException e)
        {
            throw new ArgumentException($"a call id is {2 * Length} hex characters, not '{hex}'", nameof(hex), e);
        }
    }

    public override string ToString() => Bytes is null ? "" : Convert.ToHexStringLower(Bytes.Span);
}
