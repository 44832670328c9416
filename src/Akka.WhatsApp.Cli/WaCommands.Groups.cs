using System.CommandLine;
using System.Text;
using Akka.WhatsApp.Client;
using Akka.WhatsApp.Client.Media;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;

namespace Akka.WhatsApp.Cli;

/// <summary>`wa group ...`: create, inspect and run groups, and post to them.</summary>
public static partial class WaCommands
{
    private static Command GroupCommand(Option<string> profileOption, Option<string?> serverOption, TextWriter output)
    {
        var groupArgument = new Argument<string>("group") { Description = "a group id (as `wa group create` or `wa group list` print it)" };
        var nameArgument = new Argument<string>("name") { Description = "the group's name (1 to 100 characters)" };
        var membersArgument = new Argument<string[]>("members") { Description = "user ids to add besides you", Arity = ArgumentArity.ZeroOrMore };
        var usersArgument = new Argument<string[]>("users") { Description = "user ids", Arity = ArgumentArity.OneOrMore };
        var inviteArgument = new Argument<string>("code") { Description = "an invite code (as `wa group invite` prints it)" };
        var textArgument = new Argument<string>("text") { Description = "the message" };
        var captionArgument = new Argument<string?>("text") { Description = "the message (with --file: its caption)", Arity = ArgumentArity.ZeroOrOne };
        var fileOption = new Option<string?>("--file") { Description = "post this image, video, audio or document (the kind from its content)" };
        var atOption = AtOption();
        var pictureArgument = new Argument<string?>("picture") { Description = "the new icon (any image; made 640 px at most)", Arity = ArgumentArity.ZeroOrOne };
        var removeOption = new Option<bool>("--remove") { Description = "remove the group's icon" };
        var messageIdArgument = new Argument<string>("message-id") { Description = "one of your group messages (hex, as `wa group send` prints it)" };
        messageIdArgument.Validators.Add(result =>
        {
            if (result.Tokens is [var token] && MessageIdOf(token.Value) is null)
                result.AddError($"a message id is 32 hex characters, not '{token.Value}'");
        });
        var onlyAdminsSend = SettingOption("--only-admins-send", "only admins may post");
        var onlyAdminsEditInfo = SettingOption("--only-admins-edit-info", "only admins may change name, description and icon");
        var onlyAdminsAdd = SettingOption("--only-admins-add", "only admins may add members");

        // Every group command logs in, does one thing and says what happened; the exit code is 1 when something was refused.
        Command Define(string name, string description, IEnumerable<Symbol> symbols, Func<ParseResult, DeviceSession, CancellationToken, Task<int>> run)
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
                var (folder, profile, options) = Open(p, profileOption, serverOption);
                await using var device = await DeviceSession.OpenAsync(folder, profile, options, holds: false, ct);
                var code = await run(p, device, ct);
                await TellUnshownAsync(device, output, ct);
                return code;
            });
            return command;
        }

        Command Members(string name, string description, string done,
            Func<WhatsAppClient, string, IEnumerable<string>, CancellationToken, Task<MembersResult>> change) =>
            Define(name, description, [groupArgument, usersArgument], async (p, device, ct) =>
                ShowResults(await change(device.Client, p.GetValue(groupArgument)!, p.GetValue(usersArgument)!, ct), done, output));

        var group = new Command("group", "create, inspect and run groups, and post to them");
        foreach (var command in new[]
                 {
                     Define("create", "create a group with you as its creator", [nameArgument, membersArgument], async (p, device, ct) =>
                     {
                         var created = await device.Client.CreateGroupAsync(p.GetValue(nameArgument)!, p.GetValue(membersArgument) ?? [], cancellationToken: ct);
                         output.WriteLine($"created {created.Group.GroupId} \"{created.Group.Name}\"");
                         return ShowResults(created.Results, "added", output);
                     }),
                     Define("info", "show a group: name, settings and members", [groupArgument], async (p, device, ct) =>
                     {
                         ShowInfo(await device.Client.GetGroupInfoAsync(p.GetValue(groupArgument)!, ct), output);
                         return 0;
                     }),
                     Define("list", "list the groups you are a member of", [], async (_, device, ct) =>
                     {
                         var groups = (await device.Client.ListGroupsAsync(ct)).Groups;
                         foreach (var g in groups)
                             output.WriteLine($"{g.GroupId}\t{g.Name}\t{g.Members.Count} members");
                         output.WriteLine($"{groups.Count} groups");
                         return 0;
                     }),
                     Members("add", "add members", "added", (c, g, users, ct) => c.AddMembersAsync(g, users, ct)),
                     Members("remove", "remove members (admins only)", "removed", (c, g, users, ct) => c.RemoveMembersAsync(g, users, ct)),
                     Members("promote", "make members admins (admins only)", "promoted", (c, g, users, ct) => c.PromoteAdminsAsync(g, users, ct)),
                     Members("demote", "make admins plain members (admins only)", "demoted", (c, g, users, ct) => c.DemoteAdminsAsync(g, users, ct)),
                     Define("settings", "show the group's settings, or change the given ones (admins only)",
                         [groupArgument, onlyAdminsSend, onlyAdminsEditInfo, onlyAdminsAdd], async (p, device, ct) =>
                         {
                             var groupId = p.GetValue(groupArgument)!;
                             var current = (await device.Client.GetGroupInfoAsync(groupId, ct)).Settings ?? new GroupSettings();
                             var wanted = ChangeSettings(current, p.GetValue(onlyAdminsSend), p.GetValue(onlyAdminsEditInfo), p.GetValue(onlyAdminsAdd));
                             if (!wanted.Equals(current))
                                 current = (await device.Client.UpdateGroupAsync(groupId, settings: wanted, cancellationToken: ct)).Settings ?? new GroupSettings();
                             output.WriteLine(Describe(current));
                             return 0;
                         }),
                     Define("rename", "change the group's name", [groupArgument, nameArgument], async (p, device, ct) =>
                     {
                         var info = await device.Client.UpdateGroupAsync(p.GetValue(groupArgument)!, name: p.GetValue(nameArgument)!, cancellationToken: ct);
                         output.WriteLine($"renamed {info.GroupId} to \"{info.Name}\"");
                         return 0;
                     }),
                     Define("leave", "leave a group", [groupArgument], async (p, device, ct) =>
                     {
                         await device.Client.LeaveGroupAsync(p.GetValue(groupArgument)!, ct);
                         output.WriteLine($"left {p.GetValue(groupArgument)}");
                         return 0;
                     }),
                     Define("invite", "print the group's invite code, creating it if needed (admins only)", [groupArgument], async (p, device, ct) =>
                     {
                         output.WriteLine((await device.Client.CreateInviteLinkAsync(p.GetValue(groupArgument)!, ct)).Code);
                         return 0;
                     }),
                     Define("join", "join a group with an invite code", [inviteArgument], async (p, device, ct) =>
                     {
                         var info = await device.Client.JoinGroupByInviteAsync(p.GetValue(inviteArgument)!, ct);
                         output.WriteLine($"joined {info.GroupId} \"{info.Name}\" ({info.Members.Count} members)");
                         return 0;
                     }),
                     Define("icon", "set the group's icon (admins, or anyone unless only admins edit info), or download it into the media folder",
                         [groupArgument, pictureArgument, removeOption], async (p, device, ct) =>
                         {
                             var groupId = p.GetValue(groupArgument)!;
                             if (p.GetValue(removeOption) || p.GetValue(pictureArgument) is not null)
                             {
                                 var icon = p.GetValue(removeOption) ? "" : await UploadPictureAsync(device, p.GetValue(pictureArgument)!, MediaKind.GroupIcon, ct);
                                 var changed = await device.Client.UpdateGroupAsync(groupId, iconMediaId: icon, cancellationToken: ct);
                                 output.WriteLine(changed.IconMediaId.Length > 0 ? $"icon of {groupId} is {changed.IconMediaId}" : $"{groupId} has no icon");
                                 return 0;
                             }
                             var info = await device.Client.GetGroupInfoAsync(groupId, ct);
                             if (info.IconMediaId.Length == 0)
                             {
                                 output.WriteLine($"{groupId} has no icon");
                                 return 1;
                             }
                             output.WriteLine($"saved {await SavePictureAsync(device, info.IconMediaId, groupId, $"icon-{groupId}.jpg", ct)}");
                             return 0;
                         }),
                     Define("send", "post a text message or a file to a group", [groupArgument, captionArgument, fileOption, atOption], async (p, device, ct) =>
                     {
                         // Encrypted once with this device's sender key, which the members' devices get first (PROTOCOL.md §13a).
                         var group = p.GetValue(groupArgument)!;
                         var (text, file) = (p.GetValue(captionArgument), p.GetValue(fileOption));
                         if (text is null && file is null)
                             throw new CliException("say what to post: a text, or --file <path>");
                         if (file is null && string.IsNullOrWhiteSpace(text))
                             throw new CliException("the message is empty: say what to post");
                         var sendAt = SendAtOption(p.GetValue(atOption));
                         var chat = Client.Storage.ChatId.Group(group);
                         var sent = file is null
                             ? await SendTextAsync(device, chat, text!, ct, sendAt: sendAt)
                             : await SendFileAsync(device, chat, file, text ?? "", output, ct, sendAt);
                         output.WriteLine(sent.ScheduledFor is { } at
                             ? ScheduledLine(sent.Hex, at)
                             : $"✓ {sent.Hex} at {sent.At.ToLocalTime():HH:mm:ss} (group seq {sent.GroupSeq})");
                         return 0;
                     }),
                     Define("receipts", "show who got and read one of your group messages", [groupArgument, messageIdArgument], async (p, device, ct) =>
                     {
                         ShowReceipts(await device.Client.GetGroupReceiptsAsync(p.GetValue(groupArgument)!, MessageIdOf(p.GetValue(messageIdArgument)!)!, ct), output);
                         return 0;
                     }),
                 })
            group.Subcommands.Add(command);
        return group;
    }

    /// <summary>An optional true|false setting; absent means "leave as it is" (anything but true or false is a parse error).</summary>
    private static Option<bool?> SettingOption(string name, string description) =>
        new(name) { Description = description, HelpName = "true|false", Arity = ArgumentArity.ExactlyOne };

    /// <summary>The settings with the given flags changed and the others kept (UpdateGroup replaces all three at once).</summary>
    internal static GroupSettings ChangeSettings(GroupSettings current, bool? onlyAdminsSend, bool? onlyAdminsEditInfo, bool? onlyAdminsAdd) => new()
    {
        OnlyAdminsSend = onlyAdminsSend ?? current.OnlyAdminsSend,
        OnlyAdminsEditInfo = onlyAdminsEditInfo ?? current.OnlyAdminsEditInfo,
        OnlyAdminsAddMembers = onlyAdminsAdd ?? current.OnlyAdminsAddMembers,
    };

    private static ByteString? MessageIdOf(string hex) =>
        hex.Length == 32 && hex.All(char.IsAsciiHexDigit) ? ByteString.CopyFrom(Convert.FromHexString(hex)) : null;

    private static string Hex(ByteString bytes) => Convert.ToHexString(bytes.Span).ToLowerInvariant();

    private static string Time(ulong unixMs) => DateTimeOffset.FromUnixTimeMilliseconds((long)unixMs).ToLocalTime().ToString("u");

    /// <summary>One line per user; 1 (the exit code) when any of them was refused.</summary>
    private static int ShowResults(MembersResult result, string done, TextWriter output) => ShowResults(result.Results, done, output);

    private static int ShowResults(IEnumerable<MemberResult> results, string done, TextWriter output)
    {
        var refused = 0;
        foreach (var r in results)
        {
            if (r.Error == ErrorCode.Unspecified)
                output.WriteLine($"{done} {r.UserId}");
            else
            {
                output.WriteLine($"not {done} {r.UserId}: {r.Error}");
                refused++;
            }
        }
        return refused == 0 ? 0 : 1;
    }

    private static void ShowInfo(GroupInfo g, TextWriter output)
    {
        output.WriteLine($"{g.GroupId} \"{g.Name}\"");
        if (g.Description.Length > 0)
            output.WriteLine($"description: {g.Description}");
        output.WriteLine($"created by {g.Creator} at {Time(g.CreatedAt)}; version {g.Version}, last seq {g.LastGroupSeq}");
        if (g.IconMediaId.Length > 0)
            output.WriteLine($"icon: {g.IconMediaId} (`wa group icon {g.GroupId}` downloads it)");
        output.WriteLine(Describe(g.Settings ?? new GroupSettings()));
        output.WriteLine($"{g.Members.Count} members:");
        foreach (var m in g.Members.OrderByDescending(m => m.Role).ThenBy(m => m.JoinedAt))
            output.WriteLine($"  {m.UserId}\t{Describe(m.Role)}");
    }

    private static void ShowReceipts(GroupReceipts r, TextWriter output)
    {
        output.WriteLine($"delivered to {r.DeliveredCount} of {r.RecipientCount}, read by {r.ReadCount}, played by {r.PlayedCount}");
        foreach (var m in r.Members)
        {
            var states = new[] { ("delivered", m.DeliveredAt), ("read", m.ReadAt), ("played", m.PlayedAt) }
                .Where(s => s.Item2 > 0).Select(s => $"{s.Item1} {Time(s.Item2)}");
            output.WriteLine($"  {m.UserId}\t{string.Join(", ", states)}");
        }
    }

    private static string Describe(GroupRole role) => role switch
    {
        GroupRole.Creator => "creator",
        GroupRole.Admin => "admin",
        _ => "member",
    };

    private static string Describe(GroupSettings s) =>
        $"only admins send: {YesNo(s.OnlyAdminsSend)}, only admins edit info: {YesNo(s.OnlyAdminsEditInfo)}, only admins add: {YesNo(s.OnlyAdminsAddMembers)}";

    private static string YesNo(bool value) => value ? "yes" : "no";

    /// <summary>A group event as one line, e.g. "alice added bob, carol".</summary>
    internal static string Describe(GroupEvent e)
    {
        var actor = e.ActorUserId.Length > 0 ? e.ActorUserId : "someone";
        var users = e.UserIds.Count > 0 ? string.Join(", ", e.UserIds) : actor;
        return e.Type switch
        {
            GroupEventType.Created => $"{actor} created the group \"{e.Name}\"{(e.UserIds.Count > 0 ? $" with {users}" : "")}",
            GroupEventType.MembersAdded => $"{actor} added {users}",
            GroupEventType.MembersRemoved => $"{actor} removed {users}",
            GroupEventType.MemberLeft => $"{users} left",
            GroupEventType.MemberJoinedByInvite => $"{users} joined with an invite link",
            GroupEventType.AdminsPromoted => $"{actor} made {users} admin",
            GroupEventType.AdminsDemoted => $"{actor} dismissed {users} as admin",
            GroupEventType.NameChanged => $"{actor} renamed the group to \"{e.Name}\"",
            GroupEventType.DescriptionChanged => e.Description.Length > 0 ? $"{actor} changed the description" : $"{actor} removed the description",
            GroupEventType.IconChanged => e.IconMediaId.Length > 0 ? $"{actor} changed the icon" : $"{actor} removed the icon",
            GroupEventType.SettingsChanged => $"{actor} changed the settings: {Describe(e.Settings ?? new GroupSettings())}",
            GroupEventType.InviteLinkRevoked => $"{actor} revoked the invite link",
            _ => $"{actor} changed the group",
        };
    }
}
