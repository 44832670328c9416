using Akka.WhatsApp.Domain.Media;
using Xunit;

namespace Akka.WhatsApp.Domain.Tests;

/// <summary>The media rules (PROTOCOL.md §12): sizes per kind, the upload rate and daily bytes per user, retention per kind.</summary>
public sealed class MediaPolicySpec
{
    private static readonly MediaPolicy Policy = new() { UploadsPerMinute = 3, DailyBytes = 100 };
    private static readonly DateTimeOffset Now = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(MediaClass.Image, 16L << 20, true)]
    [InlineData(MediaClass.Image, (16L << 20) + 1, false)]
    [InlineData(MediaClass.Sticker, (16L << 20) + 1, false)]
    [InlineData(MediaClass.Video, 100L << 20, true)]
    [InlineData(MediaClass.Status, (100L << 20) + 1, false)]
    [InlineData(MediaClass.Document, 2L << 30, true)]
    [InlineData(MediaClass.Document, (2L << 30) + 1, false)]
    [InlineData(MediaClass.Image, 0, false)]
    public void Each_kind_has_its_largest_size(MediaClass kind, long size, bool allowed) =>
        Assert.Equal(allowed ? MediaRefusal.None : MediaRefusal.TooLarge, new MediaPolicy().Check(kind, size, lastMinute: 0, lastDay: 0));

    [Fact]
    public void The_upload_rate_and_the_daily_bytes_are_per_user_limits()
    {
        Assert.Equal(MediaRefusal.None, Policy.Check(MediaClass.Image, 10, lastMinute: 2, lastDay: 90));
        Assert.Equal(MediaRefusal.RateLimited, Policy.Check(MediaClass.Image, 10, lastMinute: 3, lastDay: 0));
        Assert.Equal(MediaRefusal.QuotaExceeded, Policy.Check(MediaClass.Image, 11, lastMinute: 0, lastDay: 90));
        Assert.Equal(MediaRefusal.None, Policy.Check(MediaClass.Image, 10, lastMinute: 0, lastDay: 90)); // exactly the day's bytes
    }

    [Fact]
    public void Chat_media_is_kept_30_days_status_media_a_day_and_photos_while_they_are_current()
    {
        var policy = new MediaPolicy();
        Assert.Equal(Now.AddDays(30), policy.RetainedUntil(MediaClass.Image, Now));
        Assert.Equal(Now.AddDays(30), policy.RetainedUntil(MediaClass.Document, Now));
        Assert.Equal(Now.AddHours(24), policy.RetainedUntil(MediaClass.Status, Now));
        Assert.Null(policy.RetainedUntil(MediaClass.ProfilePhoto, Now));
        Assert.Null(policy.RetainedUntil(MediaClass.GroupIcon, Now));
    }

    [Fact]
    public void Media_ids_are_128_random_bits_in_lowercase_hex()
    {
        var ids = Enumerable.Range(0, 100).Select(_ => MediaIds.New()).ToList();
        Assert.All(ids, id => Assert.True(MediaIds.IsValid(id), id));
        Assert.Equal(100, ids.Distinct().Count());
        Assert.False(MediaIds.IsValid(ids[0].ToUpperInvariant()));
        Assert.False(MediaIds.IsValid(ids[0][..31]));
        Assert.False(MediaIds.IsValid("../../../../etc/passwd0000000000"));
        Assert.False(MediaIds.IsValid(null));
    }
}
