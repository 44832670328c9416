using System.Security.Cryptography;
using System.Text;
using Akka.WhatsApp.Client.Media;
using Akka.WhatsApp.Protocol;
using Xunit;

namespace Akka.WhatsApp.Client.Tests.Media;

/// <summary>
/// Media encryption as a sender and a recipient see it: the blob's exact layout, round trips from empty to 50 MB
/// streamed through files, and every kind of damage refused without leaving a file behind.
/// </summary>
public sealed class MediaCipherSpec : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("wa-media-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(1024 * 1024)]
    public async Task Media_round_trips_and_the_blob_is_the_padded_ciphertext_and_a_10_byte_mac(int length)
    {
        var plaintext = new byte[length];
        new Random(length).NextBytes(plaintext);

        var (blob, sent) = await Encrypt(plaintext, MediaKind.Image);

        Assert.Equal((length / 16 + 1) * 16 + 10, blob.Length);
        Assert.Equal(MediaCipher.EncryptedLengthOf(length), blob.Length);
        Assert.Equal(blob.Length, sent.EncryptedLength);
        Assert.Equal(length, sent.PlaintextLength);
        Assert.Equal(32, sent.MediaKey.Length);
        Assert.Equal(SHA256.HashData(plaintext), sent.FileSha256);
        Assert.Equal(SHA256.HashData(blob), sent.FileEncSha256);
        if (length >= 15)
            Assert.False(blob.AsSpan(0, length).SequenceEqual(plaintext), "the blob must not carry the plaintext");

        using var output = new MemoryStream();
        await MediaCipher.DecryptAsync(new MemoryStream(blob), output, sent.MediaKey, MediaKind.Image, sent.FileEncSha256, sent.FileSha256);
        Assert.Equal(plaintext, output.ToArray());
    }

    [Fact]
    public async Task The_blob_is_AES_256_CBC_under_HKDF_keys_then_the_first_10_bytes_of_HMAC_over_iv_and_ciphertext()
    {
        var plaintext = Encoding.UTF8.GetBytes("a picture of a cat, 33 bytes long");
        var (blob, sent) = await Encrypt(plaintext, MediaKind.Sticker);

        Assert.Equal("Akka.WhatsApp Media Keys v1 Sticker", MediaCipher.InfoFor(MediaKind.Sticker));
        var expanded = HKDF.DeriveKey(HashAlgorithmName.SHA256, sent.MediaKey, 112, salt: [], info: Encoding.UTF8.GetBytes("Akka.WhatsApp Media Keys v1 Sticker"));
        var (iv, cipherKey, macKey) = (expanded[..16], expanded[16..48], expanded[48..80]);
        var ciphertext = blob[..^10];
        Assert.Equal(HMACSHA256.HashData(macKey, (byte[])[.. iv, .. ciphertext])[..10], blob[^10..]);
        using var aes = Aes.Create();
        aes.Key = cipherKey;
        Assert.Equal(plaintext, aes.DecryptCbc(ciphertext, iv, PaddingMode.PKCS7));
    }

    [Fact]
    public async Task Small_reads_and_writes_on_either_side_give_the_same_blob_layout_and_plaintext()
    {
        var plaintext = new byte[100_003];
        new Random(7).NextBytes(plaintext);
        using var blob = new MemoryStream();
        var sent = await MediaCipher.EncryptAsync(new TrickleStream(new MemoryStream(plaintext), seed: 1), blob, MediaKind.Audio);

        using var output = new MemoryStream();
        await MediaCipher.DecryptAsync(new TrickleStream(new MemoryStream(blob.ToArray()), seed: 2), output, sent.MediaKey, MediaKind.Audio, sent.FileEncSha256, sent.FileSha256);

        Assert.Equal(plaintext, output.ToArray());
    }

    [Fact]
    public async Task A_50_MB_file_streams_through_encryption_and_decryption_to_a_file()
    {
        const long length = 50L * 1024 * 1024 + 7;
        var fileSha = await SHA256.HashDataAsync(new SeededStream(seed: 50, length));
        var blobPath = Path.Combine(_folder, "video.enc");
        MediaEncryption sent;
        await using (var blob = File.Create(blobPath))
            sent = await MediaCipher.EncryptAsync(new SeededStream(seed: 50, length), blob, MediaKind.Video);

        Assert.Equal(fileSha, sent.FileSha256);
        Assert.Equal(length, sent.PlaintextLength);
        Assert.Equal(MediaCipher.EncryptedLengthOf(length), new FileInfo(blobPath).Length);
        await using (var blob = File.OpenRead(blobPath))
            Assert.Equal(await SHA256.HashDataAsync(blob), sent.FileEncSha256);

        var path = Path.Combine(_folder, "video.mp4");
        await using (var blob = File.OpenRead(blobPath))
            await MediaCipher.DecryptToFileAsync(blob, path, sent.MediaKey, MediaKind.Video, sent.FileEncSha256, fileSha);

        Assert.False(File.Exists(path + ".part"));
        Assert.Equal(length, new FileInfo(path).Length);
        await using var decrypted = File.OpenRead(path);
        Assert.Equal(fileSha, await SHA256.HashDataAsync(decrypted));
    }

    public static TheoryData<string, string> Damage => new()
    {
        { "a flipped bit in the ciphertext", "SHA-256" },
        { "a flipped bit in the ciphertext, with the blob hash recomputed", "MAC" },
        { "a flipped bit in the MAC", "SHA-256" },
        { "a flipped bit in the MAC, with the blob hash recomputed", "MAC" },
        { "a wrong media key", "MAC" },
        { "another kind", "MAC" },
        { "a wrong expected blob hash", "SHA-256" },
        { "a wrong expected file hash", "decrypted media's SHA-256" },
        { "a truncated blob", "bytes" },
        { "an empty blob", "bytes" },
    };

    [Theory]
    [MemberData(nameof(Damage))]
    public async Task Damaged_media_is_refused_and_leaves_no_file(string damage, string reported)
    {
        var plaintext = new byte[1000];
        new Random(3).NextBytes(plaintext);
        var (blob, sent) = await Encrypt(plaintext, MediaKind.Document);
        var (key, kind, encSha, fileSha) = (sent.MediaKey, MediaKind.Document, sent.FileEncSha256, sent.FileSha256);
        switch (damage)
        {
            case "a flipped bit in the ciphertext": blob[500] ^= 0x10; break;
            case "a flipped bit in the ciphertext, with the blob hash recomputed": blob[500] ^= 0x10; encSha = SHA256.HashData(blob); break;
            case "a flipped bit in the MAC": blob[^3] ^= 0x01; break;
            case "a flipped bit in the MAC, with the blob hash recomputed": blob[^3] ^= 0x01; encSha = SHA256.HashData(blob); break;
            case "a wrong media key": key = RandomNumberGenerator.GetBytes(32); break;
            case "another kind": kind = MediaKind.Image; break;
            case "a wrong expected blob hash": encSha = SHA256.HashData("something else"u8); break;
            case "a wrong expected file hash": fileSha = SHA256.HashData("something else"u8); break;
            case "a truncated blob": blob = blob[..^1]; encSha = SHA256.HashData(blob); break;
            case "an empty blob": blob = []; encSha = SHA256.HashData(blob); break;
        }

        var into = await Assert.ThrowsAsync<MediaIntegrityException>(() =>
            MediaCipher.DecryptAsync(new MemoryStream(blob), new MemoryStream(), key, kind, encSha, fileSha));
        Assert.Contains(reported, into.Message);

        var path = Path.Combine(_folder, "received.bin");
        var toFile = await Assert.ThrowsAsync<MediaIntegrityException>(() =>
            MediaCipher.DecryptToFileAsync(new MemoryStream(blob), path, key, kind, encSha, fileSha));
        Assert.Equal(into.Message, toFile.Message);
        Assert.False(File.Exists(path), $"{damage}: no file may be published");
        Assert.False(File.Exists(path + ".part"), $"{damage}: the part file must be deleted");
    }

    [Fact]
    public async Task A_cancelled_download_leaves_no_part_file()
    {
        var (blob, sent) = await Encrypt(new byte[100], MediaKind.Audio);
        var path = Path.Combine(_folder, "voice.ogg");

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            MediaCipher.DecryptToFileAsync(new MemoryStream(blob), path, sent.MediaKey, MediaKind.Audio, sent.FileEncSha256, sent.FileSha256, new CancellationToken(canceled: true)));

        Assert.False(File.Exists(path));
        Assert.False(File.Exists(path + ".part"));
    }

    [Fact]
    public async Task Each_kind_derives_its_own_keys_from_the_same_media_key()
    {
        var kinds = Enum.GetValues<MediaKind>().Where(kind => kind != MediaKind.Unspecified).ToArray();
        Assert.Equal(kinds.Length, kinds.Select(MediaCipher.InfoFor).Distinct().Count());
        Assert.Throws<ArgumentOutOfRangeException>(() => MediaCipher.InfoFor(MediaKind.Unspecified));

        var (blob, sent) = await Encrypt("a voice note"u8.ToArray(), MediaKind.Audio);
        foreach (var other in kinds.Where(kind => kind != MediaKind.Audio))
        {
            var error = await Assert.ThrowsAsync<MediaIntegrityException>(() =>
                MediaCipher.DecryptAsync(new MemoryStream(blob), new MemoryStream(), sent.MediaKey, other, sent.FileEncSha256, sent.FileSha256));
            Assert.Contains("MAC", error.Message);
        }
    }

    [Fact]
    public async Task Every_file_gets_a_fresh_media_key()
    {
        var (first, a) = await Encrypt("same"u8.ToArray(), MediaKind.Image);
        var (second, b) = await Encrypt("same"u8.ToArray(), MediaKind.Image);

        Assert.NotEqual(a.MediaKey, b.MediaKey);
        Assert.NotEqual(first, second);
        Assert.Equal(a.FileSha256, b.FileSha256);
    }

    private static async Task<(byte[] Blob, MediaEncryption Sent)> Encrypt(byte[] plaintext, MediaKind kind)
    {
        using var blob = new MemoryStream();
        var sent = await MediaCipher.EncryptAsync(new MemoryStream(plaintext), blob, kind);
        return (blob.ToArray(), sent);
    }

    /// <summary>A read-only stream of deterministic pseudo-random bytes: byte i depends on the seed and i only, so every read pattern sees the same data.</summary>
    private sealed class SeededStream(ulong seed, long length) : Stream
    {
        private long _position;

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var count = (int)Math.Min(buffer.Length, length - _position);
            for (var i = 0; i < count; i++, _position++)
                buffer[i] = (byte)(SplitMix(seed + (ulong)(_position >> 3)) >> (int)((_position & 7) * 8));
            return count;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) => ValueTask.FromResult(Read(buffer.Span));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => Task.FromResult(Read(buffer, offset, count));

        private static ulong SplitMix(ulong x)
        {
            x += 0x9E3779B97F4A7C15;
            x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9;
            x = (x ^ (x >> 27)) * 0x94D049BB133111EB;
            return x ^ (x >> 31);
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>Hands out at most a few bytes per read, as a slow network does, to move chunk boundaries everywhere.</summary>
    private sealed class TrickleStream(Stream inner, int seed) : Stream
    {
        private readonly Random _random = new(seed);

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, Math.Min(count, _random.Next(1, 40)));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) =>
            inner.ReadAsync(buffer[..Math.Min(buffer.Length, _random.Next(1, 40))], ct);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
