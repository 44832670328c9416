using System.Net;
using System.Net.Http.Headers;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;

namespace Akka.WhatsApp.Client.Media;

/// <summary>How far an upload or a download is: bytes of the blob moved so far, of <see cref="Total"/>.</summary>
public readonly record struct MediaProgress(long Done, long Total);

/// <summary>
/// Uploads and downloads media (PROTOCOL.md §12) for a connected client. Upload: encrypt into a temporary file
/// (<see cref="MediaCipher"/>), reserve an id (RequestUploadUrl with the blob's size and SHA-256), PUT the blob to the
/// presigned URL, complete (the server checks size and hash), and hand back the <see cref="MediaReference"/> to send
/// inside the end-to-end encrypted message. Download: a presigned GET into <c>path.blob</c>, resumed with a
/// <c>Range</c> request from what an interrupted download left, then both hashes and the MAC checked while decrypting;
/// the file appears at its path only once it verified.
/// </summary>
public sealed class MediaTransfer(WhatsAppClient client, HttpClient http)
{
    private const int ChunkSize = 64 * 1024;

    /// <summary>
    /// Encrypts and uploads <paramref name="plaintext"/> (read to its end). <paramref name="reference"/> gives the fields
    /// the caller knows (mime type, file name, size in pixels, thumbnail, caption); the transfer fills in the id, key,
    /// hashes, lengths and kind.
    /// </summary>
    public async Task<MediaReference> UploadAsync(Stream plaintext, MediaKind kind, MediaReference? reference = null, IProgress<MediaProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var blob = Path.Combine(Path.GetTempPath(), $"wa-upload-{Guid.NewGuid():N}.blob");
        try
        {
            MediaEncryption encryption;
            await using (var output = new FileStream(blob, FileMode.CreateNew, FileAccess.Write, FileShare.None, ChunkSize, FileOptions.Asynchronous))
                encryption = await MediaCipher.EncryptAsync(plaintext, output, kind, cancellationToken);
            var result = reference?.Clone() ?? new MediaReference();
            var url = Reply(await client.RequestAsync(new Frame
            {
                RequestUploadUrl = new RequestUploadUrl
                {
                    Size = (ulong)encryption.EncryptedLength, Sha256 = ByteString.CopyFrom(encryption.FileEncSha256), MimeType = result.MimeType, Kind = kind,
                },
            }, cancellationToken), Frame.PacketOneofCase.UploadUrl).UploadUrl;

            await using (var source = new FileStream(blob, FileMode.Open, FileAccess.Read, FileShare.Read, ChunkSize, FileOptions.Asynchronous))
                await PutAsync(url, new StreamContent(new ProgressStream(source, encryption.EncryptedLength, progress), ChunkSize), encryption.EncryptedLength,
                    cancellationToken);
            var info = Reply(await client.RequestAsync(new Frame { UploadComplete = new UploadComplete { MediaId = url.MediaId } }, cancellationToken),
                Frame.PacketOneofCase.MediaInfo).MediaInfo;

            result.MediaId = info.MediaId;
            result.MediaKey = ByteString.CopyFrom(encryption.MediaKey);
            result.FileSha256 = ByteString.CopyFrom(encryption.FileSha256);
            result.FileEncSha256 = ByteString.CopyFrom(encryption.FileEncSha256);
            result.FileLength = (ulong)encryption.PlaintextLength;
            result.EncLength = (ulong)encryption.EncryptedLength;
            result.Kind = kind;
            return result;
        }
        finally
        {
            File.Delete(blob);
        }
    }

