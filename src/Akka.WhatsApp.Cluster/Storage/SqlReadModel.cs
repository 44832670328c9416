using LinqToDB;
using LinqToDB.Data;

namespace Akka.WhatsApp.Cluster.Storage;

/// <summary>
/// A read model kept as tables beside the journal (same database), accessed with linq2db. The tables are created on
/// first use, so a node starts while its database is still down; a failed creation is tried again by the next call.
/// </summary>
public abstract class SqlReadModel(string providerName, string connectionString)
{
    private readonly DataOptions _options = new DataOptions().UseConnectionString(providerName, connectionString);
    private Task? _created;

    /// <summary>Creates the tables and indexes when they do not exist (the same statements on SQLite and PostgreSQL).</summary>
    protected abstract Task CreateTablesAsync(DataConnection db);

    /// <summary>A connection to a database where the tables exist.</summary>
    protected async Task<DataConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var created = Volatile.Read(ref _created);
        if (created is null or { IsFaulted: true } or { IsCanceled: true })
        {
            // One creation at a time: PostgreSQL's CREATE TABLE IF NOT EXISTS is not safe against itself.
            var attempt = new Task<Task>(CreateAsync);
            var winner = Interlocked.CompareExchange(ref _created, attempt.Unwrap(), created);
            if (winner == created)
                attempt.Start(TaskScheduler.Default);
            created = Volatile.Read(ref _created)!;
        }
        await created.WaitAsync(cancellationToken);
        return new DataConnection(_options);
    }

    private async Task CreateAsync()
    {
        await using var db = new DataConnection(_options);
        await CreateTablesAsync(db);
    }
}
