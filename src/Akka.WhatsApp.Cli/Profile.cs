using System.Text.Json;
using Akka.WhatsApp.Client;

namespace Akka.WhatsApp.Cli;

/// <summary>
/// Who `wa` is between runs, in one JSON file of the profile folder (the token is a secret: mode 600). What the device
/// received and sent is in the profile's message store (messages.db, <see cref="Client.Storage.MessageStore"/>).
/// </summary>
public sealed record Profile
{
    public string Server { get; init; } = "127.0.0.1:5222";
    public string? Phone { get; init; }
    public string? UserId { get; init; }
    public uint DeviceId { get; init; }
    public string? Token { get; init; }
    /// <summary>The ack cursor of profiles from before the message store (which keeps it now, with the messages).</summary>
    public ulong LastAckedSeq { get; init; }

    [System.Text.Json.Serialization.JsonIgnore]
    public Credentials Credentials => UserId is null || Token is null
        ? throw new CliException("not logged in: run `wa register <phone>` and `wa verify <phone>` first")
        : new Credentials(UserId, DeviceId, Convert.FromBase64String(Token));

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static string PathIn(string folder) => System.IO.Path.Combine(folder, "profile.json");

    public static Profile Load(string folder) =>
        File.Exists(PathIn(folder)) ? JsonSerializer.Deserialize<Profile>(File.ReadAllText(PathIn(folder)), Json) ?? new Profile() : new Profile();

    public void Save(string folder)
    {
        Directory.CreateDirectory(folder);
        var path = PathIn(folder);
        File.WriteAllText(path, JsonSerializer.Serialize(this, Json));
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }
}

/// <summary>A failure to report on the command line in one sentence (exit code 1), never a stack trace.</summary>
public sealed class CliException(string message) : Exception(message);
