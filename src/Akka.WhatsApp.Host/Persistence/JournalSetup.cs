using Akka.Configuration;
using Microsoft.Data.Sqlite;

namespace Akka.WhatsApp.Host.Persistence;

/// <summary>Builds the persistence HOCON for the chosen journal and prepares its database.</summary>
public static class JournalSetup
{
    /// <summary>The HOCON of the chosen journal with its connection string filled in.</summary>
    public static Config Config(HostSettings settings)
    {
        var (file, connectionString) = settings.Journal switch
        {
            JournalKind.Sqlite => ("persistence.sqlite.conf", SqliteConnectionString(settings)),
            _ => ("persistence.postgres.conf", settings.PostgresConnectionString!),
        };
        var quoted = Quote(connectionString);
        return ConfigurationFactory.ParseString($"""
            akka.persistence.journal.sql.connection-string = {quoted}
            akka.persistence.snapshot-store.sql.connection-string = {quoted}
            """)
            .WithFallback(ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(settings.HoconDirectory, file))))
            // The plugin's own defaults (class names, batching) are not loaded unless added.
            .WithFallback(Akka.Persistence.Sql.SqlPersistence.DefaultConfiguration);
    }

    /// <summary>Creates the data folder and switches the SQLite file to WAL mode (it stays in WAL once set).</summary>
    public static void Prepare(HostSettings settings)
    {
        if (settings.Journal != JournalKind.Sqlite)
            return;
        Directory.CreateDirectory(Path.GetDirectoryName(settings.SqlitePath)!);
        using var connection = new SqliteConnection(SqliteConnectionString(settings));
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode=WAL;";
        command.ExecuteNonQuery();
    }

    /// <summary>The linq2db provider name and connection string of the journal's database (read models live there too).</summary>
    public static (string Provider, string ConnectionString) Database(HostSettings settings) => settings.Journal switch
    {
        JournalKind.Sqlite => ("SQLite.MS", SqliteConnectionString(settings)),
        _ => ("PostgreSQL.15", settings.PostgresConnectionString!),
    };

    /// <summary>Where the journal is, for the start-up log; never prints a password.</summary>
    public static string Describe(HostSettings settings) => settings.Journal switch
    {
        JournalKind.Sqlite => $"SQLite file {settings.SqlitePath} (WAL)",
        _ => "PostgreSQL " + DescribePostgres(settings.PostgresConnectionString!),
    };

    private static string SqliteConnectionString(HostSettings settings) =>
        new SqliteConnectionStringBuilder { DataSource = settings.SqlitePath, Cache = SqliteCacheMode.Shared, Pooling = true }.ToString();

    private static string DescribePostgres(string connectionString)
    {
        var b = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
        return $"{b.Host}:{b.Port}/{b.Database} as {b.Username}";
    }

    private static string Quote(string value) => "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}
