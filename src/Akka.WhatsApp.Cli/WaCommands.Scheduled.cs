using System.CommandLine;
using System.Globalization;
using Akka.WhatsApp.Client.Storage;
using Akka.WhatsApp.Protocol;

namespace Akka.WhatsApp.Cli;

/// <summary>
/// Scheduled messages (PROTOCOL.md §8.8): `wa send … --at` and `wa group send … --at` schedule; `wa scheduled` lists what
/// is pending (with the text this profile stored), `wa scheduled cancel <id>`, `move <id> <time>` and `edit <id> <text>` change it.
/// The server keeps only the ciphertexts; a message this device scheduled is re-encrypted for devices the recipient links
/// meanwhile while a `wa listen` (or `wa chat`) of this profile runs.
/// </summary>
public static partial class WaCommands
{
    private static Option<string?> AtOption() =>
        new("--at") { Description = "schedule it: the local date and time to send at, e.g. \"2026-12-24 08:00\" (at most 30 days ahead)" };

    /// <summary>The time an --at value names (local unless it says otherwise); it must be in the future.</summary>
    private static DateTimeOffset? SendAtOption(string? value, DateTimeOffset? now = null)
    {
        if (string.IsNullOrWhiteSpace(value))
            return null;
        if (!DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeLocal, out var at))
            throw new CliException($"--at takes a date and time such as \"2026-12-24 08:00\", not '{value}'");
        return at > (now ?? DateTimeOffset.Now) ? at : throw new CliException($"--at {value} is not in the future");
    }

    private static string ScheduledLine(string hex, DateTimeOffset at) => $"⏰ {hex} scheduled for {at.ToLocalTime():yyyy-MM-dd HH:mm}";

    private static Command ScheduledCommand(Func<ParseResult, bool, CancellationToken, Task<DeviceSession>> deviceAsync, TextWriter output)
    {
        var idArgument = new Argument<string>("message-id") { Description = "the scheduled message's id (as `wa scheduled` shows it)" };
        var timeArgument = new Argument<string>("time") { Description = "the new local date and time, e.g. \"2026-12-24 09:30\"" };
        var scheduled = new Command("scheduled", "list your scheduled messages that are not sent yet");
        scheduled.SetAction(async (p, ct) =>
        {
            await using var device = await deviceAsync(p, false, ct);
            var pending = await device.Client.ListScheduledAsync(ct);
            foreach (var m in pending)
            {
                var chat = m.GroupId.Length > 0 ? ChatId.Group(m.GroupId) : ChatId.User(m.ToUserId);
                var stored = device.Store.Find(MessageStore.Hex(m.MessageId));
                var what = stored?.Text ?? (stored is null ? $"[{m.Kind.ToString().ToLowerInvariant()} scheduled from device {m.FromDeviceId}]" : $"[{stored.Kind.ToString().ToLowerInvariant()}]");
                output.WriteLine($"{DateTimeOffset.FromUnixTimeMilliseconds((long)m.SendAt).ToLocalTime():yyyy-MM-dd HH:mm}  to {Describe(chat)}: {what}\t{MessageStore.Hex(m.MessageId)}");
            }
            output.WriteLine(pending.Count == 0 ? "no scheduled messages" : $"{pending.Count} scheduled");
        });

        var cancel = new Command("cancel", "cancel a scheduled message: it is never sent") { idArgument };
        cancel.SetAction(async (p, ct) =>
        {
            var id = MessageIdOf(p.GetValue(idArgument)!) ?? throw new CliException("a message id is 32 hex digits");
            await using var device = await deviceAsync(p, false, ct);
            await device.Client.CancelScheduledAsync(id, ct);
            output.WriteLine($"cancelled {Hex(id)}");
        });

        var move = new Command("move", "send a scheduled message at another time") { idArgument, timeArgument };
        move.SetAction(async (p, ct) =>
        {
            var id = MessageIdOf(p.GetValue(idArgument)!) ?? throw new CliException("a message id is 32 hex digits");
            var at = SendAtOption(p.GetValue(timeArgument))!.Value;
            await using var device = await deviceAsync(p, false, ct);
            await device.Client.RescheduleAsync(id, at, ct);
            output.WriteLine(ScheduledLine(Hex(id), at));
        });
        var textArgument = new Argument<string>("text") { Description = "the new text" };
        var edit = new Command("edit", "change the text of a scheduled message (it is cancelled and scheduled again, for the same time, under a new id)")
        {
            idArgument, textArgument,
        };
        edit.SetAction(async (p, ct) =>
        {
            // The server holds only ciphertexts it cannot change: an edit is a cancel and a new message, encrypted afresh.
            var id = MessageIdOf(p.GetValue(idArgument)!) ?? throw new CliException("a message id is 32 hex digits");
            await using var device = await deviceAsync(p, false, ct);
            var pending = (await device.Client.ListScheduledAsync(ct)).FirstOrDefault(m => m.MessageId == id)
                          ?? throw new CliException($"no scheduled message {Hex(id)} is pending (sent, cancelled or never scheduled)");
            var chat = pending.GroupId.Length > 0 ? ChatId.Group(pending.GroupId) : ChatId.User(pending.ToUserId);
            await device.Client.CancelScheduledAsync(id, ct);
            device.Store.DeleteForMe(chat, device.Client.Credentials.UserId, Hex(id));
            var sent = await SendTextAsync(device, chat, p.GetValue(textArgument)!, ct, sendAt: DateTimeOffset.FromUnixTimeMilliseconds((long)pending.SendAt));
            output.WriteLine(ScheduledLine(sent.Hex, sent.ScheduledFor ?? sent.At) + $" (replaces {Hex(id)})");
        });
        scheduled.Subcommands.Add(cancel);
        scheduled.Subcommands.Add(move);
        scheduled.Subcommands.Add(edit);
        return scheduled;
    }

    /// <summary>A SYSTEM scheduled_update as `wa listen` and `wa history` show it.</summary>
    internal static string ScheduledUpdateLine(ScheduledUpdate u)
    {
        var chat = u.GroupId.Length > 0 ? $"group {u.GroupId}" : u.ToUserId;
        var id = MessageStore.Hex(u.MessageId);
        return u.Outcome switch
        {
            ScheduledOutcome.Sent => $"⏰ scheduled message {id} to {chat} sent" + (u.Resend.Count > 0 ? $" (re-encrypted for {u.Resend.Sum(r => r.MissingDeviceIds.Count)} new device(s))" : ""),
            ScheduledOutcome.Cancelled => $"⏰ scheduled message {id} to {chat} cancelled",
            ScheduledOutcome.Rescheduled => $"⏰ scheduled message {id} to {chat} moved to {DateTimeOffset.FromUnixTimeMilliseconds((long)u.SendAt).ToLocalTime():yyyy-MM-dd HH:mm}",
            _ => $"⏰ scheduled message {id} to {chat} could not be sent: {u.Reason}",
        };
    }
}
