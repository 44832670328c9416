using Microsoft.Data.Sqlite;

namespace Akka.WhatsApp.Client.Storage;

/// <summary>How the SDK opens a SQLite file on the device (the message store, the key store): private to the user (mode 600), durable writes.</summary>
internal static class DeviceDatabase
{
    public static SqliteConnection Open(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var created = !File.Exists(path);
        var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        db.Open();
        if (created && !OperatingSystem.IsWindows())
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        using var pragmas = db.CreateCommand();
        pragmas.CommandText = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;";
        pragmas.ExecuteNonQuery();
        return db;
    }
}
