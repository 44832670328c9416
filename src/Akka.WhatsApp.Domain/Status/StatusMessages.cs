using System.Collections.Immutable;
using Akka.WhatsApp.Domain.Mailbox;

namespace Akka.WhatsApp.Domain.Status;

/// <summary>A status post's id: 128 bits chosen by the posting client, the key of its idempotent retries.</summary>
public readonly record struct StatusId(Guid Value)
{
    public static StatusId New() => new(Guid.NewGuid());

    /// <summary>Reads the 16 bytes a client sends on the wire.</summary>
    public static bool TryFrom(ReadOnlySpan<byte> bytes, out StatusId id)
    {
        if (bytes.Length != 16)
        {
            id = default;
            return false;
        }
        id = new StatusId(new Guid(bytes));
        return true;
    }

    public byte[] ToByteArray() => Value.ToByteArray();

    public override string ToString() => Value.ToString("N");
}

/// <summary>
/// Marker for every message addressed to a Status entity. The shard key is <see cref="Owner"/>: the poster for its
/// own posts, the viewer for its feed index (each user has one entity holding both).
/// </summary>
public interface IStatusCommand
{
    UserId Owner { get; }
}

/// <summary>Marker for the events a Status entity persists.</summary>
public interface IStatusEvent;

/// <summary>Marker for the replies of a Status entity (they may cross nodes).</summary>
public interface IStatusReply;

/// <summary>Marker for what a Status entity publishes to sessions (over the users' inbox topics, across nodes).</summary>
public interface IStatusPush;

/// <summary>Values of the wire StatusAudienceMode (kept only to show the poster's own devices whom a post went to).</summary>
public enum StatusAudienceMode
{
    Unspecified = 0,
    Contacts = 1,
    ContactsExcept = 2,
    OnlyShareWith = 3,
}

/// <summary>The audience as the poster's client described it; the server's audience is who got ciphertexts.</summary>
public sealed record StatusAudience(StatusAudienceMode Mode, ImmutableArray<UserId> Users)
{
    public static readonly StatusAudience Default = new(StatusAudienceMode.Unspecified, []);

    public ImmutableArray<UserId> Users { get; init; } = Users.IsDefault ? [] : Users;
}

/// <summary>One view of a post. <paramref name="Listed"/> is false when the viewer's read receipts are off: counted, not named.</summary>
public sealed record StatusView(DateTimeOffset At, bool Listed);

/// <summary>
/// One post as its owner's entity keeps it until it expires or is deleted: the ciphertext for each audience device
/// (the audience is the users named in <see cref="Ciphertexts"/> besides the owner), and who viewed it.
/// </summary>
public sealed record StatusPost(
    StatusId Id,
    DeviceId FromDevice,
    int Kind,
    string MediaId,
    StatusAudience Audience,
    DateTimeOffset PostedAt,
    DateTimeOffset ExpiresAt,
    long ClientTimestamp,
    ImmutableDictionary<UserId, ImmutableSortedDictionary<uint, DeviceCiphertext>> Ciphertexts)
{
    public ImmutableDictionary<UserId, StatusView> Views { get; init; } = ImmutableDictionary<UserId, StatusView>.Empty;

    /// <summary>Every audience user's entity has the post in its feed index (set once acknowledged by all).</summary>
    public bool FannedOut { get; init; }

    /// <summary>The users who may see the post: those it was encrypted for, the owner aside.</summary>
    public IEnumerable<UserId> AudienceOf(UserId owner) => Ciphertexts.Keys.Where(u => u != owner);
}

/// <summary>An entry of a viewer's feed index: a post of <paramref name="Owner"/> that expires at <paramref name="ExpiresAt"/>. No content.</summary>
public readonly record struct FeedEntry(UserId Owner, StatusId Status);

/// <summary>One post as one device sees it in its feed.</summary>
public sealed record StatusItemView(
    UserId Owner,
    DeviceId FromDevice,
    StatusId Id,
    int Kind,
    DateTimeOffset PostedAt,
    DateTimeOffset ExpiresAt,
    DeviceCiphertext? Ciphertext,
    bool Viewed,
    string MediaId,
    StatusAudience? Audience);

/// <summary>Why a status command is refused; the edge maps each to a wire error code.</summary>
public enum StatusError
{
    InvalidArgument = 1,
    NotFound = 2,
    LimitReached = 3,
}

