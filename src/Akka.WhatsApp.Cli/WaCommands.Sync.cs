using System.CommandLine;
using Akka.WhatsApp.Client;
using Akka.WhatsApp.Client.Crypto;

namespace Akka.WhatsApp.Cli;

/// <summary>
/// `wa link`, `wa approve-link` and `wa sync-history`: linking this profile as a companion of an account and giving it the
/// primary's recent history (PROTOCOL.md §7, §17). The primary answers a history request by itself while it is connected
/// (`wa listen`, `wa chat`, or `wa approve-link`, which waits for the new device's request).
/// </summary>
public static partial class WaCommands
{
    private static Command LinkCommand(Option<string> profileOption, Option<string?> serverOption, TextWriter output)
    {
        var nameOption = new Option<string>("--name") { Description = "the name the account's device list shows", DefaultValueFactory = _ => "wa companion" };
        var noHistoryOption = new Option<bool>("--no-history") { Description = "do not ask the primary for its history after linking" };
        var (maxMessagesOption, maxDaysOption) = HistoryOptions();
        var command = new Command("link", "link this (new) profile as a companion of an account: shows a code to approve on the primary, then fetches history");
        foreach (var option in new Option[] { nameOption, noHistoryOption, maxMessagesOption, maxDaysOption })
            command.Options.Add(option);
        command.SetAction(async (p, ct) =>
        {
            var (folder, profile, options) = Open(p, profileOption, serverOption);
            if (profile.UserId is not null)
                throw new CliException($"this profile is already {profile.UserId} (device {profile.DeviceId}): link a new profile folder (--profile)");
            DeleteKeyStore(folder);
            Credentials credentials;
            using (var keys = KeyStore.Open(DeviceSession.KeysPath(folder)))
            {
                var (code, linked) = await WhatsAppClient.RequestLinkAsync(options with { Keys = keys }, p.GetValue(nameOption)!, identityKey: null, ct);
                output.WriteLine($"link code: {code}");
                output.WriteLine($"on your primary: wa approve-link {code} {Convert.ToHexString(keys.Identity.PublicKey).ToLowerInvariant()}");
                credentials = await linked.WaitAsync(ct);
            }
            (profile with
            {
                UserId = credentials.UserId, DeviceId = credentials.DeviceId, Token = Convert.ToBase64String(credentials.Token), LastAckedSeq = 0,
                Server = $"{options.Host}:{options.Port}",
            }).Save(folder);
            File.Delete(DeviceSession.StorePath(folder));
            await using var device = await DeviceSession.OpenAsync(folder, Profile.Load(folder), options, holds: false, ct); // publishes the keys
            output.WriteLine($"linked: you are {credentials.UserId} (device {credentials.DeviceId}); encryption keys published");
            if (!p.GetValue(noHistoryOption))
                await SyncHistoryAsync(device, p.GetValue(maxMessagesOption), p.GetValue(maxDaysOption), output, ct);
            return 0;
        });
        return command;
    }

