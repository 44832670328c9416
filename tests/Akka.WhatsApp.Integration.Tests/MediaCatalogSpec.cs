using Akka.WhatsApp.Cluster.Media;
using Akka.WhatsApp.Domain.Media;
using Akka.WhatsApp.Testing;
using Xunit;

namespace Akka.WhatsApp.Integration.Tests;

/// <summary>
/// The media catalog's queries on both databases the server runs on: the per-user usage windows behind the quotas
/// (uploads in the last minute, bytes in the last day, in one query) and what the sweeper is handed.
/// </summary>
public sealed class MediaCatalogSpec
{
    private static readonly DateTimeOffset Now = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);

    public static TheoryData<string> Databases => ["sqlite", "postgres"];

    private static async Task<SqlMediaCatalog> CatalogAsync(string database) => database == "sqlite"
        ? new SqlMediaCatalog("SQLite.MS", $"Data Source={Path.Combine(Directory.CreateTempSubdirectory("wa-catalog-").FullName, "catalog.db")}")
        : new SqlMediaCatalog("PostgreSQL.15", await TestPostgres.CreateDatabaseAsync("wa_catalog"));

    private static MediaRecord Record(string owner, long size, TimeSpan age, bool completed = true, TimeSpan? retainedFor = null) =>
        new(MediaIds.New(), owner, MediaClass.Image, size, new byte[32], "image/jpeg", Now - age, Now - age + TimeSpan.FromMinutes(15), completed,
            retainedFor is { } keep ? Now - age + keep : null);

    [Theory]
    [MemberData(nameof(Databases))]
    public async Task Usage_counts_the_recent_uploads_and_sums_the_bytes_of_the_day_per_owner(string database)
    {
        var catalog = await CatalogAsync(database);
        Assert.Equal((0, 0L), await catalog.UsageAsync("alice", Now.AddMinutes(-1), Now.AddDays(-1), CancellationToken.None));
        foreach (var record in new[]
                 {
                     Record("alice", 100, TimeSpan.FromSeconds(10)), Record("alice", 200, TimeSpan.FromSeconds(50), completed: false),
                     Record("alice", 400, TimeSpan.FromHours(3)), Record("alice", 800, TimeSpan.FromDays(2)), Record("bob", 1600, TimeSpan.FromSeconds(5)),
                 })
            await catalog.ReserveAsync(record, CancellationToken.None);

        // Unfinished reservations count too: the quota is on what was asked for.
        Assert.Equal((2, 700L), await catalog.UsageAsync("alice", Now.AddMinutes(-1), Now.AddDays(-1), CancellationToken.None));
        Assert.Equal((1, 1600L), await catalog.UsageAsync("bob", Now.AddMinutes(-1), Now.AddDays(-1), CancellationToken.None));
        // The count's window longer than the bytes' one: each aggregate keeps its own.
        Assert.Equal((4, 700L), await catalog.UsageAsync("alice", Now.AddDays(-3), Now.AddDays(-1), CancellationToken.None));
        Assert.Equal((0, 0L), await catalog.UsageAsync("carol", Now.AddMinutes(-1), Now.AddDays(-1), CancellationToken.None));
    }

    [Theory]
    [MemberData(nameof(Databases))]
    public async Task The_sweeper_gets_expired_objects_and_abandoned_uploads_but_not_what_is_kept_while_referenced(string database)
    {
        var catalog = await CatalogAsync(database);
        var expired = Record("alice", 1, TimeSpan.FromDays(31), retainedFor: TimeSpan.FromDays(30));
        var current = Record("alice", 1, TimeSpan.FromDays(1), retainedFor: TimeSpan.FromDays(30));
        var referenced = Record("alice", 1, TimeSpan.FromDays(400)); // a profile photo: retained_until 0
        var abandoned = Record("alice", 1, TimeSpan.FromHours(2), completed: false);
        var uploading = Record("alice", 1, TimeSpan.FromMinutes(5), completed: false);
        foreach (var record in new[] { expired, current, referenced, abandoned, uploading })
            await catalog.ReserveAsync(record, CancellationToken.None);

        var due = await catalog.ExpiredAsync(Now, 100, CancellationToken.None);
        Assert.Equal(new[] { expired.MediaId, abandoned.MediaId }.Order(), due.Order());
        await catalog.RemoveAsync(expired.MediaId, CancellationToken.None);
        Assert.Null(await catalog.FindAsync(expired.MediaId, CancellationToken.None));
        Assert.Equal([abandoned.MediaId], await catalog.ExpiredAsync(Now, 100, CancellationToken.None));
    }
}
