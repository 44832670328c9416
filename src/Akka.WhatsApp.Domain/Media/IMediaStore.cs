namespace Akka.WhatsApp.Domain.Media;

/// <summary>
/// An HTTP request the client makes to the media store itself (media never travels in frames): the method, the URL and
/// the headers it must send exactly as given, valid until <see cref="ExpiresAt"/>.
/// </summary>
public sealed record PresignedRequest(string Method, Uri Url, IReadOnlyList<KeyValuePair<string, string>> Headers, DateTimeOffset ExpiresAt);

/// <summary>What a store holds under a media id: its size in bytes and the SHA-256 of those bytes.</summary>
public sealed record StoredObject(long Size, byte[] Sha256);

/// <summary>
/// Where media bytes live (PROTOCOL.md §12): S3/MinIO in production, the local disk on the embedded default. The
/// server only hands out presigned URLs, checks what was uploaded and deletes what expired; the bytes are the
/// client's ciphertext. Media ids are made by the server (<see cref="MediaIds"/>) and are the object names.
/// </summary>
public interface IMediaStore : IAsyncDisposable
{
    /// <summary>"local" or "s3", for logs and metrics.</summary>
    string Name { get; }

    /// <summary>Prepares the store: the local store starts its HTTP listener; the S3 store checks (or creates) its bucket.</summary>
    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>A PUT of exactly <paramref name="size"/> bytes under <paramref name="mediaId"/>, valid for <paramref name="validFor"/>.</summary>
    Task<PresignedRequest> UploadUrlAsync(string mediaId, long size, TimeSpan validFor, CancellationToken cancellationToken);

    /// <summary>A GET of the object (Range requests supported), valid for <paramref name="validFor"/>.</summary>
    Task<PresignedRequest> DownloadUrlAsync(string mediaId, TimeSpan validFor, CancellationToken cancellationToken);

    /// <summary>The object's size and SHA-256, or null when nothing (complete) is stored under the id.</summary>
    Task<StoredObject?> StatAsync(string mediaId, CancellationToken cancellationToken);

    /// <summary>Removes the object; removing one that is not there is not an error.</summary>
    Task DeleteAsync(string mediaId, CancellationToken cancellationToken);
}

/// <summary>Media ids: 128 random bits as 32 lowercase hex digits, unguessable, safe as object names and in URLs.</summary>
public static class MediaIds
{
    public static string New() => Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();

    public static bool IsValid(string? id) => id is { Length: 32 } && id.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');
}
