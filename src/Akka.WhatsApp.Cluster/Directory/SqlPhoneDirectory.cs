using Akka.WhatsApp.Domain.Registration;
using LinqToDB;
using LinqToDB.Async;
using LinqToDB.Data;
using LinqToDB.Mapping;
using Akka.WhatsApp.Cluster.Storage;

namespace Akka.WhatsApp.Cluster.Directory;

/// <summary>One row of the phone directory read model.</summary>
[Table("wa_phone_directory")]
public sealed class PhoneEntry
{
    [Column("phone", Length = 16), PrimaryKey, NotNull]
    public string Phone { get; set; } = "";

    [Column("user_id", Length = 64), NotNull]
    public string UserId { get; set; } = "";

    [Column("updated_at"), NotNull]
    public DateTime UpdatedAt { get; set; }
}

/// <summary>
/// The phone → user directory as a table beside the journal.
/// Contact discovery reads it; the verification entity writes it. Never built by scanning the journal.
/// </summary>
public sealed class SqlPhoneDirectory(string providerName, string connectionString) : SqlReadModel(providerName, connectionString), IPhoneDirectory
{
    /// <summary>Most numbers one look-up sends to the database at once.</summary>
    private const int LookupBatch = 500;

    protected override async Task CreateTablesAsync(DataConnection db)
    {
        await db.CreateTableAsync<PhoneEntry>(tableOptions: TableOptions.CreateIfNotExists);
        // The same statement on SQLite and PostgreSQL: user ids are looked up by ExistingAsync.
        await db.ExecuteAsync("CREATE INDEX IF NOT EXISTS wa_phone_directory_user_id ON wa_phone_directory (user_id)");
    }

    public async Task RegisterAsync(string phone, UserId user, CancellationToken cancellationToken)
    {
        await using var db = await OpenAsync(cancellationToken);
        await db.InsertOrReplaceAsync(new PhoneEntry { Phone = phone, UserId = user.Value, UpdatedAt = DateTime.UtcNow }, token: cancellationToken);
    }

    public async Task<IReadOnlyDictionary<string, UserId>> LookupAsync(IReadOnlyCollection<string> phones, CancellationToken cancellationToken)
    {
        var found = new Dictionary<string, UserId>(StringComparer.Ordinal);
        if (phones.Count == 0)
            return found;
        await using var db = await OpenAsync(cancellationToken);
        foreach (var batch in phones.Distinct(StringComparer.Ordinal).Chunk(LookupBatch))
        {
            var rows = await db.GetTable<PhoneEntry>().Where(p => batch.Contains(p.Phone)).ToListAsync(cancellationToken);
            foreach (var row in rows)
                found[row.Phone] = new UserId(row.UserId);
        }
        return found;
    }

    public async Task<IReadOnlySet<UserId>> ExistingAsync(IReadOnlyCollection<UserId> users, CancellationToken cancellationToken)
    {
        var found = new HashSet<UserId>();
        if (users.Count == 0)
            return found;
        await using var db = await OpenAsync(cancellationToken);
        foreach (var batch in users.Select(u => u.Value).Distinct(StringComparer.Ordinal).Chunk(LookupBatch))
            foreach (var id in await db.GetTable<PhoneEntry>().Where(p => batch.Contains(p.UserId)).Select(p => p.UserId).ToListAsync(cancellationToken))
                found.Add(new UserId(id));
        return found;
    }
}