    private static Command ApproveLinkCommand(Option<string> profileOption, Option<string?> serverOption, TextWriter output)
    {
        var codeArgument = new Argument<string>("code") { Description = "the link code the new device shows" };
        var keyArgument = new Argument<string>("identity-key") { Description = "the new device's identity key (hex), as it shows it" };
        var waitOption = new Option<int>("--history-wait")
        {
            Description = "seconds to wait for the new device's history request and answer it (0 = do not wait)", DefaultValueFactory = _ => 120,
        };
        var command = new Command("approve-link", "approve a new device on this (primary) profile and send it the history it asks for") { codeArgument, keyArgument };
        command.Options.Add(waitOption);
        command.SetAction(async (p, ct) =>
        {
            byte[] key;
            try
            {
                key = Convert.FromHexString(p.GetValue(keyArgument)!);
            }
            catch (FormatException)
            {
                throw new CliException("identity-key is the hex the new device printed");
            }
            var (folder, profile, options) = Open(p, profileOption, serverOption);
            await using var device = await DeviceSession.OpenAsync(folder, profile, options, holds: false, ct);
            if (device.ThroughRelay)
                throw new CliException("approving signs the new device with this device's identity key: stop the `wa listen` / `wa chat` of this profile first");
            var before = (await device.Client.RequestAsync(new Protocol.Frame { ListDevices = new Protocol.ListDevices() }, ct)).DeviceList.Devices.Select(d => d.DeviceId).ToHashSet();
            var list = await device.Client.ApproveLinkAsync(p.GetValue(codeArgument)!, key, ct);
            var added = list.Devices.Select(d => d.DeviceId).Where(d => !before.Contains(d)).DefaultIfEmpty(list.Devices.Max(d => d.DeviceId)).First();
            output.WriteLine($"device {added} linked");
            var wait = p.GetValue(waitOption);
            if (wait <= 0)
                return 0;
            output.WriteLine($"waiting up to {wait} s for device {added} to ask for history…");
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
            deadline.CancelAfter(TimeSpan.FromSeconds(wait));
            try
            {
                await foreach (var e in device.Client.Events.ReadAllAsync(deadline.Token))
                {
                    if (e is not HistorySyncSent sent || sent.DeviceId != added)
                        continue;
                    if (sent.Error is not null)
                        throw new CliException($"the history could not be sent to device {added}: {sent.Error}");
                    output.WriteLine($"history sent to device {added}: {sent.Messages} messages");
                    return 0;
                }
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
            }
            output.WriteLine($"device {added} did not ask for history within {wait} s (a `wa listen` here answers it later)");
            return 0;
        });
        return command;
    }

    private static Command SyncHistoryCommand(Func<ParseResult, bool, CancellationToken, Task<DeviceSession>> deviceAsync, TextWriter output)
    {
        var (maxMessagesOption, maxDaysOption) = HistoryOptions();
        var command = new Command("sync-history", "ask the primary (which must be connected) for its recent history and import it into this companion profile");
        command.Options.Add(maxMessagesOption);
        command.Options.Add(maxDaysOption);
        command.SetAction(async (p, ct) =>
        {
            await using var device = await deviceAsync(p, false, ct);
            if (device.ThroughRelay)
                throw new CliException("history arrives end-to-end encrypted for this device's keys: stop the `wa listen` / `wa chat` of this profile first");
            await SyncHistoryAsync(device, p.GetValue(maxMessagesOption), p.GetValue(maxDaysOption), output, ct);
            return 0;
        });
        return command;
    }

    private static (Option<uint> MaxMessages, Option<uint> MaxDays) HistoryOptions() => (
        new Option<uint>("--max-messages") { Description = "at most this many of the newest messages (0 = the primary decides)", DefaultValueFactory = _ => 0 },
        new Option<uint>("--max-days") { Description = "only messages of the last this many days (0 = the primary decides)", DefaultValueFactory = _ => 0 });

    /// <summary>Runs the companion's side, printing a line per chunk and one at the end.</summary>
    private static async Task SyncHistoryAsync(DeviceSession device, uint maxMessages, uint maxDays, TextWriter output, CancellationToken ct)
    {
        if (device.Profile.DeviceId == 1)
            throw new CliException("this is the primary device: history comes from it (link a companion with `wa link`)");
        output.WriteLine("asking the primary for history (it must be connected)…");
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var printing = Task.Run(async () =>
        {
            try
            {
                await foreach (var e in device.Client.Events.ReadAllAsync(stop.Token))
                    if (e is HistorySyncProgressed { MessagesImported: 0 } progress)
                        output.WriteLine($"history: chunk {progress.ChunksFetched} of {progress.ChunksAvailable} received ({progress.BytesReceived} bytes)");
            }
            catch (OperationCanceledException)
            {
            }
        }, CancellationToken.None);
        try
        {
            var done = await device.Client.RequestHistorySyncAsync(maxDays, maxMessages, ct);
            await stop.CancelAsync();
            await printing;
            output.WriteLine($"history imported: {done.MessagesImported} messages (of {done.MessagesInArchive} sent)");
        }
        finally
        {
            await stop.CancelAsync();
            await printing;
        }
    }
}
