using System.Text;
using Akka.WhatsApp.Client.Media;
using Akka.WhatsApp.Protocol;
using Xunit;

namespace Akka.WhatsApp.Client.Tests.Media;

/// <summary>A file's kind and MIME type from hand-made headers of each format, written to disk as a sender's files are.</summary>
public sealed class MediaSnifferSpec : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("wa-sniff-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    public static TheoryData<string, byte[], MediaKind, string> Headers => new()
    {
        { "JPEG", [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, .. Ascii("JFIF\0")], MediaKind.Image, "image/jpeg" },
        { "PNG", [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, .. Ascii("IHDR")], MediaKind.Image, "image/png" },
        { "GIF", Ascii("GIF89a\x01\0\x01\0"), MediaKind.Image, "image/gif" },
        { "WebP", [.. Ascii("RIFF"), 0x24, 0, 0, 0, .. Ascii("WEBPVP8 ")], MediaKind.Image, "image/webp" },
        { "HEIC", [0, 0, 0, 0x18, .. Ascii("ftypheic"), 0, 0, 0, 0, .. Ascii("mif1heic")], MediaKind.Image, "image/heic" },
        { "MP4", [0, 0, 0, 0x18, .. Ascii("ftypisom"), 0, 0, 2, 0, .. Ascii("isomiso2")], MediaKind.Video, "video/mp4" },
        { "MOV", [0, 0, 0, 0x14, .. Ascii("ftypqt  "), 0, 0, 2, 0, .. Ascii("qt  ")], MediaKind.Video, "video/quicktime" },
        { "WebM", [0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x84, .. Ascii("webm")], MediaKind.Video, "video/webm" },
        { "MKV", [0x1A, 0x45, 0xDF, 0xA3, 0xA3, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x88, .. Ascii("matroska")], MediaKind.Video, "video/x-matroska" },
        { "Ogg Opus", [.. Ascii("OggS"), 0, 2, .. new byte[22], .. Ascii("OpusHead"), 1, 1], MediaKind.Audio, "audio/ogg; codecs=opus" },
        { "Ogg Vorbis", [.. Ascii("OggS"), 0, 2, .. new byte[22], 1, .. Ascii("vorbis")], MediaKind.Audio, "audio/ogg" },
        { "MP3 with ID3", [.. Ascii("ID3"), 4, 0, 0, 0, 0, 0, 0], MediaKind.Audio, "audio/mpeg" },
        { "MP3 frame", [0xFF, 0xFB, 0x90, 0x64, 0, 0, 0, 0], MediaKind.Audio, "audio/mpeg" },
        { "AAC (ADTS)", [0xFF, 0xF1, 0x50, 0x80, 0x02, 0x1F, 0xFC], MediaKind.Audio, "audio/aac" },
        { "M4A", [0, 0, 0, 0x20, .. Ascii("ftypM4A "), 0, 0, 0, 0, .. Ascii("M4A isom")], MediaKind.Audio, "audio/mp4" },
        { "WAV", [.. Ascii("RIFF"), 0x24, 0, 0, 0, .. Ascii("WAVEfmt ")], MediaKind.Audio, "audio/wav" },
        { "PDF", Ascii("%PDF-1.7\n%\u00e2\u00e3"), MediaKind.Document, "application/pdf" },
        { "ZIP", [0x50, 0x4B, 0x03, 0x04, 0x14, 0, 0, 0], MediaKind.Document, "application/octet-stream" },
        { "text", Ascii("hello, world\n"), MediaKind.Document, "application/octet-stream" },
        { "an empty file", [], MediaKind.Document, "application/octet-stream" },
    };

    [Theory]
    [MemberData(nameof(Headers))]
    public void A_file_is_known_by_its_first_bytes(string format, byte[] header, MediaKind kind, string mimeType)
    {
        // A misleading name: only the content counts.
        var path = Path.Combine(_folder, $"{format.Replace(' ', '_')}.dat");
        File.WriteAllBytes(path, [.. header, .. new byte[100]]);
        if (header.Length == 0)
            File.WriteAllBytes(path, []);

        Assert.Equal(new SniffedMedia(kind, mimeType), MediaSniffer.KindOf(path));
    }

    private static byte[] Ascii(string text) => Encoding.Latin1.GetBytes(text);
}
