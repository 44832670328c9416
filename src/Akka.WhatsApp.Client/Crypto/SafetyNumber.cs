using System.Security.Cryptography;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;

namespace Akka.WhatsApp.Client.Crypto;

/// <summary>
/// Safety numbers as Signal computes them (its numeric fingerprint, version 0): for each user, a 30-digit number from
/// 5,200 iterations of SHA-512 over the user's identity keys and id; both numbers, the smaller first, make the 60
/// digits both sides see alike. Every device here has its own identity key, so a user's fingerprint input is the
/// identity keys of all the user's current devices, sorted bytewise and concatenated (PROTOCOL.md §13a): a new or
/// reinstalled device changes the number, as it should.
/// </summary>
public static class SafetyNumber
{
    public const int Iterations = 5200;

    /// <summary>The 60 digits, in twelve groups of five separated by spaces.</summary>
    public static string Compute(string localUser, IEnumerable<byte[]> localKeys, string remoteUser, IEnumerable<byte[]> remoteKeys)
    {
        var local = Digits(Fingerprint(localUser, localKeys));
        var remote = Digits(Fingerprint(remoteUser, remoteKeys));
        var both = string.CompareOrdinal(local, remote) <= 0 ? local + remote : remote + local;
        return string.Join(' ', Enumerable.Range(0, 12).Select(i => both.Substring(i * 5, 5)));
    }

    /// <summary>What a QR code shows: the shower's and the contact's fingerprints, for the other side to scan and compare.</summary>
    public static SafetyQr Qr(string localUser, IEnumerable<byte[]> localKeys, string remoteUser, IEnumerable<byte[]> remoteKeys) => new()
    {
        Version = 1,
        LocalUserId = localUser,
        LocalFingerprint = ByteString.CopyFrom(Fingerprint(localUser, localKeys), 0, 32),
        RemoteUserId = remoteUser,
        RemoteFingerprint = ByteString.CopyFrom(Fingerprint(remoteUser, remoteKeys), 0, 32),
    };

    /// <summary>True when a scanned QR code (shown by <paramref name="remoteUser"/>) matches what this side computes.</summary>
    public static bool Matches(SafetyQr scanned, string localUser, IEnumerable<byte[]> localKeys, string remoteUser, IEnumerable<byte[]> remoteKeys)
    {
        var mine = Qr(localUser, localKeys, remoteUser, remoteKeys);
        return scanned.Version == 1 && scanned.LocalUserId == remoteUser && scanned.RemoteUserId == localUser
               && CryptographicOperations.FixedTimeEquals(scanned.LocalFingerprint.Span, mine.RemoteFingerprint.Span)
               && CryptographicOperations.FixedTimeEquals(scanned.RemoteFingerprint.Span, mine.LocalFingerprint.Span);
    }

    /// <summary>hash = SHA-512(0x0000 ‖ keys ‖ user id); 5,200 times hash = SHA-512(hash ‖ keys).</summary>
    public static byte[] Fingerprint(string user, IEnumerable<byte[]> identityKeys)
    {
        var keys = identityKeys.OrderBy(k => k, ByteOrder.Instance).SelectMany(k => k).ToArray();
        if (keys.Length == 0)
            throw new ArgumentException($"{user} has no identity key", nameof(identityKeys));
        byte[] hash = SHA512.HashData([0, 0, .. keys, .. System.Text.Encoding.UTF8.GetBytes(user)]);
        for (var i = 0; i < Iterations; i++)
            hash = SHA512.HashData([.. hash, .. keys]);
        return hash;
    }

    /// <summary>Six 5-byte big-endian chunks of the hash, each mod 100,000 as five digits.</summary>
    private static string Digits(byte[] hash)
    {
        var digits = new System.Text.StringBuilder(30);
        for (var chunk = 0; chunk < 6; chunk++)
        {
            ulong value = 0;
            for (var b = 0; b < 5; b++)
                value = (value << 8) | hash[chunk * 5 + b];
            digits.Append((value % 100_000).ToString("D5", System.Globalization.CultureInfo.InvariantCulture));
        }
        return digits.ToString();
    }

    private sealed class ByteOrder : IComparer<byte[]>
    {
        public static readonly ByteOrder Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }
}
