using Npgsql;

namespace Akka.WhatsApp.Testing;

/// <summary>
/// The PostgreSQL server that ./build.sh test starts (WA_TEST_POSTGRES). Each caller gets a fresh database.
/// A test that needs PostgreSQL fails with a clear message when none is configured: it never skips.
/// </summary>
public static class TestPostgres
{
    public const string Variable = "WA_TEST_POSTGRES";

    public static string ServerConnectionString =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } cs
            ? cs
            : throw new InvalidOperationException(
                $"This test needs PostgreSQL and {Variable} is not set. Run the tests through ./build.sh test, which starts one, " +
                $"or set {Variable} to an Npgsql connection string of a server where the user may create databases.");

    /// <summary>Creates an empty database and returns its connection string.</summary>
    public static async Task<string> CreateDatabaseAsync(string prefix)
    {
        var name = $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 33, 63)].ToLowerInvariant();
        await using (var connection = new NpgsqlConnection(ServerConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await command.ExecuteNonQueryAsync();
        }
        return new NpgsqlConnectionStringBuilder(ServerConnectionString) { Database = name }.ConnectionString;
    }
}
