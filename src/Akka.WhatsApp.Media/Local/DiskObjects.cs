using System.Globalization;
using System.Security.Cryptography;

namespace Akka.WhatsApp.Media.Local;

/// <summary>What the local store knows of a complete object: its size, its SHA-256 and which data file holds it.</summary>
internal sealed record ObjectMeta(long Size, byte[] Sha256, string Token);

/// <summary>How an upload ended.</summary>
internal enum UploadOutcome { Stored, TooLarge, TooShort, AlreadyExists }

/// <summary>
/// The local store's files. An object is <c>{root}/{id[0..2]}/{id}.{token}.data</c> plus the sidecar
/// <c>{id}.meta</c> ("v1 size sha256 token") that names it. An upload streams into <c>{id}.{token}.part</c>, renames it
/// to <c>.data</c>, then publishes the sidecar with one rename that fails when the id is taken: that rename is the commit,
/// so a reader sees the whole object or nothing, and a crash leaves at most an orphan file no sidecar points to.
/// Files are created with mode 600, folders with 700 (Unix).
/// </summary>
internal sealed class DiskObjects(string root)
{
    private const int BufferBytes = 64 * 1024;

    private static readonly UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private static readonly UnixFileMode FolderMode = FileMode | UnixFileMode.UserExecute;

    public void EnsureRoot() => CreateFolder(root);

    public async Task<ObjectMeta?> ReadMetaAsync(string mediaId, CancellationToken cancellationToken)
    {
        string text;
        try
        {
            text = await File.ReadAllTextAsync(MetaPath(mediaId), cancellationToken);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        var parts = text.Trim().Split(' ');
        if (parts is not ["v1", var size, var sha, var token])
            throw new InvalidDataException($"unreadable media sidecar {MetaPath(mediaId)}");
        return new ObjectMeta(long.Parse(size, NumberStyles.None, CultureInfo.InvariantCulture), Convert.FromHexString(sha), token);
    }

    /// <summary>Opens the object's bytes for reading, or null when it is gone (deleted since its sidecar was read).</summary>
    public FileStream? OpenData(string mediaId, ObjectMeta meta)
    {
        try
        {
            return new FileStream(DataPath(mediaId, meta.Token), new FileStreamOptions
            {
                Mode = System.IO.FileMode.Open,
                Access = FileAccess.Read,
                Share = FileShare.ReadWrite | FileShare.Delete,
                Options = FileOptions.Asynchronous | FileOptions.SequentialScan,
            });
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <summary>
    /// Streams exactly <paramref name="size"/> bytes from <paramref name="body"/> into a new object, hashing and counting
    /// while reading: one byte more than <paramref name="size"/> stops the upload (TooLarge), fewer at the end of the
    /// body fail it (TooShort). Nothing stays on disk unless the outcome is Stored.
    /// </summary>
    public async Task<UploadOutcome> UploadAsync(string mediaId, long size, Stream body, CancellationToken cancellationToken)
    {
        var folder = Path.Combine(root, mediaId[..2]);
        CreateFolder(folder);
        var token = Convert.ToHexString(RandomNumberGenerator.GetBytes(8)).ToLowerInvariant();
        var part = Path.Combine(folder, $"{mediaId}.{token}.part");
        var data = DataPath(mediaId, token);
        var metaTemp = Path.Combine(folder, $"{mediaId}.{token}.meta-part");
        var published = false;
        try
        {
            byte[] sha256;
            await using (var file = CreateFile(part))
            {
                (var outcome, sha256) = await CopyAsync(body, file, size, cancellationToken);
                if (outcome != UploadOutcome.Stored)
                    return outcome;
                await file.FlushAsync(cancellationToken);
                file.Flush(flushToDisk: true);
            }
            File.Move(part, data);
            await using (var file = CreateFile(metaTemp))
            {
                await using var writer = new StreamWriter(file);
                await writer.WriteAsync(string.Create(CultureInfo.InvariantCulture, $"v1 {size} {Convert.ToHexString(sha256).ToLowerInvariant()} {token}\n"));
                await writer.FlushAsync(cancellationToken);
                file.Flush(flushToDisk: true);
            }
            try
            {
                // The commit: a rename that refuses an existing destination (link + unlink on Unix), so two uploads of
                // the same id cannot both win.
                File.Move(metaTemp, MetaPath(mediaId), overwrite: false);
            }
            catch (IOException) when (File.Exists(MetaPath(mediaId)))
            {
                return UploadOutcome.AlreadyExists;
            }
            published = true;
            return UploadOutcome.Stored;
        }
        finally
        {
            DeleteQuietly(part);
            DeleteQuietly(metaTemp);
            if (!published)
                DeleteQuietly(data);
        }
    }

    /// <summary>Removes the sidecar first (readers stop seeing the object at once), then the data; idempotent.</summary>
    public async Task DeleteAsync(string mediaId, CancellationToken cancellationToken)
    {
        var meta = await ReadMetaAsync(mediaId, cancellationToken);
        if (meta is null)
            return;
        File.Delete(MetaPath(mediaId));
        File.Delete(DataPath(mediaId, meta.Token));
    }

    private string DataPath(string mediaId, string token) => Path.Combine(root, mediaId[..2], $"{mediaId}.{token}.data");

    private string MetaPath(string mediaId) => Path.Combine(root, mediaId[..2], $"{mediaId}.meta");

    private static async Task<(UploadOutcome Outcome, byte[] Sha256)> CopyAsync(Stream body, FileStream file, long size, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(BufferBytes);
        try
        {
            long total = 0;
            while (true)
            {
                var read = await body.ReadAsync(buffer.AsMemory(0, BufferBytes), cancellationToken);
                if (read == 0)
                    break;
                total += read;
                if (total > size)
                    return (UploadOutcome.TooLarge, []);
                hash.AppendData(buffer, 0, read);
                await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            }
            return total < size ? (UploadOutcome.TooShort, []) : (UploadOutcome.Stored, hash.GetHashAndReset());
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static FileStream CreateFile(string path)
    {
        var options = new FileStreamOptions
        {
            Mode = System.IO.FileMode.CreateNew,
            Access = FileAccess.Write,
            Share = FileShare.None,
            Options = FileOptions.Asynchronous,
            BufferSize = 0, // writes are already 64 KiB chunks; an upload in progress is on disk as far as it got
        };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = FileMode;
        return new FileStream(path, options);
    }

    private static void CreateFolder(string path)
    {
        if (OperatingSystem.IsWindows())
            Directory.CreateDirectory(path);
        else
            Directory.CreateDirectory(path, FolderMode);
    }

    private static void DeleteQuietly(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // best effort: an orphan file is garbage that no sidecar points to, never a visible object
        }
    }
}
