using System.Security.Cryptography;
using System.Text;

namespace Akka.WhatsApp.Domain.Groups;

/// <summary>
/// Group ids (PROTOCOL.md §11): 32 lowercase hex characters, derived from the creator and the request key, so that a
/// retried CreateGroup reaches the same group; invite codes are the group id followed by a secret, both lowercase hex.
/// </summary>
public static class GroupIds
{
    public const int Length = 32;

    /// <summary>The id of the group <paramref name="creator"/> creates with <paramref name="requestKey"/>.</summary>
    public static GroupId Derive(UserId creator, ReadOnlySpan<byte> requestKey) =>
        new(Convert.ToHexString(SHA256.HashData([.. Encoding.UTF8.GetBytes(creator.Value + "\0"), .. requestKey]).AsSpan(0, Length / 2)).ToLowerInvariant());

    /// <summary>Whether <paramref name="id"/> has the shape of a group id (anything else cannot be a group anyone belongs to).</summary>
    public static bool IsWellFormed(string id) => id.Length == Length && id.All(char.IsAsciiHexDigitLower);

    public static string InviteCode(GroupId group, string secret) => group.Value + secret;

    /// <summary>Splits an invite code into its group and secret; false when it cannot be one.</summary>
    public static bool TryParseInvite(string code, out GroupId group, out string secret)
    {
        (group, secret) = (default, "");
        if (code.Length is <= Length or > 3 * Length || !code.All(char.IsAsciiHexDigitLower))
            return false;
        (group, secret) = (new GroupId(code[..Length]), code[Length..]);
        return true;
    }
}
