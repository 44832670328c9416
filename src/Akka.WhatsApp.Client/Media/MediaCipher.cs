using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Akka.WhatsApp.Protocol;

namespace Akka.WhatsApp.Client.Media;

/// <summary>What encrypting one file gave: the key and hashes to send inside the message, and the lengths.</summary>
/// <param name="MediaKey">The fresh 32-byte media key; everything else is derived from it and the kind.</param>
/// <param name="FileSha256">SHA-256 of the plaintext.</param>
/// <param name="FileEncSha256">SHA-256 of the uploaded blob (what <see cref="RequestUploadUrl.Sha256"/> carries).</param>
public sealed record MediaEncryption(byte[] MediaKey, byte[] FileSha256, byte[] FileEncSha256, long EncryptedLength, long PlaintextLength);

/// <summary>A downloaded blob that is not the one the message described: wrong hash, MAC, key, kind or padding.</summary>
public sealed class MediaIntegrityException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// WhatsApp's media encryption, streamed. A fresh 32-byte media key per file; HKDF-SHA-256 (no salt, info
/// <see cref="InfoFor"/>) expands it to 112 bytes: IV (16) ‖ AES-256 key (32) ‖ MAC key (32) ‖ ref key (32, unused).
/// The uploaded blob is AES-256-CBC/PKCS7(plaintext) ‖ the first 10 bytes of HMAC-SHA-256(MAC key, IV ‖ ciphertext).
/// Only the blob goes to the media store; the key and both hashes travel inside the end-to-end encrypted message.
/// </summary>
public static class MediaCipher
{
    public const int MediaKeySize = 32;
    public const int MacSize = 10;
    private const int BlockSize = 16;
    private const int ExpandedSize = 112;
    private const int ChunkSize = 64 * 1024; // a multiple of the block size

