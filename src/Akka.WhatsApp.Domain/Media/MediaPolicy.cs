namespace Akka.WhatsApp.Domain.Media;

/// <summary>What a media object is for; the numbers are the wire's <c>MediaKind</c> (media.proto).</summary>
public enum MediaClass
{
    Image = 1,
    Video = 2,
    Audio = 3,
    Document = 4,
    Sticker = 5,
    ProfilePhoto = 6,
    GroupIcon = 7,
    Status = 8,
    HistorySync = 9,
}

/// <summary>One media object the server knows of: who reserved it, what it must be, and until when it is kept.</summary>
public sealed record MediaRecord(
    string MediaId,
    string Owner,
    MediaClass Kind,
    long Size,
    byte[] Sha256,
    string MimeType,
    DateTimeOffset CreatedAt,
    DateTimeOffset UploadBy,
    bool Completed,
    DateTimeOffset? RetainedUntil);

/// <summary>Why a reservation is refused.</summary>
public enum MediaRefusal
{
    None,
    TooLarge,
    RateLimited,
    QuotaExceeded,
}

/// <summary>
/// The media rules (PROTOCOL.md §12), pure: the largest object of each kind, how long an upload URL is valid, how long
/// each kind is kept once uploaded, and each user's upload rate and daily bytes. WhatsApp-like defaults: 16 MiB images
/// and stickers, 100 MiB video and audio, 2 GiB documents and history archives, chat media kept 30 days, status media
/// 24 hours, profile photos and group icons while they are current (no fixed expiry).
/// </summary>
public sealed record MediaPolicy
{
    public long MaxImageBytes { get; init; } = 16L << 20;
    public long MaxVideoBytes { get; init; } = 100L << 20;
    public long MaxDocumentBytes { get; init; } = 2L << 30;
    public TimeSpan UploadUrlValidity { get; init; } = TimeSpan.FromMinutes(15);
    public TimeSpan DownloadUrlValidity { get; init; } = TimeSpan.FromMinutes(15);
    public TimeSpan ChatRetention { get; init; } = TimeSpan.FromDays(30);
    public TimeSpan StatusRetention { get; init; } = TimeSpan.FromHours(24);

    /// <summary>History archives live as long as the sync that names them (PROTOCOL.md §17): the companion fetches within it.</summary>
    public TimeSpan HistorySyncRetention { get; init; } = TimeSpan.FromDays(7);

    /// <summary>Reservations a user may make per minute (all their devices together).</summary>
    public int UploadsPerMinute { get; init; } = 60;

    /// <summary>Bytes a user may reserve per 24 hours.</summary>
    public long DailyBytes { get; init; } = 10L << 30;

    public long MaxBytes(MediaClass kind) => kind switch
    {
        MediaClass.Image or MediaClass.Sticker or MediaClass.ProfilePhoto or MediaClass.GroupIcon => MaxImageBytes,
        MediaClass.Video or MediaClass.Audio or MediaClass.Status => MaxVideoBytes,
        _ => MaxDocumentBytes,
    };

    /// <summary>Until when an object uploaded at <paramref name="completedAt"/> is kept; null = while it is referenced.</summary>
    public DateTimeOffset? RetainedUntil(MediaClass kind, DateTimeOffset completedAt) => kind switch
    {
        MediaClass.ProfilePhoto or MediaClass.GroupIcon => null,
        MediaClass.Status => completedAt + StatusRetention,
        MediaClass.HistorySync => completedAt + HistorySyncRetention,
        _ => completedAt + ChatRetention,
    };

    /// <summary>
    /// Whether a user who reserved <paramref name="lastMinute"/> objects in the last minute and <paramref name="lastDay"/>
    /// bytes in the last 24 hours may reserve <paramref name="size"/> more bytes of <paramref name="kind"/>.
    /// </summary>
    public MediaRefusal Check(MediaClass kind, long size, int lastMinute, long lastDay) =>
        size <= 0 || size > MaxBytes(kind) ? MediaRefusal.TooLarge
        : lastMinute >= UploadsPerMinute ? MediaRefusal.RateLimited
        : lastDay + size > DailyBytes ? MediaRefusal.QuotaExceeded
        : MediaRefusal.None;
}

/// <summary>
/// The media metadata (a table beside the journal): every reservation, its completion, and what has expired. The
/// edge reads and writes it; the sweeper deletes what it lists as expired, from the store and then from here.
/// </summary>
public interface IMediaCatalog
{
    Task ReserveAsync(MediaRecord record, CancellationToken cancellationToken);

    Task<MediaRecord?> FindAsync(string mediaId, CancellationToken cancellationToken);

    /// <summary>Marks the object uploaded and checked, kept until <paramref name="retainedUntil"/> (null: while referenced).</summary>
    Task CompleteAsync(string mediaId, DateTimeOffset? retainedUntil, CancellationToken cancellationToken);

    /// <summary>How many objects and bytes <paramref name="owner"/> reserved since the two times.</summary>
    Task<(int Count, long Bytes)> UsageAsync(string owner, DateTimeOffset countSince, DateTimeOffset bytesSince, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="max"/> ids whose retention ended, or whose upload never completed in time, by <paramref name="now"/>.</summary>
    Task<IReadOnlyList<string>> ExpiredAsync(DateTimeOffset now, int max, CancellationToken cancellationToken);

    Task RemoveAsync(string mediaId, CancellationToken cancellationToken);

    /// <summary>Objects and bytes of completed uploads (for the metrics).</summary>
    Task<(long Objects, long Bytes)> TotalsAsync(CancellationToken cancellationToken);
}
