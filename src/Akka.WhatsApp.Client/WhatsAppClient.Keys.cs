using Akka.WhatsApp.Protocol;

namespace Akka.WhatsApp.Client;

/// <summary>
/// The key directory (PROTOCOL.md §13): public keys only. The session protocol on top of it (PQXDH, Double Ratchet)
/// is the SDK's next layer; until it lands, these calls publish and fetch keys made by the application.
/// </summary>
public sealed partial class WhatsAppClient
{
    /// <summary>Publishes this device's keys; the answer is what is stored now. A bad signature fails with INVALID_SIGNATURE.</summary>
    public async Task<PreKeyCount> UploadKeysAsync(UploadKeys keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        return (await RequestAsync(new Frame { UploadKeys = keys }, cancellationToken)).PreKeyCount;
    }

    /// <summary>Bundles for <paramref name="deviceIds"/> of a user (none: all its current devices); each one-time key in them is the caller's alone.</summary>
    public async Task<PreKeyBundles> FetchPreKeyBundlesAsync(string userId, IEnumerable<uint>? deviceIds = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        var fetch = new FetchPreKeyBundles { UserId = userId };
        fetch.DeviceIds.AddRange(deviceIds ?? []);
        return (await RequestAsync(new Frame { FetchPreKeyBundles = fetch }, cancellationToken)).PreKeyBundles;
    }

    public async Task<PreKeyCount> GetPreKeyCountAsync(CancellationToken cancellationToken = default) =>
        (await RequestAsync(new Frame { GetPreKeyCount = new GetPreKeyCount() }, cancellationToken)).PreKeyCount;

    /// <summary>The identity keys of a user's current devices, for safety numbers.</summary>
    public async Task<IdentityKeys> GetIdentityKeysAsync(string userId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        return (await RequestAsync(new Frame { GetIdentityKeys = new GetIdentityKeys { UserId = userId } }, cancellationToken)).IdentityKeys;
    }
}
