using Akka.WhatsApp.Protocol;
using Google.Protobuf;

namespace Akka.WhatsApp.Client.Status;

/// <summary>The server stored a status post (or had it already: a retry).</summary>
public sealed record StatusPostResult(ByteString StatusId, DateTimeOffset PostedAt, DateTimeOffset ExpiresAt, bool Duplicate, IReadOnlyList<string> Audience);

/// <summary>
/// One status post as this device sees it. <see cref="Body"/> is the decrypted content (text, or a serialized
/// <see cref="MediaReference"/> for media kinds); null when this device got no ciphertext (its own post, sent from this
/// device) or could not decrypt it.
/// </summary>
public sealed record StatusEntry(string Owner, uint OwnerDevice, ByteString StatusId, ContentKind Kind, DateTimeOffset PostedAt, DateTimeOffset ExpiresAt,
    ByteString? Body, bool Viewed, StatusAudience? Audience)
{
    /// <summary>The text of a TEXT status, or the caption of a media one.</summary>
    public string? Text => Body is null ? null
        : Kind == ContentKind.Text ? Body.ToStringUtf8()
        : Media?.Caption;

    /// <summary>The media of an IMAGE, VIDEO or VOICE_NOTE status (download it with MediaTransfer).</summary>
    public MediaReference? Media
    {
        get
        {
            if (Body is null || Kind == ContentKind.Text)
                return null;
            try
            {
                return MediaReference.Parser.ParseFrom(Body);
            }
            catch (InvalidProtocolBufferException)
            {
                return null;
            }
        }
    }
}

/// <summary>Who viewed one of this user's posts: all viewers are counted, those with read receipts off are not named.</summary>
public sealed record StatusViewerList(ByteString StatusId, int Count, IReadOnlyList<(string UserId, DateTimeOffset At)> Viewers);

/// <summary>A contact posted or deleted a status (the server's StatusUpdated hint): fetch the feed to see it.</summary>
public sealed record StatusChanged(string Owner, ByteString StatusId, bool Deleted) : ClientEvent;

/// <summary>
/// The status privacy (PROTOCOL.md §14) applied on the device, since the server never sees a contact list: the audience of a
/// post is computed here from this user's contacts and then encrypted for, device by device.
/// </summary>
public static class StatusAudiences
{
    /// <summary>
    /// The users a post goes to: all <paramref name="contacts"/> (CONTACTS, and UNSPECIFIED), all but the named users
    /// (CONTACTS_EXCEPT), or only the named users (ONLY_SHARE_WITH, who need not be in <paramref name="contacts"/>).
    /// </summary>
    public static IReadOnlyList<string> Resolve(StatusAudience audience, IEnumerable<string> contacts, string self)
    {
        var named = audience.UserIds.ToHashSet(StringComparer.Ordinal);
        IEnumerable<string> users = audience.Mode switch
        {
            StatusAudienceMode.OnlyShareWith => named,
            StatusAudienceMode.ContactsExcept => contacts.Where(c => !named.Contains(c)),
            _ => contacts,
        };
        return [.. users.Where(u => u.Length > 0 && u != self).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
    }

    /// <summary>Reads the CLI's form: <c>contacts</c>, <c>except:u1,u2</c> or <c>only:u1,u2</c>.</summary>
    public static StatusAudience Parse(string text)
    {
        var (mode, rest) = text.Split(':', 2) switch
        {
            ["contacts"] => (StatusAudienceMode.Contacts, ""),
            ["except", var users] => (StatusAudienceMode.ContactsExcept, users),
            ["only", var users] => (StatusAudienceMode.OnlyShareWith, users),
            _ => throw new FormatException($"an audience is contacts, except:user,... or only:user,..., not '{text}'"),
        };
        var audience = new StatusAudience { Mode = mode };
        audience.UserIds.AddRange(rest.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        if (mode != StatusAudienceMode.Contacts && audience.UserIds.Count == 0)
            throw new FormatException($"{text.Split(':')[0]}: names at least one user");
        return audience;
    }
}
