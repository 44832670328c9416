using System.CommandLine;
using System.Text.Json;
using Akka.WhatsApp.Client;
using Akka.WhatsApp.Client.Status;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;

namespace Akka.WhatsApp.Cli;

/// <summary>
/// `wa status ...`: post a 24-hour status to your contacts, read your contacts' statuses, see who viewed yours, delete one.
/// The CLI's contacts are the people you have a 1:1 chat with in this profile; `--audience` narrows or names them.
/// </summary>
public static partial class WaCommands
{
    private static Command StatusCommand(Option<string> profileOption, Option<string?> serverOption, TextWriter output)
    {
        var textArgument = new Argument<string?>("text") { Description = "the status (with --file: its caption)", Arity = ArgumentArity.ZeroOrOne };
        var fileOption = new Option<string?>("--file") { Description = "post this photo (or .mp4 video, .ogg voice note)" };
        var audienceOption = new Option<string>("--audience")
        {
            Description = "contacts (everyone you chat with), except:u1,u2 (all of them but these) or only:u1,u2 (only these); users by id or +phone",
            DefaultValueFactory = _ => "contacts",
        };
        var viewOption = new Option<bool>("--view") { Description = "mark the statuses shown as viewed (their owners see you among the viewers)" };
        var idArgument = new Argument<string>("id") { Description = "one of your statuses (hex, as `wa status post` prints it)" };
        idArgument.Validators.Add(result =>
        {
            if (result.Tokens is [var token] && MessageIdOf(token.Value) is null)
                result.AddError($"a status id is 32 hex characters, not '{token.Value}'");
        });

        // Statuses are encrypted on this device: like calls, they need the profile's own connection (not a running `wa listen`'s relay).
        Command Define(string name, string description, Symbol[] symbols, Func<ParseResult, DeviceSession, CancellationToken, Task<int>> run)
        {
            var command = new Command(name, description);
            foreach (var symbol in symbols)
            {
                if (symbol is Argument argument)
                    command.Arguments.Add(argument);
                else
                    command.Options.Add((Option)symbol);
            }
            command.SetAction(async (p, ct) =>
            {
                await using var device = await CallDeviceAsync(p, profileOption, serverOption, ct);
                return await run(p, device, ct);
            });
            return command;
        }

        var post = Define("post", "post a status for 24 hours", [textArgument, fileOption, audienceOption], async (p, device, ct) =>
        {
            var (text, file) = (p.GetValue(textArgument), p.GetValue(fileOption));
            if (text is null && file is null)
                throw new CliException("say what to post: a text, or --file with a photo (and an optional caption)");
            StatusAudience chosen;
            try
            {
                chosen = StatusAudiences.Parse(p.GetValue(audienceOption)!);
            }
            catch (FormatException e)
            {
                throw new CliException(e.Message);
            }
            var named = new StatusAudience { Mode = chosen.Mode };
            foreach (var user in chosen.UserIds)
                named.UserIds.Add(await UserOfAsync(device.Client, user, ct));
            var contacts = device.Store.Chats().Where(c => !c.Chat.IsGroup).Select(c => c.Chat.Id);
            var audience = StatusAudiences.Resolve(named, contacts, device.Profile.UserId!);
            if (audience.Count == 0)
                throw new CliException("nobody to show it to: chat with someone first, or name users with --audience only:user,...");
            var result = file is not null
                ? await device.Client.PostStatusFileAsync(file, text ?? "", audience, MediaHttp, named, ct)
                : await device.Client.PostStatusAsync(text!, audience, named, ct);
            StatusCache.Remember(device.Folder, device.Profile.UserId!, result.StatusId, device.Client);
            output.WriteLine($"posted {Hex(result.StatusId)} to {result.Audience.Count} of {audience.Count} contacts, until {result.ExpiresAt.ToLocalTime():yyyy-MM-dd HH:mm}");
            foreach (var left in audience.Except(result.Audience))
                output.WriteLine($"  not to {left}: they have no encryption keys yet");
            return 0;
        });

        var feed = Define("feed", "show your contacts' statuses and your own, oldest first", [viewOption], async (p, device, ct) =>
        {
            var cache = StatusCache.Load(device.Folder);
            foreach (var (owner, id, body) in cache.Entries())
                device.Client.RememberStatusBody(owner, id, body);
            var entries = await device.Client.GetStatusFeedAsync(cancellationToken: ct);
            cache.Save(device.Folder, entries);
            if (entries.Count == 0)
                output.WriteLine("no statuses");
            var self = device.Profile.UserId!;
            foreach (var e in entries)
            {
                var what = e.Kind == ContentKind.Text ? e.Text ?? "(cannot be decrypted)"
                    : $"[{e.Kind.ToString().ToLowerInvariant()}] {e.Text}".TrimEnd();
                var who = e.Owner == self ? "you" : e.Owner;
                output.WriteLine($"{who,-34} {Hex(e.StatusId)} {e.PostedAt.ToLocalTime():HH:mm} {what}{(e.Viewed ? " (viewed)" : "")}");
            }
            if (p.GetValue(viewOption))
                foreach (var owner in entries.Where(e => e.Owner != self && !e.Viewed).GroupBy(e => e.Owner))
                    await device.Client.ViewStatusAsync(owner.Key, owner.Select(e => e.StatusId), ct);
            return 0;
        });

        var viewers = Define("viewers", "who viewed one of your statuses", [idArgument], async (p, device, ct) =>
        {
            var list = await device.Client.GetStatusViewersAsync(MessageIdOf(p.GetValue(idArgument)!)!, ct);
            output.WriteLine($"{list.Count} view{(list.Count == 1 ? "" : "s")}");
            foreach (var (user, at) in list.Viewers)
                output.WriteLine($"  {user} at {at.ToLocalTime():HH:mm}");
            if (list.Count > list.Viewers.Count)
                output.WriteLine($"  and {list.Count - list.Viewers.Count} with read receipts off");
            return 0;
        });

        var delete = Define("delete", "delete one of your statuses before it expires", [idArgument], async (p, device, ct) =>
        {
            await device.Client.DeleteStatusAsync(MessageIdOf(p.GetValue(idArgument)!)!, ct);
            output.WriteLine("deleted");
            return 0;
        });

        return new Command("status", "24-hour statuses: post, feed, viewers, delete") { post, feed, viewers, delete };
    }

