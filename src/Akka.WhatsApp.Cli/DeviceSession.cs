using Akka.WhatsApp.Client;
using Akka.WhatsApp.Client.Crypto;
using Akka.WhatsApp.Client.Storage;

namespace Akka.WhatsApp.Cli;

/// <summary>
/// One `wa` command's use of the profile's device. A command that holds the device (`listen`, `chat`) connects to the
/// server with the profile's message store, so that what arrives is stored before it is acknowledged, and lets the
/// profile's other commands use its connection (<see cref="LocalRelay"/>). Any other command goes through a running
/// holder when there is one, and otherwise connects itself, with the store too: whatever arrives meanwhile is kept for
/// `wa listen` and `wa history`, never acknowledged unseen.
/// </summary>
public sealed class DeviceSession : IAsyncDisposable
{
    private readonly LocalRelay? _relay;

    private readonly KeyStore? _keys;

    private DeviceSession(string folder, Profile profile, MessageStore store, KeyStore? keys, WhatsAppClient client, LocalRelay? relay, bool throughRelay)
    {
        _keys = keys;
        Folder = folder;
        Profile = profile;
        Store = store;
        Client = client;
        _relay = relay;
        ThroughRelay = throughRelay;
    }

    public string Folder { get; }
    public Profile Profile { get; }
    public MessageStore Store { get; }
    public WhatsAppClient Client { get; }

    /// <summary>
    /// What `wa listen` / `wa chat` download as media arrives: the user's auto-download settings (fetched when they
    /// start) on the network they were told they are on; null = nothing automatically.
    /// </summary>
    public (Protocol.MediaSettings Settings, Protocol.NetworkClass Network)? AutoDownload { get; set; }

    /// <summary>True when another `wa` (listen or chat) holds the device and this command uses its connection.</summary>
    public bool ThroughRelay { get; }

    public static string StorePath(string folder) => Path.Combine(folder, "messages.db");

    /// <summary>The device's keys and sessions (end-to-end encryption).</summary>
    public static string KeysPath(string folder) => Path.Combine(folder, "keys.db");

    public static async Task<DeviceSession> OpenAsync(string folder, Profile profile, ClientOptions options, bool holds, CancellationToken ct)
    {
        var credentials = profile.Credentials;
        var store = MessageStore.Open(StorePath(folder));
        store.ApplyRetention(DateTimeOffset.UtcNow); // history older than the profile's retention (a year unless set) goes
        KeyStore? keys = null;
        try
        {
            if (LocalRelay.Find(folder) is { } port)
            {
                if (holds)
                    throw new CliException("another `wa listen` or `wa chat` is running for this profile; use that one, or stop it first");
                // The holder has the device's sessions in hand and encrypts what this command sends.
                var relayed = await WhatsAppClient.ConnectAsync(
                    options with { Host = "127.0.0.1", Port = port, Alternates = [], Store = null, EncryptedByRelay = true }, credentials, cancellationToken: ct);
                return new DeviceSession(folder, profile, store, null, relayed, relay: null, throughRelay: true);
            }
            keys = KeyStore.Open(KeysPath(folder));
            var client = await WhatsAppClient.ConnectAsync(options with { Store = store, Keys = keys }, credentials, profile.LastAckedSeq, ct);
            return new DeviceSession(folder, profile, store, keys, client, holds ? LocalRelay.Start(folder, client) : null, throughRelay: false);
        }
        catch
        {
            keys?.Dispose();
            store.Dispose();
            throw;
        }
    }

    /// <summary>Messages that arrived for this device and were stored but not shown yet (by `wa listen`, `chat` or `history`).</summary>
    public int UnshownCount => Store.Unshown().Count(m => !m.Outgoing);

    public async ValueTask DisposeAsync()
    {
        if (_relay is not null)
            await _relay.DisposeAsync();
        await Client.DisposeAsync();
        _keys?.Dispose();
        Store.Dispose();
    }
}
