using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Akka.WhatsApp.Media.Local;

/// <summary>
/// HMAC-SHA256 signatures of the local store's URLs. A signature covers the method, the media id, the size (uploads
/// only) and the expiry, so that none of them can be changed, nor a download URL used to upload.
/// </summary>
internal sealed class UrlSigner
{
    public const int MinSecretBytes = 32;

    private readonly byte[] secret;

    public UrlSigner(byte[] secret)
    {
        if (secret is not { Length: >= MinSecretBytes })
            throw new ArgumentException($"the URL signing secret must be at least {MinSecretBytes} bytes", nameof(secret));
        this.secret = (byte[])secret.Clone();
    }

    /// <summary>The signature as unpadded base64url (43 characters).</summary>
    public string Sign(string method, string mediaId, long? size, long expiresUnixMs)
    {
        var canonical = string.Create(CultureInfo.InvariantCulture, $"{method}\n{mediaId}\n{size}\n{expiresUnixMs}");
        return Base64Url.EncodeToString(HMACSHA256.HashData(secret, Encoding.UTF8.GetBytes(canonical)));
    }

    /// <summary>
    /// True when <paramref name="signature"/> is exactly the canonical encoding of the expected one. Comparing the
    /// encoded text (in constant time) rather than decoded bytes also refuses other spellings of the same bytes.
    /// </summary>
    public bool Verify(string method, string mediaId, long? size, long expiresUnixMs, string signature) =>
        CryptographicOperations.FixedTimeEquals(
            Encoding.ASCII.GetBytes(Sign(method, mediaId, size, expiresUnixMs)),
            Encoding.ASCII.GetBytes(signature));
}