    /// <summary>
    /// The statuses this profile decrypted, by owner and id (a ciphertext decrypts once): kept beside the profile so that a
    /// later `wa status feed` shows them again, and pruned to what the server still lists.
    /// </summary>
    private sealed class StatusCache
    {
        private Dictionary<string, string> _bodies = new(StringComparer.Ordinal);

        private static string PathIn(string folder) => System.IO.Path.Combine(folder, "statuses.json");

        public static StatusCache Load(string folder) =>
            new() { _bodies = File.Exists(PathIn(folder)) ? JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(PathIn(folder))) ?? [] : [] };

        public IEnumerable<(string Owner, ByteString Id, ByteString Body)> Entries() =>
            _bodies.Select(kv => kv.Key.Split(':', 2)).Zip(_bodies.Values)
                .Where(x => x.First.Length == 2 && MessageIdOf(x.First[1]) is not null)
                .Select(x => (x.First[0], MessageIdOf(x.First[1])!, ByteString.FromBase64(x.Second)));

        /// <summary>Keeps this device's own post (it has no ciphertext for itself), as the client remembered it.</summary>
        public static void Remember(string folder, string self, ByteString id, WhatsAppClient client)
        {
            if (client.StatusBodyOf(self, id) is not { } body)
                return;
            var cache = Load(folder);
            cache._bodies[$"{self}:{Hex(id)}"] = body.ToBase64();
            File.WriteAllText(PathIn(folder), JsonSerializer.Serialize(cache._bodies));
        }

        public void Save(string folder, IEnumerable<StatusEntry> entries)
        {
            var kept = entries.Where(e => e.Body is not null).ToDictionary(e => $"{e.Owner}:{Hex(e.StatusId)}", e => e.Body!.ToBase64(), StringComparer.Ordinal);
            File.WriteAllText(PathIn(folder), JsonSerializer.Serialize(kept));
        }
    }
}