public static class StatusCommands
{
    /// <summary>Post a status; idempotent by <paramref name="Id"/>.</summary>
    public sealed record Post(
        UserId Owner,
        DeviceId FromDevice,
        StatusId Id,
        int Kind,
        string MediaId,
        StatusAudience Audience,
        long ClientTimestamp,
        ImmutableDictionary<UserId, ImmutableSortedDictionary<uint, DeviceCiphertext>> Ciphertexts) : IStatusCommand;

    /// <summary>The owner deletes one of its posts before it expires.</summary>
    public sealed record Delete(UserId Owner, StatusId Id) : IStatusCommand;

    /// <summary>The owner's unexpired posts that <paramref name="Viewer"/>'s device may see (posted after <paramref name="Since"/>).</summary>
    public sealed record GetItems(UserId Owner, UserId Viewer, DeviceId ViewerDevice, DateTimeOffset Since) : IStatusCommand;

    /// <summary><paramref name="Viewer"/> viewed these posts of the owner; <paramref name="Listed"/>: its read receipts are on.</summary>
    public sealed record View(UserId Owner, UserId Viewer, ImmutableArray<StatusId> Ids, bool Listed) : IStatusCommand;

    /// <summary>The owner asks who viewed one of its posts (the entity is the owner's: nobody else can ask).</summary>
    public sealed record GetViewers(UserId Owner, StatusId Id) : IStatusCommand;

    /// <summary>Feed index: a post of <paramref name="From"/> that the owner (a viewer) may see, until it expires.</summary>
    public sealed record Index(UserId Owner, UserId From, StatusId Id, DateTimeOffset ExpiresAt) : IStatusCommand;

    /// <summary>The users whose unexpired posts the owner (a viewer) may see, itself included when it has posts.</summary>
    public sealed record GetFeedOwners(UserId Owner) : IStatusCommand;

    /// <summary>The entity's expiry timer fired (or it recovered): remove what is overdue.</summary>
    public sealed record ExpireDue(UserId Owner) : IStatusCommand;
}

public static class StatusEvents
{
    public sealed record Posted(StatusPost Post) : IStatusEvent;

    public sealed record Deleted(StatusId Id, DateTimeOffset At) : IStatusEvent;

    /// <summary>Posts and feed-index entries expired at <paramref name="At"/> (the entries: every one expiring by then).</summary>
    public sealed record Expired(ImmutableArray<StatusId> Ids, DateTimeOffset At) : IStatusEvent;

    public sealed record Viewed(StatusId Id, UserId Viewer, DateTimeOffset At, bool Listed) : IStatusEvent;

    /// <summary>Every audience user's feed index has the post.</summary>
    public sealed record FannedOut(StatusId Id) : IStatusEvent;

    public sealed record Indexed(UserId From, StatusId Id, DateTimeOffset ExpiresAt) : IStatusEvent;
}

public static class StatusReplies
{
    public sealed record Posted(StatusId Id, DateTimeOffset At, DateTimeOffset ExpiresAt, bool Duplicate) : IStatusReply;

    /// <summary>A post is gone: whom to tell and which media to release.</summary>
    public sealed record Deleted(StatusId Id, string MediaId) : IStatusReply;

    public sealed record Items(ImmutableArray<StatusItemView> Posts) : IStatusReply;

    public sealed record Viewers(StatusId Id, int Count, ImmutableArray<(UserId User, DateTimeOffset At)> Listed) : IStatusReply;

    public sealed record FeedOwners(ImmutableArray<UserId> Owners) : IStatusReply;

    public sealed record Done : IStatusReply
    {
        public static readonly Done Instance = new();
    }

    public sealed record Rejected(StatusError Error, string Reason, DateTimeOffset? RetryAt = null) : IStatusReply;
}

/// <summary>
/// The StatusUpdated hint to the online devices of one user (the devices a post was encrypted for; empty: all of
/// them): ephemeral, it carries no content, the device fetches its feed.
/// </summary>
public sealed record StatusHint(UserId To, ImmutableArray<uint> Devices, UserId Owner, StatusId Id, bool Deleted) : IStatusPush
{
    public ImmutableArray<uint> Devices { get; init; } = Devices.IsDefault ? [] : Devices;

    public bool IsFor(DeviceId device) => Devices.IsEmpty || Devices.Contains(device.Value);
}