    /// <summary>The HKDF info of a kind: "Akka.WhatsApp Media Keys v1 " + a fixed name per kind, so a blob only decrypts as the kind it was sent as.</summary>
    public static string InfoFor(MediaKind kind) => "Akka.WhatsApp Media Keys v1 " + kind switch
    {
        MediaKind.Image => "Image",
        MediaKind.Video => "Video",
        MediaKind.Audio => "Audio",
        MediaKind.Document => "Document",
        MediaKind.Sticker => "Sticker",
        MediaKind.ProfilePhoto => "Profile Photo",
        MediaKind.GroupIcon => "Group Icon",
        MediaKind.Status => "Status",
        MediaKind.HistorySync => "History Sync",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "media needs a known kind to derive its keys"),
    };

    /// <summary>The blob's length for a plaintext of this length: PKCS7 always pads, to the next multiple of 16 above it, then the MAC.</summary>
    public static long EncryptedLengthOf(long plaintextLength) => (plaintextLength / BlockSize + 1) * BlockSize + MacSize;

    /// <summary>Encrypts <paramref name="plaintext"/> to its end into <paramref name="output"/> (the blob to upload) under a fresh media key, one 64 KiB chunk at a time.</summary>
    public static async Task<MediaEncryption> EncryptAsync(Stream plaintext, Stream output, MediaKind kind, CancellationToken ct = default)
    {
        var mediaKey = RandomNumberGenerator.GetBytes(MediaKeySize);
        var (iv, cipherKey, macKey) = DeriveKeys(mediaKey, kind);
        using var aes = Aes.Create();
        using var encryptor = aes.CreateEncryptor(cipherKey, iv);
        using var fileSha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var encSha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var mac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, macKey);
        mac.AppendData(iv);

        var input = ArrayPool<byte>.Shared.Rent(ChunkSize);
        var cipher = ArrayPool<byte>.Shared.Rent(ChunkSize + BlockSize);
        try
        {
            long plainLength = 0, encLength = 0;
            while (true)
            {
                // A full chunk may not be the last; a short one is (ReadAtLeast only stops short at the end).
                var read = await plaintext.ReadAtLeastAsync(input.AsMemory(0, ChunkSize), ChunkSize, throwOnEndOfStream: false, ct);
                fileSha.AppendData(input, 0, read);
                plainLength += read;
                if (read == ChunkSize)
                {
                    var written = encryptor.TransformBlock(input, 0, read, cipher, 0);
                    await EmitAsync(cipher.AsMemory(0, written));
                    continue;
                }
                await EmitAsync(encryptor.TransformFinalBlock(input, 0, read));
                break;
            }
            var tag = mac.GetHashAndReset().AsMemory(0, MacSize);
            encSha.AppendData(tag.Span);
            await output.WriteAsync(tag, ct);
            encLength += MacSize;
            return new MediaEncryption(mediaKey, fileSha.GetHashAndReset(), encSha.GetHashAndReset(), encLength, plainLength);

            async ValueTask EmitAsync(ReadOnlyMemory<byte> block)
            {
                mac.AppendData(block.Span);
                encSha.AppendData(block.Span);
                encLength += block.Length;
                await output.WriteAsync(block, ct);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(input, clearArray: true);
            ArrayPool<byte>.Shared.Return(cipher, clearArray: true);
        }
    }

    /// <summary>
    /// Decrypts a downloaded blob into <paramref name="output"/> in one pass, and only at its end checks the blob's
    /// SHA-256, the MAC (in constant time), the padding and the plaintext's SHA-256, throwing
    /// <see cref="MediaIntegrityException"/> on any mismatch. By then <paramref name="output"/> has already received
    /// the unverified plaintext: decrypt into a temporary file and publish it only on success
    /// (<see cref="DecryptToFileAsync"/> does that).
    /// </summary>
    public static async Task DecryptAsync(Stream blob, Stream output, ReadOnlyMemory<byte> mediaKey, MediaKind kind,
        byte[] expectedEncSha256, byte[] expectedFileSha256, CancellationToken ct = default)
    {
        if (mediaKey.Length != MediaKeySize)
            throw new ArgumentException($"a media key is {MediaKeySize} bytes", nameof(mediaKey));
        var (iv, cipherKey, macKey) = DeriveKeys(mediaKey.Span, kind);
        using var aes = Aes.Create();
        using var decryptor = aes.CreateDecryptor(cipherKey, iv);
        using var fileSha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var encSha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var mac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, macKey);
        mac.AppendData(iv);

        // The last 10 bytes are the MAC, but where the blob ends shows only at its end: hold back the tail and
        // release whole blocks in front of it to the decryptor.
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize + MacSize + BlockSize);
        var plain = ArrayPool<byte>.Shared.Rent(ChunkSize + MacSize + 2 * BlockSize);
        try
        {
            int held = 0;
            long blobLength = 0;
            int read;
            while ((read = await blob.ReadAsync(buffer.AsMemory(held, ChunkSize), ct)) > 0)
            {
                encSha.AppendData(buffer, held, read);
                blobLength += read;
                held += read;
                var release = held - MacSize;
                release -= release % BlockSize;
                if (release <= 0)
                    continue;
                mac.AppendData(buffer, 0, release);
                var written = decryptor.TransformBlock(buffer, 0, release, plain, 0);
                fileSha.AppendData(plain, 0, written);
                await output.WriteAsync(plain.AsMemory(0, written), ct);
                buffer.AsSpan(release, held - release).CopyTo(buffer);
                held -= release;
            }

            if (blobLength < BlockSize + MacSize || (blobLength - MacSize) % BlockSize != 0)
                throw new MediaIntegrityException($"the media blob is {blobLength} bytes: not AES-CBC blocks followed by a {MacSize}-byte MAC (truncated or not a media blob)");
            if (!CryptographicOperations.FixedTimeEquals(encSha.GetHashAndReset(), expectedEncSha256))
                throw new MediaIntegrityException("the media blob's SHA-256 is not the one the message gave: the download is corrupt or was replaced");
            var tail = held - MacSize;
            mac.AppendData(buffer, 0, tail);
            if (!CryptographicOperations.FixedTimeEquals(mac.GetHashAndReset().AsSpan(0, MacSize), buffer.AsSpan(tail, MacSize)))
                throw new MediaIntegrityException("the media blob's MAC does not verify: wrong media key or kind, or the blob was altered");

            byte[] last;
            try
            {
                last = decryptor.TransformFinalBlock(buffer, 0, tail);
            }
            catch (CryptographicException e)
            {
                throw new MediaIntegrityException("the media blob's padding is invalid", e);
            }
            fileSha.AppendData(last);
            await output.WriteAsync(last, ct);
            if (!CryptographicOperations.FixedTimeEquals(fileSha.GetHashAndReset(), expectedFileSha256))
                throw new MediaIntegrityException("the decrypted media's SHA-256 is not the one the message gave");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer, clearArray: true);
            ArrayPool<byte>.Shared.Return(plain, clearArray: true);
        }
    }

    /// <summary>
    /// <see cref="DecryptAsync"/> into <paramref name="path"/>: writes <c>path.part</c> and moves it to
    /// <paramref name="path"/> (replacing it) only once everything verified; on any failure, including
    /// cancellation, deletes the part file and rethrows, so an unverified plaintext is never left behind.
    /// </summary>
    public static async Task DecryptToFileAsync(Stream blob, string path, ReadOnlyMemory<byte> mediaKey, MediaKind kind,
        byte[] expectedEncSha256, byte[] expectedFileSha256, CancellationToken ct = default)
    {
        var part = path + ".part";
        try
        {
            await using (var output = new FileStream(part, FileMode.Create, FileAccess.Write, FileShare.None, 4096, FileOptions.Asynchronous))
                await DecryptAsync(blob, output, mediaKey, kind, expectedEncSha256, expectedFileSha256, ct);
            File.Move(part, path, overwrite: true);
        }
        catch
        {
            File.Delete(part);
            throw;
        }
    }

    private static (byte[] Iv, byte[] CipherKey, byte[] MacKey) DeriveKeys(ReadOnlySpan<byte> mediaKey, MediaKind kind)
    {
        Span<byte> expanded = stackalloc byte[ExpandedSize];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, mediaKey, expanded, salt: [], info: Encoding.UTF8.GetBytes(InfoFor(kind)));
        var keys = (expanded[..16].ToArray(), expanded[16..48].ToArray(), expanded[48..80].ToArray());
        CryptographicOperations.ZeroMemory(expanded);
        return keys;
    }
}
