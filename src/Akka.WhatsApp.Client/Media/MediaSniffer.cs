using System.Text;
using Akka.WhatsApp.Protocol;

namespace Akka.WhatsApp.Client.Media;

/// <summary>What a file is, by its first bytes: the kind to send it as and its MIME type.</summary>
public readonly record struct SniffedMedia(MediaKind Kind, string MimeType);

/// <summary>
/// Tells a file's <see cref="MediaKind"/> and MIME type from its magic bytes, never from its name: images (JPEG, PNG,
/// GIF, WebP, HEIC, AVIF), video (MP4/MOV, WebM/Matroska, Ogg Theora), audio (Ogg/Opus, MP3, AAC, M4A, WAV); anything
/// else is a document (application/pdf for %PDF, else application/octet-stream).
/// </summary>
public static class MediaSniffer
{
    /// <summary>How many leading bytes are looked at.</summary>
    public const int HeaderSize = 64;

    private static readonly SniffedMedia OctetStream = new(MediaKind.Document, "application/octet-stream");

    /// <summary>Sniffs the first <see cref="HeaderSize"/> bytes of the file at <paramref name="path"/>.</summary>
    public static SniffedMedia KindOf(string path)
    {
        Span<byte> header = stackalloc byte[HeaderSize];
        using var file = File.OpenRead(path);
        var read = file.ReadAtLeast(header, HeaderSize, throwOnEndOfStream: false);
        return KindOf(header[..read]);
    }

    /// <summary>Sniffs a file's leading bytes (shorter than <see cref="HeaderSize"/> only for a shorter file).</summary>
    public static SniffedMedia KindOf(ReadOnlySpan<byte> header)
    {
        if (header.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF]))
            return new(MediaKind.Image, "image/jpeg");
        if (header.StartsWith((ReadOnlySpan<byte>)[0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
            return new(MediaKind.Image, "image/png");
        if (At(header, 0, "GIF87a"u8) || At(header, 0, "GIF89a"u8))
            return new(MediaKind.Image, "image/gif");
        if (At(header, 0, "RIFF"u8) && At(header, 8, "WEBP"u8))
            return new(MediaKind.Image, "image/webp");
        if (At(header, 0, "RIFF"u8) && At(header, 8, "WAVE"u8))
            return new(MediaKind.Audio, "audio/wav");
        if (At(header, 4, "ftyp"u8))
            return Iso(header);
        if (header.StartsWith((ReadOnlySpan<byte>)[0x1A, 0x45, 0xDF, 0xA3])) // EBML: the DocType says which
            return header.IndexOf("webm"u8) >= 0 ? new(MediaKind.Video, "video/webm") : new(MediaKind.Video, "video/x-matroska");
        if (At(header, 0, "OggS"u8))
            return header.IndexOf("OpusHead"u8) >= 0 ? new(MediaKind.Audio, "audio/ogg; codecs=opus")
                : header.IndexOf("theora"u8) >= 0 ? new(MediaKind.Video, "video/ogg")
                : new(MediaKind.Audio, "audio/ogg");
        if (At(header, 0, "ID3"u8))
            return new(MediaKind.Audio, "audio/mpeg");
        if (header.Length >= 2 && header[0] == 0xFF && (header[1] & 0xE0) == 0xE0)
        {
            // An MPEG audio frame sync (11 bits): layer 00 with a 12-bit sync is AAC in ADTS; layers I-III of a
            // defined MPEG version are MP3 (and MP2/MP1, sent the same way).
            int version = (header[1] >> 3) & 0x03, layer = (header[1] >> 1) & 0x03;
            if ((header[1] & 0xF6) == 0xF0)
                return new(MediaKind.Audio, "audio/aac");
            if (layer != 0 && version != 1)
                return new(MediaKind.Audio, "audio/mpeg");
        }
        if (At(header, 0, "%PDF-"u8))
            return new(MediaKind.Document, "application/pdf");
        return OctetStream;
    }

    /// <summary>An ISO base media file ('ftyp' box): the major brand tells audio, QuickTime, still images or MP4 video.</summary>
    private static SniffedMedia Iso(ReadOnlySpan<byte> header) => header.Length < 12 ? OctetStream : Encoding.ASCII.GetString(header[8..12]) switch
    {
        "M4A " or "M4B " or "M4P " => new(MediaKind.Audio, "audio/mp4"),
        "qt  " => new(MediaKind.Video, "video/quicktime"),
        "heic" or "heix" or "mif1" => new(MediaKind.Image, "image/heic"),
        "avif" => new(MediaKind.Image, "image/avif"),
        "3gp4" or "3gp5" or "3gp6" => new(MediaKind.Video, "video/3gpp"),
        _ => new(MediaKind.Video, "video/mp4"),
    };

    private static bool At(ReadOnlySpan<byte> header, int offset, ReadOnlySpan<byte> magic) =>
        header.Length >= offset + magic.Length && header.Slice(offset, magic.Length).SequenceEqual(magic);
}
