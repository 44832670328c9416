namespace Akka.WhatsApp.Media;

/// <summary>The arguments both stores refuse alike: a malformed media id, and a URL validity that is not positive or exceeds S3's 7 days.</summary>
internal static class MediaArguments
{
    public static readonly TimeSpan MaxValidity = TimeSpan.FromDays(7);

    public static void CheckMediaId(string mediaId)
    {
        if (!Domain.Media.MediaIds.IsValid(mediaId))
            throw new ArgumentException($"'{mediaId}' is not a media id (32 lowercase hex digits)", nameof(mediaId));
    }

    public static void CheckValidity(TimeSpan validFor)
    {
        if (validFor <= TimeSpan.Zero || validFor > MaxValidity)
            throw new ArgumentOutOfRangeException(nameof(validFor), validFor, $"a presigned URL is valid for more than 0 and at most {MaxValidity.TotalDays:0} days");
    }
}
