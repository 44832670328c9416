using Akka.WhatsApp.Protocol;

namespace Akka.WhatsApp.Client.Media;

/// <summary>
/// The user's auto-download settings (PROTOCOL.md §12), kept with the account so that every device of the user follows
/// the same ones: what a device downloads as it arrives, by media kind and by the network it is on. What the rules do
/// not allow is shown with its thumbnail and downloaded when the user asks ("tap to download").
/// </summary>
public static class AutoDownload
{
    public static async Task<MediaSettings> GetAsync(WhatsAppClient client, CancellationToken cancellationToken = default) =>
        (await client.RequestAsync(new Frame { GetMediaSettings = new GetMediaSettings() }, cancellationToken)).MediaSettings;

    public static async Task<MediaSettings> SetAsync(WhatsAppClient client, MediaSettings settings, CancellationToken cancellationToken = default) =>
        (await client.RequestAsync(new Frame { SetMediaSettings = new SetMediaSettings { Settings = settings } }, cancellationToken)).MediaSettings;

    /// <summary>Whether media of <paramref name="kind"/> and <paramref name="size"/> bytes is downloaded at once on <paramref name="network"/>.</summary>
    public static bool Allows(MediaSettings settings, NetworkClass network, MediaKind kind, ulong size) =>
        settings.AutoDownload.FirstOrDefault(r => r.Network == network) is { } rule && rule.Kinds.Contains(kind) && (rule.MaxBytes == 0 || size <= rule.MaxBytes);
}
