namespace Akka.WhatsApp.Domain.Media;

/// <summary>Why a media request fails; the edge maps each to a wire error code.</summary>
public enum MediaError
{
    None,
    TooLarge,
    RateLimited,
    NotFound,
    NotUploaded,
}

/// <summary>A media request's answer: the record and (for upload and download) the request the client makes, or an error.</summary>
public sealed record MediaOutcome(MediaError Error, MediaRecord? Record = null, PresignedRequest? Request = null, string Detail = "")
{
    public static MediaOutcome Failed(MediaError error, string detail) => new(error, Detail: detail);
}

/// <summary>
/// The media flow (PROTOCOL.md §12) over the catalog and the store: reserve an id and hand out a presigned upload URL
/// (size limits, upload rate and daily bytes per user), check the upload on completion (size and SHA-256 as
/// reserved, else the object is deleted), hand out download URLs while the object is kept, and sweep what expired.
/// Every node runs one; the catalog is shared through the database, so limits and expiry hold across the cluster.
/// </summary>
public sealed class MediaService(IMediaStore store, IMediaCatalog catalog, MediaPolicy policy, TimeProvider time)
{
    public IMediaStore Store => store;

    public MediaPolicy Policy => policy;

    public async Task<MediaOutcome> ReserveAsync(string owner, MediaClass kind, long size, byte[] sha256, string mimeType, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var (lastMinute, lastDay) = await catalog.UsageAsync(owner, now.AddMinutes(-1), now.AddDays(-1), cancellationToken);
        switch (policy.Check(kind, size, lastMinute, lastDay))
        {
            case MediaRefusal.TooLarge:
                return MediaOutcome.Failed(MediaError.TooLarge, $"{kind} media is 1 to {policy.MaxBytes(kind)} bytes, not {size}");
            case MediaRefusal.RateLimited:
                return MediaOutcome.Failed(MediaError.RateLimited, $"at most {policy.UploadsPerMinute} uploads a minute");
            case MediaRefusal.QuotaExceeded:
                return MediaOutcome.Failed(MediaError.RateLimited, $"at most {policy.DailyBytes} bytes of uploads a day");
        }
        var record = new MediaRecord(MediaIds.New(), owner, kind, size, sha256, mimeType, now, now + policy.UploadUrlValidity, Completed: false, RetainedUntil: null);
        await catalog.ReserveAsync(record, cancellationToken);
        var request = await store.UploadUrlAsync(record.MediaId, size, policy.UploadUrlValidity, cancellationToken);
        return new MediaOutcome(MediaError.None, record, request);
    }

    /// <summary>
    /// The owner's upload is done: the stored object must have the reserved size and hash. A mismatch deletes the
    /// object (the owner may reserve anew); a completion repeated after success answers the same.
    /// </summary>
    public async Task<MediaOutcome> CompleteAsync(string owner, string mediaId, CancellationToken cancellationToken)
    {
        if (!MediaIds.IsValid(mediaId) || await catalog.FindAsync(mediaId, cancellationToken) is not { } record || record.Owner != owner)
            return MediaOutcome.Failed(MediaError.NotFound, "no upload of yours has this media id");
        if (record.Completed)
            return new MediaOutcome(MediaError.None, record);
        var stored = await store.StatAsync(mediaId, cancellationToken);
        if (stored is null)
            return MediaOutcome.Failed(MediaError.NotUploaded, "nothing was uploaded under this media id");
        if (stored.Size != record.Size || !stored.Sha256.AsSpan().SequenceEqual(record.Sha256))
        {
            await store.DeleteAsync(mediaId, cancellationToken);
            await catalog.RemoveAsync(mediaId, cancellationToken);
            return MediaOutcome.Failed(MediaError.NotUploaded,
                stored.Size != record.Size ? $"{stored.Size} bytes were uploaded, {record.Size} were announced" : "the uploaded bytes do not have the announced SHA-256");
        }
        var until = policy.RetainedUntil(record.Kind, time.GetUtcNow());
        await catalog.CompleteAsync(mediaId, until, cancellationToken);
        return new MediaOutcome(MediaError.None, record with { Completed = true, RetainedUntil = until });
    }

    /// <summary>
    /// A download URL for a completed, unexpired object. Anyone logged in who knows the id may download the ciphertext
    /// (§12: useless without the key inside the end-to-end encrypted message), as in WhatsApp.
    /// </summary>
    /// Profile photos and group icons are not end-to-end encrypted: <paramref name="visible"/> says whether the asking
    /// user may see such an object (its owner's privacy settings), and they are NOT_FOUND otherwise.
    public async Task<MediaOutcome> DownloadAsync(string mediaId, Func<MediaRecord, Task<bool>> visible, CancellationToken cancellationToken)
    {
        if (!MediaIds.IsValid(mediaId) || await catalog.FindAsync(mediaId, cancellationToken) is not { Completed: true } record
            || record.RetainedUntil is { } until && until <= time.GetUtcNow()
            || record.Kind is MediaClass.ProfilePhoto or MediaClass.GroupIcon or MediaClass.HistorySync && !await visible(record))
            return MediaOutcome.Failed(MediaError.NotFound, "no media with this id (or it expired)");
        var request = await store.DownloadUrlAsync(mediaId, policy.DownloadUrlValidity, cancellationToken);
        return new MediaOutcome(MediaError.None, record, request);
    }

    /// <summary>
    /// Whether <paramref name="mediaId"/> is a completed upload of <paramref name="owner"/>'s of <paramref name="kind"/>:
    /// what a profile photo or group icon must be before it is set.
    /// </summary>
    public async Task<bool> IsOwnAsync(string owner, string mediaId, MediaClass kind, CancellationToken cancellationToken) =>
        MediaIds.IsValid(mediaId) && await catalog.FindAsync(mediaId, cancellationToken) is { Completed: true } record
        && record.Owner == owner && record.Kind == kind;

    /// <summary>An object kept while referenced (a profile photo, a group icon) is no longer: the next sweep deletes it.</summary>
    public async Task ReleaseAsync(string mediaId, CancellationToken cancellationToken)
    {
        if (MediaIds.IsValid(mediaId) && await catalog.FindAsync(mediaId, cancellationToken) is { RetainedUntil: null })
            await catalog.CompleteAsync(mediaId, time.GetUtcNow(), cancellationToken);
    }

    /// <summary>
    /// A completed object with a fixed lifetime is kept until <paramref name="until"/> instead (a status post's media lives
    /// exactly as long as the post; now releases it, and the next sweep deletes it).
    /// </summary>
    public async Task KeepUntilAsync(string mediaId, DateTimeOffset until, CancellationToken cancellationToken)
    {
        if (MediaIds.IsValid(mediaId) && await catalog.FindAsync(mediaId, cancellationToken) is { Completed: true })
            await catalog.CompleteAsync(mediaId, until, cancellationToken);
    }

    /// <summary>Deletes up to <paramref name="max"/> expired objects (from the store, then the catalog); returns how many.</summary>
    public async Task<int> SweepAsync(int max, CancellationToken cancellationToken)
    {
        var expired = await catalog.ExpiredAsync(time.GetUtcNow(), max, cancellationToken);
        foreach (var id in expired)
        {
            await store.DeleteAsync(id, cancellationToken);
            await catalog.RemoveAsync(id, cancellationToken);
        }
        return expired.Count;
    }
}