    /// <summary>
    /// Downloads, checks and decrypts the media of <paramref name="reference"/> into <paramref name="path"/>. An
    /// interrupted download (cancelled, the connection lost) leaves <c>path.blob</c>; the next call resumes from it.
    /// Throws <see cref="MediaIntegrityException"/> (and forgets the blob) when what arrived is not what the message described.
    /// </summary>
    public async Task DownloadAsync(MediaReference reference, string path, IProgress<MediaProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reference);
        var url = Reply(await client.RequestAsync(new Frame { RequestDownloadUrl = new RequestDownloadUrl { MediaId = reference.MediaId } }, cancellationToken),
            Frame.PacketOneofCase.DownloadUrl).DownloadUrl;
        var total = (long)url.Size;
        var blob = path + ".blob";
        await using (var output = new FileStream(blob, FileMode.OpenOrCreate, FileAccess.Write, FileShare.None, ChunkSize, FileOptions.Asynchronous))
        {
            var have = output.Length > total ? 0 : output.Length;
            if (have < total)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, url.Url);
                foreach (var header in url.Headers)
                    request.Headers.TryAddWithoutValidation(header.Name, header.Value);
                if (have > 0)
                    request.Headers.Range = new RangeHeaderValue(have, null);
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                if (!response.IsSuccessStatusCode)
                    throw new HttpRequestException($"the media store refused the download: {(int)response.StatusCode} {response.ReasonPhrase}", null, response.StatusCode);
                if (response.StatusCode != HttpStatusCode.PartialContent)
                    have = 0; // the store sent the whole object
                output.SetLength(have);
                output.Position = have;
                await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
                var buffer = new byte[ChunkSize];
                int read;
                progress?.Report(new MediaProgress(have, total));
                while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                    have += read;
                    progress?.Report(new MediaProgress(have, total));
                }
            }
        }
        try
        {
            await using var input = new FileStream(blob, FileMode.Open, FileAccess.Read, FileShare.Read, ChunkSize, FileOptions.Asynchronous);
            await MediaCipher.DecryptToFileAsync(input, path, reference.MediaKey.Memory, reference.Kind, reference.FileEncSha256.ToByteArray(),
                reference.FileSha256.ToByteArray(), cancellationToken);
        }
        catch (MediaIntegrityException)
        {
            File.Delete(blob); // a corrupt blob is not resumed from
            throw;
        }
        File.Delete(blob);
    }

    /// <summary>
    /// Uploads a profile photo or a group icon as it is (PROTOCOL.md §12: these two kinds are not end-to-end encrypted;
    /// whoever the privacy settings or the group allow sees them) and returns its media id, to pass to SetProfile or
    /// UpdateGroup. <paramref name="jpeg"/> is the picture to show, already made small (<see cref="MediaPreview.Image(Stream, int, int)"/>).
    /// </summary>
    public async Task<string> UploadPublicAsync(ReadOnlyMemory<byte> jpeg, MediaKind kind, CancellationToken cancellationToken = default)
    {
        if (kind is not (MediaKind.ProfilePhoto or MediaKind.GroupIcon))
            throw new ArgumentException("only profile photos and group icons are uploaded unencrypted; other media goes through UploadAsync", nameof(kind));
        var url = Reply(await client.RequestAsync(new Frame
        {
            RequestUploadUrl = new RequestUploadUrl
            {
                Size = (ulong)jpeg.Length, Sha256 = ByteString.CopyFrom(System.Security.Cryptography.SHA256.HashData(jpeg.Span)), MimeType = "image/jpeg", Kind = kind,
            },
        }, cancellationToken), Frame.PacketOneofCase.UploadUrl).UploadUrl;
        await PutAsync(url, new ReadOnlyMemoryContent(jpeg), jpeg.Length, cancellationToken);
        return Reply(await client.RequestAsync(new Frame { UploadComplete = new UploadComplete { MediaId = url.MediaId } }, cancellationToken),
            Frame.PacketOneofCase.MediaInfo).MediaInfo.MediaId;
    }

    /// <summary>
    /// Downloads a profile photo (anyone its owner's privacy settings allow) or the icon of <paramref name="groupId"/>
    /// (its members) and checks it against the size and SHA-256 the server recorded at upload.
    /// </summary>
    public async Task<byte[]> DownloadPublicAsync(string mediaId, string? groupId = null, CancellationToken cancellationToken = default)
    {
        var url = Reply(await client.RequestAsync(new Frame { RequestDownloadUrl = new RequestDownloadUrl { MediaId = mediaId, GroupId = groupId ?? "" } },
            cancellationToken), Frame.PacketOneofCase.DownloadUrl).DownloadUrl;
        using var request = new HttpRequestMessage(HttpMethod.Get, url.Url);
        foreach (var header in url.Headers)
            request.Headers.TryAddWithoutValidation(header.Name, header.Value);
        using var response = await http.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
            throw new HttpRequestException($"the media store refused the download: {(int)response.StatusCode} {response.ReasonPhrase}", null, response.StatusCode);
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        if ((ulong)bytes.Length != url.Size || !System.Security.Cryptography.SHA256.HashData(bytes).AsSpan().SequenceEqual(url.Sha256.Span))
            throw new MediaIntegrityException($"media {mediaId} is not what was uploaded ({bytes.Length} bytes, the server recorded {url.Size})");
        return bytes;
    }

    /// <summary>The PUT to a presigned upload URL: exactly <paramref name="length"/> bytes, with exactly the headers it names.</summary>
    private async Task PutAsync(UploadUrl url, HttpContent content, long length, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(new HttpMethod(url.Method), url.Url) { Content = content };
        request.Content.Headers.ContentLength = length;
        foreach (var header in url.Headers)
            if (!request.Headers.TryAddWithoutValidation(header.Name, header.Value))
                request.Content.Headers.TryAddWithoutValidation(header.Name, header.Value);
        using var response = await http.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
            throw new HttpRequestException($"the media store refused the upload: {(int)response.StatusCode} {response.ReasonPhrase}", null, response.StatusCode);
    }

    private static Frame Reply(Frame reply, Frame.PacketOneofCase expected) =>
        reply.PacketCase == expected ? reply : throw new InvalidOperationException($"the server answered {reply.PacketCase} to a media request, not {expected}");

    /// <summary>A read-only view of a stream that reports how much of it was read.</summary>
    private sealed class ProgressStream(Stream inner, long total, IProgress<MediaProgress>? progress) : Stream
    {
        private long _done;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => total;

        public override long Position
        {
            get => _done;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Counted(inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Counted(await inner.ReadAsync(buffer, cancellationToken));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        private int Counted(int read)
        {
            _done += read;
            progress?.Report(new MediaProgress(_done, total));
            return read;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
