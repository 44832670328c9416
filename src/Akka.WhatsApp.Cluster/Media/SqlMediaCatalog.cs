using Akka.WhatsApp.Cluster.Storage;
using Akka.WhatsApp.Domain.Media;
using LinqToDB;
using LinqToDB.Async;
using LinqToDB.Data;
using LinqToDB.Mapping;

namespace Akka.WhatsApp.Cluster.Media;

/// <summary>One row of the media catalog. Times are unix milliseconds; <see cref="RetainedUntil"/> 0 = while referenced.</summary>
[Table("wa_media")]
public sealed class MediaRow
{
    [Column("media_id", Length = 32), PrimaryKey, NotNull]
    public string MediaId { get; set; } = "";

    [Column("owner", Length = 64), NotNull]
    public string Owner { get; set; } = "";

    [Column("kind"), NotNull]
    public int Kind { get; set; }

    [Column("size"), NotNull]
    public long Size { get; set; }

    [Column("sha256"), NotNull]
    public byte[] Sha256 { get; set; } = [];

    [Column("mime_type", Length = 255), NotNull]
    public string MimeType { get; set; } = "";

    [Column("created_at"), NotNull]
    public long CreatedAt { get; set; }

    [Column("upload_by"), NotNull]
    public long UploadBy { get; set; }

    [Column("completed"), NotNull]
    public bool Completed { get; set; }

    [Column("retained_until"), NotNull]
    public long RetainedUntil { get; set; }
}

/// <summary>
/// The media metadata as a table beside the journal: reservations, completions, usage per user for the quotas, and
/// the expired objects the sweeper deletes. The bytes are in the media store, never here.
/// </summary>
public sealed class SqlMediaCatalog(string providerName, string connectionString) : SqlReadModel(providerName, connectionString), IMediaCatalog
{
    /// <summary>An upload that did not complete is swept this long after its URL expired (a PUT may still be finishing).</summary>
    public static readonly TimeSpan UnfinishedGrace = TimeSpan.FromHours(1);

    protected override async Task CreateTablesAsync(DataConnection db)
    {
        await db.CreateTableAsync<MediaRow>(tableOptions: TableOptions.CreateIfNotExists);
        await db.ExecuteAsync("CREATE INDEX IF NOT EXISTS wa_media_owner ON wa_media (owner, created_at)");
        await db.ExecuteAsync("CREATE INDEX IF NOT EXISTS wa_media_retained ON wa_media (completed, retained_until)");
    }

    public async Task ReserveAsync(MediaRecord record, CancellationToken cancellationToken)
    {
        await using var db = await OpenAsync(cancellationToken);
        await db.InsertAsync(new MediaRow
        {
            MediaId = record.MediaId, Owner = record.Owner, Kind = (int)record.Kind, Size = record.Size, Sha256 = record.Sha256, MimeType = record.MimeType,
            CreatedAt = record.CreatedAt.ToUnixTimeMilliseconds(), UploadBy = record.UploadBy.ToUnixTimeMilliseconds(), Completed = record.Completed,
            RetainedUntil = record.RetainedUntil?.ToUnixTimeMilliseconds() ?? 0,
        }, token: cancellationToken);
    }

    public async Task<MediaRecord?> FindAsync(string mediaId, CancellationToken cancellationToken)
    {
        await using var db = await OpenAsync(cancellationToken);
        var row = await db.GetTable<MediaRow>().FirstOrDefaultAsync(m => m.MediaId == mediaId, cancellationToken);
        return row is null ? null : new MediaRecord(row.MediaId, row.Owner, (MediaClass)row.Kind, row.Size, row.Sha256, row.MimeType,
            DateTimeOffset.FromUnixTimeMilliseconds(row.CreatedAt), DateTimeOffset.FromUnixTimeMilliseconds(row.UploadBy), row.Completed,
            row.RetainedUntil == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(row.RetainedUntil));
    }

    public async Task CompleteAsync(string mediaId, DateTimeOffset? retainedUntil, CancellationToken cancellationToken)
    {
        await using var db = await OpenAsync(cancellationToken);
        var until = retainedUntil?.ToUnixTimeMilliseconds() ?? 0;
        await db.GetTable<MediaRow>().Where(m => m.MediaId == mediaId)
            .Set(m => m.Completed, true).Set(m => m.RetainedUntil, until).UpdateAsync(cancellationToken);
    }

    public async Task<(int Count, long Bytes)> UsageAsync(string owner, DateTimeOffset countSince, DateTimeOffset bytesSince, CancellationToken cancellationToken)
    {
        await using var db = await OpenAsync(cancellationToken);
        var (since, bytesFrom) = (countSince.ToUnixTimeMilliseconds(), bytesSince.ToUnixTimeMilliseconds());
        // One query on the (owner, created_at) index, both windows as conditional aggregates.
        var usage = await db.GetTable<MediaRow>()
            .Where(m => m.Owner == owner && m.CreatedAt >= Math.Min(since, bytesFrom))
            .GroupBy(m => m.Owner)
            .Select(g => new { Count = g.Count(m => m.CreatedAt >= since), Bytes = g.Sum(m => m.CreatedAt >= bytesFrom ? m.Size : 0) })
            .FirstOrDefaultAsync(cancellationToken);
        return usage is null ? (0, 0) : (usage.Count, usage.Bytes);
    }

    public async Task<IReadOnlyList<string>> ExpiredAsync(DateTimeOffset now, int max, CancellationToken cancellationToken)
    {
        await using var db = await OpenAsync(cancellationToken);
        var (at, unfinished) = (now.ToUnixTimeMilliseconds(), (now - UnfinishedGrace).ToUnixTimeMilliseconds());
        return await db.GetTable<MediaRow>()
            .Where(m => m.Completed ? m.RetainedUntil != 0 && m.RetainedUntil <= at : m.UploadBy <= unfinished)
            .OrderBy(m => m.RetainedUntil).Select(m => m.MediaId).Take(max).ToListAsync(cancellationToken);
    }

    public async Task RemoveAsync(string mediaId, CancellationToken cancellationToken)
    {
        await using var db = await OpenAsync(cancellationToken);
        await db.GetTable<MediaRow>().Where(m => m.MediaId == mediaId).DeleteAsync(cancellationToken);
    }

    public async Task<(long Objects, long Bytes)> TotalsAsync(CancellationToken cancellationToken)
    {
        await using var db = await OpenAsync(cancellationToken);
        var done = db.GetTable<MediaRow>().Where(m => m.Completed);
        return (await done.LongCountAsync(cancellationToken), await done.SumAsync(m => (long?)m.Size, cancellationToken) ?? 0);
    }
}
