using System.CommandLine;
using Akka.WhatsApp.Client;
using Akka.WhatsApp.Client.Crypto;
using Akka.WhatsApp.Client.Storage;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;

namespace Akka.WhatsApp.Cli;

/// <summary>The `wa` commands. <see cref="RunAsync(string[], TextWriter, CancellationToken)"/> is the whole program, so tests can run it in-process.</summary>
public static partial class WaCommands
{
    public static Task<int> RunAsync(string[] args, TextWriter output, CancellationToken cancellationToken = default) =>
        RunAsync(args, output, Console.In, cancellationToken);

    /// <param name="input">What `wa chat` reads lines from, and `wa send ... -` its text.</param>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextReader input, CancellationToken cancellationToken = default)
    {
        var profileOption = new Option<string>("--profile")
        {
            Description = "profile folder (credentials, the local message store)",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("WA_PROFILE")
                                       ?? System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".wa", "default"),
        };
        var serverOption = new Option<string?>("--server") { Description = "server host:port (default: the profile's, else 127.0.0.1:5222)" };
        var managementOption = new Option<string>("--management")
        {
            Description = "management URL, for the development verification code",
            DefaultValueFactory = _ => "http://127.0.0.1:8558",
        };
        var phoneArgument = new Argument<string>("phone") { Description = "E.164 number, e.g. +14155550123" };
        var codeArgument = new Argument<string?>("code") { Description = "the code received (omit to read it from a development server)", Arity = ArgumentArity.ZeroOrOne };
        var userArgument = new Argument<string>("user") { Description = "a user id" };
        var toArgument = new Argument<string>("to") { Description = "a user id, or the phone number (+...) of a registered contact" };
        var chatArgument = new Argument<string>("chat") { Description = "a user id, a contact's phone number (+...), or a group id" };
        var optionalChatArgument = new Argument<string?>("chat")
        {
            Description = "a user id, a contact's phone number (+...), or a group id; omit to list the chats", Arity = ArgumentArity.ZeroOrOne,
        };
        var usersArgument = new Argument<string[]>("users") { Description = "user ids", Arity = ArgumentArity.OneOrMore };
        var textArgument = new Argument<string>("text") { Description = "the message; - reads it from standard input" };
        var phonesArgument = new Argument<string[]>("phones") { Description = "E.164 numbers", Arity = ArgumentArity.OneOrMore };
        var forOption = new Option<int>("--seconds") { Description = "stop after this many seconds (0 = until Ctrl-C)", DefaultValueFactory = _ => 0 };
        var limitOption = new Option<int>("--limit") { Description = "how many of the chat's last messages", DefaultValueFactory = _ => 50 };

        var root = new RootCommand("wa: chat on an Akka.WhatsApp server from the command line");
        root.Options.Add(profileOption);
        root.Options.Add(serverOption);

        Task<DeviceSession> DeviceAsync(ParseResult p, bool holds, CancellationToken ct)
        {
            var (folder, profile, options) = Open(p, profileOption, serverOption);
            return DeviceSession.OpenAsync(folder, profile, options, holds, ct);
        }

        var register = new Command("register", "ask the server to send a verification code to a phone number") { phoneArgument };
        register.SetAction(async (p, ct) =>
        {
            var (folder, profile, options) = Open(p, profileOption, serverOption);
            var sent = await WhatsAppClient.RequestCodeAsync(options, p.GetValue(phoneArgument)!, ct);
            profile = profile with { Phone = sent.PhoneNumber, Server = $"{options.Host}:{options.Port}" };
            profile.Save(folder);
            output.WriteLine($"code sent to {sent.PhoneNumber}; valid until {DateTimeOffset.FromUnixTimeMilliseconds((long)sent.ExpiresAt):u}");
        });

        var verify = new Command("verify", "register this profile as the number's primary device (without <code>, a development server's gateway is asked for it)") { phoneArgument, codeArgument };
        verify.Options.Add(managementOption);
        verify.SetAction(async (p, ct) =>
        {
            var (folder, profile, options) = Open(p, profileOption, serverOption);
            var phone = p.GetValue(phoneArgument)!;
            var code = p.GetValue(codeArgument) ?? await DevelopmentCodeAsync(p.GetValue(managementOption)!, phone, ct);
            var (credentials, isNew) = await WhatsAppClient.VerifyAsync(options, phone, code, "wa", ct);
            (profile with
            {
                Phone = phone, UserId = credentials.UserId, DeviceId = credentials.DeviceId, Token = Convert.ToBase64String(credentials.Token),
                LastAckedSeq = 0, Server = $"{options.Host}:{options.Port}",
            }).Save(folder);
            // A new registration starts a new mailbox: what an earlier registration stored stays, its cursor does not.
            // And it is a new install: new identity and prekeys (published at the first login), no old sessions.
            File.Delete(DeviceSession.StorePath(folder));
            DeleteKeyStore(folder);
            // The first login publishes the device's keys: from now on others can start sessions with it.
            await (await DeviceAsync(p, holds: false, ct)).DisposeAsync();
            output.WriteLine($"{(isNew ? "registered" : "registered again")}: you are {credentials.UserId} (device {credentials.DeviceId}); encryption keys published");
        });

        var login = new Command("login", "check the saved credentials against the server");
        login.SetAction(async (p, ct) =>
        {
            await using var device = await DeviceAsync(p, holds: false, ct);
            output.WriteLine($"logged in as {device.Profile.UserId} (device {device.Profile.DeviceId}, {device.Profile.Phone})");
            await TellUnshownAsync(device, output, ct);
        });

        var captionArgument = new Argument<string?>("text") { Description = "the message (with --file: its caption); - reads it from standard input", Arity = ArgumentArity.ZeroOrOne };
        var fileOption = new Option<string?>("--file") { Description = "send this image, video, audio or document (the kind from its content)" };
        var atOption = AtOption();
        var send = new Command("send", "send a text message, or a file, to a user or a contact's phone number") { toArgument, captionArgument };
        send.Options.Add(fileOption);
        send.Options.Add(atOption);
        send.SetAction(async (p, ct) =>
        {
            var file = p.GetValue(fileOption);
            if (file is null && p.GetValue(captionArgument) is null)
                throw new CliException("say what to send: a text, or --file <path>");
            var sendAt = SendAtOption(p.GetValue(atOption));
            await using var device = await DeviceAsync(p, holds: false, ct);
            var to = await UserOfAsync(device.Client, p.GetValue(toArgument)!, ct);
            if (to == device.Profile.UserId)
                throw new CliException("that is you: a message goes to someone else (your other devices get a copy of everything you send)");
            var text = p.GetValue(captionArgument) is { } given ? TextOf(given, input) : "";
            if (file is null && string.IsNullOrWhiteSpace(text))
                throw new CliException("the message is empty: say what to send");
            var id = file is null
                ? await SendTextAsync(device, ChatId.User(to), text, ct, sendAt: sendAt)
                : await SendFileAsync(device, ChatId.User(to), file, text, output, ct, sendAt);
            output.WriteLine(id.ScheduledFor is { } at ? ScheduledLine(id.Hex, at) : $"✓ {id.Hex} at {id.At:HH:mm:ss}");
            if (id.Warning is { } warning)
                output.WriteLine(warning);
            await TellUnshownAsync(device, output, ct);
        });

        var listen = new Command("listen", "print incoming messages and the ✓ / ✓✓ / read state of your own; other wa commands meanwhile use this connection");
        var networkOption = NetworkOption();
        listen.Options.Add(forOption);
        listen.Options.Add(networkOption);
        listen.SetAction(async (p, ct) =>
        {
            var network = p.GetValue(networkOption)!;
            await using var device = await DeviceAsync(p, holds: true, ct);
            await FollowAutoDownloadAsync(device, network, ct);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            if (p.GetValue(forOption) is > 0 and var seconds)
                stop.CancelAfter(TimeSpan.FromSeconds(seconds));
            output.WriteLine($"listening as {device.Profile.UserId}; Ctrl-C to stop");
            ShowUnshown(device, output, chat: null);
            try
            {
                await foreach (var e in device.Client.Events.ReadAllAsync(stop.Token))
                    await OnEventAsync(device, e, output, chat: null, stop.Token);
            }
            catch (OperationCanceledException)
            {
            }
        });

        var chat = new Command("chat", "talk with one user or group: type lines to send them, see the conversation live (Ctrl-D or Ctrl-C ends)")
        {
            chatArgument,
        };
        chat.Options.Add(forOption);
        chat.Options.Add(limitOption);
        chat.Options.Add(networkOption);
        chat.SetAction(async (p, ct) =>
        {
            var network = p.GetValue(networkOption)!;
            await using var device = await DeviceAsync(p, holds: true, ct);
            await FollowAutoDownloadAsync(device, network, ct);
            var conversation = await ChatOfAsync(device.Client, p.GetValue(chatArgument)!, ct);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            if (p.GetValue(forOption) is > 0 and var seconds)
                stop.CancelAfter(TimeSpan.FromSeconds(seconds));
            output.WriteLine($"chat with {Describe(conversation)}; type a line and Enter to send; Ctrl-D to end");
            ShowHistory(device, conversation, p.GetValue(limitOption), output);
            ShowUnshown(device, output, conversation);
            var events = Task.Run(async () =>
            {
                try
                {
                    await foreach (var e in device.Client.Events.ReadAllAsync(stop.Token))
                        await OnEventAsync(device, e, output, conversation, stop.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }, CancellationToken.None);
            try
            {
                while (await input.ReadLineAsync(stop.Token) is { } line)
                {
                    if (string.IsNullOrWhiteSpace(line))
                        continue;
                    var sent = await SendTextAsync(device, conversation, line, stop.Token);
                    lock (output)
                    {
                        output.WriteLine($"[{sent.At.ToLocalTime():HH:mm:ss}] you: {line}  ✓");
                        if (sent.Warning is { } warning)
                            output.WriteLine(warning);
                    }
                }
                // End of input: stay until --seconds, if given, to see the answers.
                if (p.GetValue(forOption) > 0)
                    await Task.Delay(Timeout.Infinite, stop.Token);
            }
            catch (OperationCanceledException)
            {
            }
            await stop.CancelAsync();
            await events;
        });

        var messageArgument = new Argument<string>("message") { Description = "the message id (hex, as `wa send` and `wa history` show it)" };
        Command ChangeCommand(string name, string description, ContentKind kind, Argument<string> content)
        {
            var command = new Command(name, description) { chatArgument, messageArgument, content };
            command.SetAction(async (p, ct) =>
            {
                var target = MessageIdOf(p.GetValue(messageArgument)!) ?? throw new CliException("a message id is 32 hex characters");
                await using var device = await DeviceAsync(p, holds: false, ct);
                var conversation = await ChatOfAsync(device.Client, p.GetValue(chatArgument)!, ct);
                var sent = await SendTextAsync(device, conversation, TextOf(p.GetValue(content)!, input), ct, kind, target.ToByteArray());
                output.WriteLine($"✓ {sent.Hex} at {sent.At:HH:mm:ss}");
                if (sent.Warning is { } warning)
                    output.WriteLine(warning);
                await TellUnshownAsync(device, output, ct);
            });
            return command;
        }
        var edit = ChangeCommand("edit", "change the text of a message you sent (within the edit window)", ContentKind.Edit, textArgument);
        var react = ChangeCommand("react", "react to a message with an emoji", ContentKind.Reaction,
            new Argument<string>("emoji") { Description = "the reaction, e.g. 👍" });

        var safety = new Command("safety", "show the safety number (and QR payload) to compare with a contact in person") { toArgument };
        safety.SetAction(async (p, ct) =>
        {
            await using var device = await DeviceAsync(p, holds: false, ct);
            var contact = await UserOfAsync(device.Client, p.GetValue(toArgument)!, ct);
            var (number, qr, verified) = await SafetyAsync(device, contact, output, ct);
            output.WriteLine($"safety number with {contact}{(verified ? " (verified)" : "")}:");
            output.WriteLine(number[..35]);
            output.WriteLine(number[36..]);
            output.WriteLine($"QR payload: {Convert.ToBase64String(qr.ToByteArray())}");
            if (!verified)
                output.WriteLine($"compare it with {contact}'s screen, then run `wa verify-contact {contact} <number>`");
        });

        var numberArgument = new Argument<string[]>("number")
        {
            Description = "the 60 digits the contact's `wa safety` shows (spaces allowed), or its QR payload", Arity = ArgumentArity.OneOrMore,
        };
        var verifyContact = new Command("verify-contact", "mark a contact verified once their safety number matches yours") { toArgument, numberArgument };
        verifyContact.SetAction(async (p, ct) =>
        {
            await using var device = await DeviceAsync(p, holds: false, ct);
            var contact = await UserOfAsync(device.Client, p.GetValue(toArgument)!, ct);
            var (number, qr, _) = await SafetyAsync(device, contact, output, ct);
            var given = string.Concat(string.Concat(p.GetValue(numberArgument)!).Where(c => !char.IsWhiteSpace(c)));
            var digits = string.Concat(given.Where(char.IsAsciiDigit));
            bool matches;
            if (digits.Length == given.Length)
                matches = digits == number.Replace(" ", "", StringComparison.Ordinal);
            else
            {
                SafetyQr scanned;
                try
                {
                    scanned = SafetyQr.Parser.ParseFrom(Convert.FromBase64String(given));
                }
                catch (Exception e) when (e is FormatException or InvalidProtocolBufferException)
                {
                    throw new CliException("give the 60 digits of the safety number, or the QR payload `wa safety` prints");
                }
                matches = scanned.LocalUserId == contact && scanned.RemoteUserId == device.Profile.UserId
                          && scanned.LocalFingerprint.Equals(qr.RemoteFingerprint) && scanned.RemoteFingerprint.Equals(qr.LocalFingerprint);
            }
            if (!matches)
                throw new CliException($"the safety numbers differ: {contact} is NOT verified (someone may be in between, or a device changed: compare again)");
            var keys = device.Client.Encryption!.Keys;
            keys.MarkVerified(contact, (await device.Client.GetIdentityKeysAsync(contact, ct)).Devices.Select(d => (d.DeviceId, d.IdentityKey.ToByteArray())));
            output.WriteLine($"{contact} is verified");
        });

        var history = new Command("history", "show what this profile stored of a chat (or the list of chats)") { optionalChatArgument };
        history.Options.Add(limitOption);
        history.SetAction(async (p, ct) =>
        {
            var (folder, _, _) = Open(p, profileOption, serverOption);
            using var store = MessageStore.Open(DeviceSession.StorePath(folder));
            if (p.GetValue(optionalChatArgument) is not { } named)
            {
                ShowChats(store, output);
                return;
            }
            // A phone number needs the server to find the user; ids do not.
            ChatId conversation;
            if (named.StartsWith('+'))
            {
                await using var device = await DeviceAsync(p, holds: false, ct);
                conversation = await ChatOfAsync(device.Client, named, ct);
            }
            else
            {
                conversation = ChatOfId(named);
            }
            ShowHistory(store, conversation, p.GetValue(limitOption), output);
            store.MarkRead(conversation);
        });

        var daysArgument = new Argument<int?>("days") { Description = "keep history this many days (omit to show the setting)", Arity = ArgumentArity.ZeroOrOne };
        var retention = new Command("retention", "how long this profile keeps its history (a year unless set)") { daysArgument };
        retention.SetAction(p =>
        {
            var (folder, _, _) = Open(p, profileOption, serverOption);
            using var store = MessageStore.Open(DeviceSession.StorePath(folder));
            if (p.GetValue(daysArgument) is { } days)
            {
                if (days < 1)
                    throw new CliException("history is kept for a day at least");
                store.Retention = TimeSpan.FromDays(days);
                var gone = store.ApplyRetention(DateTimeOffset.UtcNow);
                output.WriteLine($"history is kept for {days} days ({gone} older messages removed)");
                return;
            }
            output.WriteLine($"history is kept for {(int)store.Retention.TotalDays} days");
        });

        var chats = new Command("chats", "list the conversations this profile stored, with unread counts and the last message");
        chats.SetAction(p =>
        {
            var (folder, _, _) = Open(p, profileOption, serverOption);
            using var store = MessageStore.Open(DeviceSession.StorePath(folder));
            ShowChats(store, output);
        });

        var searchTextArgument = new Argument<string?>("text")
        {
            Description = "what to find, in any language (case-insensitive; empty: every message that passes the filters)", Arity = ArgumentArity.ZeroOrOne,
        };
        var inOption = new Option<string?>("--in") { Description = "only this chat: a user id, a contact's phone number (+...), or a group id" };
        var fromOption = new Option<string?>("--from") { Description = "only messages from this date or time on (e.g. 2026-12-01)" };
        var toOption = new Option<string?>("--to") { Description = "only messages up to this date (the whole day) or time" };
        var senderOption = new Option<string?>("--sender") { Description = "only messages this user sent" };
        var mediaOption = new Option<string?>("--media") { Description = "only this kind: image, video, audio or document" };
        var pageOption = new Option<int>("--limit") { Description = "how many results", DefaultValueFactory = _ => 20 };
        var bestOption = new Option<bool>("--best") { Description = "the best matches first (default: the newest first)" };
        var search = new Command("search", "search this profile's history (on this device: the server cannot read it)") { searchTextArgument };
        foreach (var option in new Option[] { inOption, fromOption, toOption, senderOption, mediaOption, pageOption, bestOption })
            search.Options.Add(option);
        search.SetAction(async (p, ct) =>
        {
            var (folder, _, _) = Open(p, profileOption, serverOption);
            using var store = MessageStore.Open(DeviceSession.StorePath(folder));
            ChatId? only = null;
            if (p.GetValue(inOption) is { } named)
            {
                if (named.StartsWith('+'))
                {
                    await using var device = await DeviceAsync(p, holds: false, ct);
                    only = await ChatOfAsync(device.Client, named, ct);
                }
                else
                {
                    only = ChatOfId(named);
                }
            }
            var query = new SearchQuery(p.GetValue(searchTextArgument) ?? "", only, DateOption(p.GetValue(fromOption), "--from", endOfDay: false),
                DateOption(p.GetValue(toOption), "--to", endOfDay: true), p.GetValue(senderOption), MediaKinds(p.GetValue(mediaOption)), p.GetValue(pageOption),
                Order: p.GetValue(bestOption) ? SearchOrder.Relevance : SearchOrder.Newest);
            var hits = store.Search(query);
            foreach (var hit in hits)
            {
                var m = hit.Message;
                var what = hit.Snippet.Length > 0 ? hit.Snippet : m.Text ?? $"[{m.Kind.ToString().ToLowerInvariant()} {m.Body.Length} bytes]";
                output.WriteLine($"[{m.ServerTime.ToLocalTime():u}] {Describe(m.Chat)}\t{(m.Outgoing ? "you" : m.From)}: {what}\t{m.MessageId}");
            }
            output.WriteLine($"{hits.Count} found");
        });

        var contacts = new Command("contacts", "find which of these numbers are registered") { phonesArgument };
        contacts.SetAction(async (p, ct) =>
        {
            await using var device = await DeviceAsync(p, holds: false, ct);
            var result = await device.Client.SyncContactsAsync(p.GetValue(phonesArgument)!, ContactSyncMode.Add, ct);
            foreach (var c in result.Registered)
                output.WriteLine($"{c.PhoneNumber}\t{c.UserId}");
            output.WriteLine($"{result.Registered.Count} of {p.GetValue(phonesArgument)!.Length} registered");
        });

        Command BlockCommand(string name, bool block)
        {
            var command = new Command(name, block ? "block a user" : "unblock a user") { userArgument };
            command.SetAction(async (p, ct) =>
            {
                await using var device = await DeviceAsync(p, holds: false, ct);
                await device.Client.BlockAsync(p.GetValue(userArgument)!, block, ct);
                output.WriteLine($"{(block ? "blocked" : "unblocked")} {p.GetValue(userArgument)}");
            });
            return command;
        }

        var presence = new Command("presence", "show whether users are online (as their privacy allows)") { usersArgument };
        presence.Options.Add(forOption);
        presence.SetAction(async (p, ct) =>
        {
            await using var device = await DeviceAsync(p, holds: false, ct);
            foreach (var state in (await device.Client.SubscribePresenceAsync(p.GetValue(usersArgument)!, ct)).Presences)
                output.WriteLine(Describe(state));
            if (p.GetValue(forOption) is > 0 and var seconds)
            {
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
                stop.CancelAfter(TimeSpan.FromSeconds(seconds));
                try
                {
                    await foreach (var e in device.Client.Events.ReadAllAsync(stop.Token))
                        if (e is PresenceChanged changed)
                            output.WriteLine(Describe(changed.Presence));
                }
                catch (OperationCanceledException)
                {
                }
            }
        });

        foreach (var command in new[]
                 {
                     register, verify, login, send, edit, react, listen, chat, history, chats, search, retention, safety, verifyContact, contacts, BlockCommand("block", true), BlockCommand("unblock", false), presence,
                     GroupCommand(profileOption, serverOption, output), DownloadCommand(DeviceAsync, output), SettingsCommand(DeviceAsync, output),
                     ProfileCommand(DeviceAsync, output), CallCommand(profileOption, serverOption, output), CallsCommand(profileOption, serverOption, output),
                     ScheduledCommand(DeviceAsync, output),
                     LinkCommand(profileOption, serverOption, output), ApproveLinkCommand(profileOption, serverOption, output), SyncHistoryCommand(DeviceAsync, output),
                     StatusCommand(profileOption, serverOption, output),
                 })
            root.Subcommands.Add(command);

        try
        {
            var invocation = new InvocationConfiguration { EnableDefaultExceptionHandler = false, Output = output, Error = output };
            return await root.Parse(args).InvokeAsync(invocation, cancellationToken);
        }
        catch (Exception e) when (e is CliException or ServerErrorException or IOException or System.Net.Sockets.SocketException or TimeoutException
                                      or HttpRequestException or ArgumentException or InvalidDataException or EncryptionException)
        {
            output.WriteLine($"wa: {Explain(e)}");
            return 1;
        }
    }

    private static void DeleteKeyStore(string folder)
    {
        foreach (var suffix in new[] { "", "-wal", "-shm" })
            File.Delete(DeviceSession.KeysPath(folder) + suffix);
    }

    private static string Explain(Exception e) => e switch
    {
        ServerErrorException s => $"the server refused: {s.Code} ({s.Error.Message})",
        System.Net.Sockets.SocketException => "cannot reach the server (is `./build.sh run` running?)",
        _ => e.Message,
    };

    private static (string Folder, Profile Profile, ClientOptions Options) Open(ParseResult p, Option<string> profileOption, Option<string?> serverOption)
    {
        var folder = p.GetValue(profileOption)!;
        var profile = Profile.Load(folder);
        var server = p.GetValue(serverOption) ?? profile.Server;
        var colon = server.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(server[(colon + 1)..], out var port))
            throw new CliException($"--server must be host:port, not '{server}'");
        return (folder, profile, new ClientOptions(server[..colon], port) { ClientName = "wa", Platform = Platform.Cli });
    }

    private static async Task<string> DevelopmentCodeAsync(string management, string phone, CancellationToken ct) =>
        await DevelopmentCodes.FetchAsync(new Uri(management), phone, ct)
        ?? throw new CliException($"no development code for {phone} at {management}; pass the code you received");

    /// <summary>`-` reads the whole of standard input (without its last line break); anything else is the text itself.</summary>
    private static string TextOf(string argument, TextReader input)
    {
        if (argument != "-")
            return argument;
        var text = input.ReadToEnd().TrimEnd('\r', '\n');
        return text.Length > 0 ? text : throw new CliException("standard input was empty: nothing to send");
    }

    /// <summary>A user id, or the user of a contact's phone number (contact discovery: only registered numbers are found).</summary>
    private static async Task<string> UserOfAsync(WhatsAppClient client, string named, CancellationToken ct)
    {
        if (!named.StartsWith('+'))
            return named;
        var found = await client.SyncContactsAsync([named], ContactSyncMode.Add, ct);
        return found.Registered.FirstOrDefault(c => c.PhoneNumber == named)?.UserId
               ?? throw new CliException($"{named} is not a registered user (or not a valid E.164 number)");
    }

    private static async Task<ChatId> ChatOfAsync(WhatsAppClient client, string named, CancellationToken ct) =>
        named.StartsWith('+') ? ChatId.User(await UserOfAsync(client, named, ct)) : ChatOfId(named);

    /// <summary>Group ids are 32 lowercase hex characters (PROTOCOL.md §11); anything else names a user.</summary>
    private static ChatId ChatOfId(string id) => id.Length == 32 && id.All(char.IsAsciiHexDigitLower) ? ChatId.Group(id) : ChatId.User(id);

    private static string Describe(ChatId chat) => chat.IsGroup ? $"group {chat.Id}" : chat.Id;

    private static readonly TimeSpan BacklogWait = TimeSpan.FromSeconds(10);

    /// <summary>A sent message; <paramref name="Warning"/> when the contact's security code changed and the user has not looked at it yet.</summary>
    private readonly record struct Sent(string Hex, DateTimeOffset At, ulong GroupSeq, string? Warning, DateTimeOffset? ScheduledFor = null);

    /// <summary>
    /// Sends a text (or, with <paramref name="kind"/> and <paramref name="target"/>, an edit or a reaction) to a user or
    /// group, end-to-end encrypted, and keeps it in the store as this user's own (✓).
    /// </summary>
    private static Task<Sent> SendTextAsync(DeviceSession device, ChatId chat, string text, CancellationToken ct,
        ContentKind kind = ContentKind.Text, byte[]? target = null, DateTimeOffset? sendAt = null) =>
        SendBodyAsync(device, chat, System.Text.Encoding.UTF8.GetBytes(text), ct, kind, target, sendAt);

    /// <summary>Uploads a file (<see cref="UploadFileAsync"/>) and sends its reference as a media message.</summary>
    private static async Task<Sent> SendFileAsync(DeviceSession device, ChatId chat, string path, string caption, TextWriter output, CancellationToken ct,
        DateTimeOffset? sendAt = null)
    {
        var (reference, kind) = await UploadFileAsync(device, path, caption, output, ct);
        return await SendBodyAsync(device, chat, reference.ToByteArray(), ct, kind, sendAt: sendAt);
    }

    /// <summary>
    /// Sends (or with <paramref name="sendAt"/> schedules, §8.8) and keeps the message in the store as this user's own; a
    /// scheduled one under its send time, which is also what lets this device re-encrypt it for devices linked meanwhile.
    /// </summary>
    private static async Task<Sent> SendBodyAsync(DeviceSession device, ChatId chat, byte[] body, CancellationToken ct,
        ContentKind kind = ContentKind.Text, byte[]? target = null, DateTimeOffset? sendAt = null)
    {
        var credentials = device.Client.Credentials;
        ByteString id;
        ulong at, groupSeq = 0, scheduledFor;
        if (chat.IsGroup)
        {
            var posted = await device.Client.GroupSendAsync(chat.Id, body, kind, cancellationToken: ct, targetMessageId: target, sendAt: sendAt);
            (id, at, groupSeq, scheduledFor) = (posted.MessageId, posted.ServerTimestamp, posted.GroupSeq, posted.ScheduledFor);
        }
        else
        {
            var result = await device.Client.SendAsync(chat.Id, body, kind, targetMessageId: target, cancellationToken: ct, silent: kind == ContentKind.Reaction,
                sendAt: sendAt);
            (id, at, scheduledFor) = (result.MessageId, result.ServerTimestamp, result.ScheduledFor);
        }
        device.Store.RecordSent(credentials.UserId, credentials.DeviceId, chat, id, scheduledFor != 0 ? scheduledFor : at, kind, body, groupSeq,
            target is null ? null : ByteString.CopyFrom(target));
        var warning = !chat.IsGroup && device.Client.Encryption?.Keys.Identities(chat.Id).Any(i => i.Changed) == true
            ? $"⚠ your security code with {chat.Id} changed: `wa safety {chat.Id}` shows the new one"
            : null;
        return new Sent(MessageStore.Hex(id), DateTimeOffset.FromUnixTimeMilliseconds((long)at), groupSeq, warning,
            scheduledFor != 0 ? DateTimeOffset.FromUnixTimeMilliseconds((long)scheduledFor) : null);
    }

    /// <summary>
    /// The safety number with a contact, from the identity keys of both users' current devices (PROTOCOL.md §13a). The
    /// contact's keys the server names are recorded first, so that a key other than the one this device's sessions use
    /// shows as a change (and unverifies the contact) instead of being verified silently.
    /// </summary>
    private static async Task<(string Number, SafetyQr Qr, bool Verified)> SafetyAsync(DeviceSession device, string contact, TextWriter output,
        CancellationToken ct)
    {
        if (device.Client.Encryption is not { } e2e)
            throw new CliException("another `wa listen` or `wa chat` holds this profile's keys: run this command there, or stop it first");
        var self = device.Profile.UserId!;
        var mine = (await device.Client.GetIdentityKeysAsync(self, ct)).Devices
            .Where(d => d.DeviceId != device.Profile.DeviceId).Select(d => d.IdentityKey.ToByteArray()).Append(e2e.Identity.PublicKey).ToList();
        var theirs = (await device.Client.GetIdentityKeysAsync(contact, ct)).Devices;
        if (theirs.Count == 0)
            throw new CliException($"{contact} has published no identity key yet");
        foreach (var d in theirs)
            if (e2e.Keys.SeeIdentity(contact, d.DeviceId, d.IdentityKey.ToByteArray()))
                output.WriteLine($"⚠ {contact}'s device {d.DeviceId} has a new security code");
        var keys = theirs.Select(d => d.IdentityKey.ToByteArray()).ToList();
        var current = theirs.Select(d => d.DeviceId).ToHashSet();
        var verified = e2e.Keys.Identities(contact).Where(i => current.Contains(i.DeviceId)).All(i => i.Verified);
        e2e.Keys.AcknowledgeChanges(contact);
        return (SafetyNumber.Compute(self, mine, contact, keys), SafetyNumber.Qr(self, mine, contact, keys), verified);
    }

    private static async Task TellUnshownAsync(DeviceSession device, TextWriter output, CancellationToken ct)
    {
        if (device.ThroughRelay)
            return;
        // What the server held at login is stored before the command leaves (a slow server only delays the count).
        await device.Client.BacklogStored.WaitAsync(BacklogWait, ct).ContinueWith(_ => { }, TaskScheduler.Default);
        if (device.UnshownCount is > 0 and var count)
            output.WriteLine($"({count} new message{(count == 1 ? "" : "s")} stored: `wa listen` or `wa history` shows them)");
    }

    /// <summary>What arrived while no `wa listen` or `wa chat` ran (stored, acknowledged, not shown yet).</summary>
    private static void ShowUnshown(DeviceSession device, TextWriter output, ChatId? chat)
    {
        var unshown = device.Store.Unshown().Where(m => chat is null || m.Chat == chat).ToList();
        foreach (var m in unshown.Where(m => m.Deliver is not null))
            Show(new MessageReceived(m.Deliver!), device, output);
        device.Store.MarkShown(unshown.Select(m => m.LocalId));
    }

    private static void ShowHistory(DeviceSession device, ChatId chat, int limit, TextWriter output)
    {
        ShowHistory(device.Store, chat, limit, output);
        device.Store.MarkRead(chat); // the user opened the chat: nothing in it is unread any more
    }

    private static List<long> ShowHistory(MessageStore store, ChatId chat, int limit, TextWriter output)
    {
        var messages = store.History(chat, limit);
        foreach (var m in messages)
        {
            var when = m.ServerTime.ToLocalTime();
            var text = m switch
            {
                { Deleted: true } => "(deleted)",
                { Kind: ContentKind.System, Deliver.System.GroupEvent: { } change } => Describe(change),
                { Kind: ContentKind.System, Deliver.System.MissedCall: { } missed } => MissedCallLine(missed),
                { Kind: ContentKind.System, Deliver.System.ScheduledUpdate: { } update } => ScheduledUpdateLine(update),
                _ when ReferenceOf(m.Kind, m.Body.Span) is { } media => $"{DescribeMedia(media)}  ({m.MessageId})",
                _ => System.Text.Encoding.UTF8.GetString(m.Body.Span) + (m.Edited ? " (edited)" : ""),
            };
            var reactions = store.Reactions(chat, m.MessageId);
            if (reactions.Count > 0)
                text += "  " + string.Join(" ", reactions.Select(r => $"{r.Emoji} {r.From}"));
            var who = m.Outgoing ? "you" : m.From;
            output.WriteLine(m.Outgoing ? $"[{when:u}] {who}: {text}  {Ticks(m.State)}" : $"[{when:u}] {who}: {text}");
        }
        output.WriteLine($"— {messages.Count} messages of {Describe(chat)} —");
        return [.. messages.Select(m => m.LocalId)];
    }

    private static void ShowChats(MessageStore store, TextWriter output)
    {
        var chats = store.Chats();
        foreach (var c in chats)
        {
            var last = c.LastMessage is { } m ? $"\t{(m.Outgoing ? "you" : m.From)}: {Preview(m)}" : "";
            output.WriteLine($"{Describe(c.Chat)}\t{c.Messages} messages\t{c.Unread} unread\tlast {c.Last.ToLocalTime():u}{last}");
        }
        output.WriteLine($"{chats.Count} chats");
    }

    private static string Preview(StoredMessage m)
    {
        var text = m.Deleted ? "(deleted)" : m.Text ?? $"[{m.Kind.ToString().ToLowerInvariant()}]";
        return text.Length > 40 ? text[..40] + "…" : text;
    }

    /// <summary>A --from / --to value: a date (the whole day for --to) or a date and time, in local time unless it says otherwise.</summary>
    private static DateTimeOffset? DateOption(string? value, string name, bool endOfDay)
    {
        if (string.IsNullOrWhiteSpace(value))
            return null;
        var culture = System.Globalization.CultureInfo.InvariantCulture;
        if (DateOnly.TryParseExact(value, "yyyy-MM-dd", culture, System.Globalization.DateTimeStyles.None, out var day))
        {
            var start = new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue, DateTimeKind.Local));
            return endOfDay ? start.AddDays(1).AddMilliseconds(-1) : start;
        }
        return DateTimeOffset.TryParse(value, culture, System.Globalization.DateTimeStyles.AssumeLocal, out var at)
            ? at
            : throw new CliException($"{name} takes a date (2026-12-01) or a date and time (2026-12-01T18:30), not '{value}'");
    }

    /// <summary>The content kinds of a --media value.</summary>
    private static ContentKind[]? MediaKinds(string? media) => media?.ToLowerInvariant() switch
    {
        null or "" => null,
        "image" => [ContentKind.Image, ContentKind.Sticker, ContentKind.Gif],
        "video" => [ContentKind.Video],
        "audio" => [ContentKind.Audio, ContentKind.VoiceNote],
        "document" => [ContentKind.Document],
        _ => throw new CliException($"--media is image, video, audio or document, not '{media}'"),
    };

    private static string Ticks(MessageState state) => state switch
    {
        MessageState.Delivered => "✓✓",
        MessageState.Read or MessageState.Played => "✓✓ (read)",
        _ => "✓",
    };

    /// <summary>Shows an event (all of them, or only <paramref name="chat"/>'s), marks it shown, and sends read receipts for what was shown.</summary>
    private static async Task OnEventAsync(DeviceSession device, ClientEvent e, TextWriter output, ChatId? chat, CancellationToken ct)
    {
        if (e is MessageReceived { Deliver: var d })
        {
            var of = ChatId.Of(d);
            if (chat is { } only && of != only)
            {
                lock (output)
                    output.WriteLine($"(new message in {Describe(of)}; `wa history {of.Id}` shows it)");
                return;
            }
            lock (output)
                Show(e, device, output);
            device.Store.MarkShown(of, d.FromUserId, d.MessageId);
            if (ReferenceOf(d.Kind, d.Ciphertext.Span) is { } media)
                await AutoDownloadAsync(device, media, MessageStore.Hex(d.MessageId), output, ct);
            // Read receipts for what others sent (not for sync copies, own group posts or system events).
            if (d.ToUserId.Length == 0 && d.Kind != ContentKind.System && d.FromUserId != device.Profile.UserId)
                await device.Client.SendReceiptAsync(d.FromUserId, ReceiptType.Read, [d.MessageId], d.GroupId.Length > 0 ? d.GroupId : null, ct);
            return;
        }
        if (chat is null || e is not (PresenceChanged or TypingChanged))
            lock (output)
                Show(e, device, output);
    }

    private static void Show(ClientEvent e, DeviceSession device, TextWriter output)
    {
        var self = device.Profile.UserId;
        switch (e)
        {
            case MessageReceived { Deliver: var d }:
                var when = DateTimeOffset.FromUnixTimeMilliseconds((long)d.ServerTimestamp).ToLocalTime();
                var text = d.Kind switch
                {
                    ContentKind.Edit => $"(edited {MessageStore.Hex(d.TargetMessageId)}) {d.Ciphertext.ToStringUtf8()}",
                    ContentKind.Reaction => $"reacted {d.Ciphertext.ToStringUtf8()} to {MessageStore.Hex(d.TargetMessageId)}",
                    _ when ReferenceOf(d.Kind, d.Ciphertext.Span) is { } media => $"{DescribeMedia(media)}  ({MessageStore.Hex(d.MessageId)})",
                    _ => d.Ciphertext.ToStringUtf8(),
                };
                output.WriteLine(d switch
                {
                    { System.MissedCall: { } missed } => MissedCallLine(missed),
                    { System.ScheduledUpdate: { } update } => $"[{when:HH:mm:ss}] {ScheduledUpdateLine(update)}",
                    { GroupId.Length: > 0, System.GroupEvent: { } change } => $"[{when:HH:mm:ss}] [group {d.GroupId}] {Describe(change)}",
                    { System.DeviceListChanged: { } list } => $"[{when:HH:mm:ss}] your devices are now {string.Join(", ", list.DeviceIds)}" +
                        (list.Added.Count > 0 ? $" (device {string.Join(", ", list.Added)} linked)" : "") +
                        (list.Removed.Count > 0 ? $" (device {string.Join(", ", list.Removed)} removed)" : ""),
                    { System.IdentityKeyChanged: { } changed } =>
                        $"[{when:HH:mm:ss}] {changed.UserId} device {changed.DeviceId} has a new encryption key (a new install or a new device)",
                    { GroupId.Length: > 0 } when d.FromUserId == self => $"[{when:HH:mm:ss}] [group {d.GroupId} #{d.GroupSeq}] you (other device): {text}",
                    { GroupId.Length: > 0 } => $"[{when:HH:mm:ss}] [group {d.GroupId} #{d.GroupSeq}] {d.FromUserId}: {text}",
                    { ToUserId.Length: > 0, ScheduledFor: > 0 } =>
                        $"[{when:HH:mm:ss}] you (other device) scheduled → {d.ToUserId} for {DateTimeOffset.FromUnixTimeMilliseconds((long)d.ScheduledFor).ToLocalTime():yyyy-MM-dd HH:mm}: {text}",
                    { ToUserId.Length: > 0 } => $"[{when:HH:mm:ss}] you (other device) → {d.ToUserId}: {text}",
                    _ => $"[{when:HH:mm:ss}] {d.FromUserId}: {text}",
                });
                break;
            case ReceiptReceived { Receipt: { GroupId.Length: > 0 } r } when r.ToUserId.Length == 0:
                // Per member; `wa group receipts` shows how many of the group got and read a message.
                foreach (var id in r.MessageIds.Select(Hex))
                    output.WriteLine($"[group {r.GroupId}] {(r.Type == ReceiptType.Read ? "✓✓ (read)" : "✓✓")} {id} by {r.FromUserId}");
                break;
            case ReceiptReceived { Receipt: var r } when r.ToUserId.Length == 0:
                // Only for messages the user wrote: not for the sender keys and retry requests the SDK sent by itself.
                foreach (var id in r.MessageIds.Select(MessageStore.Hex))
                    if (device.Store.StateOf(id) is { } state)
                        output.WriteLine($"{Ticks(state)} {id} by {r.FromUserId}");
                break;
            case CallChanged { Call: var call }:
                output.WriteLine(CallNotice(call));
                break;
            case BacklogDone:
                output.WriteLine("— up to date —");
                break;
            case SecurityCodeChanged changed:
                output.WriteLine($"⚠ your security code with {changed.UserId} changed (device {changed.DeviceId}): `wa safety {changed.UserId}` to verify it again");
                break;
            case UndecryptableMessage failed:
                output.WriteLine($"(a message from {failed.Deliver.FromUserId} could not be decrypted: {failed.Reason}; asked their device to send it again)");
                break;
            case Disconnected d:
                output.WriteLine($"disconnected: {d.Reason}{(d.WillReconnect ? "; reconnecting" : "")}");
                break;
            case Reconnecting r:
                output.WriteLine($"reconnecting to {r.Endpoint.Host}:{r.Endpoint.Port} in {Math.Ceiling(r.Delay.TotalSeconds):0} s (attempt {r.Attempt})");
                break;
            case Reconnected:
                output.WriteLine("reconnected");
                break;
        }
    }

    private static string Describe(Presence p) => p.State switch
    {
        PresenceState.Online => $"{p.UserId}\tonline",
        PresenceState.Offline when p.LastSeen > 0 => $"{p.UserId}\toffline, last seen {DateTimeOffset.FromUnixTimeMilliseconds((long)p.LastSeen).ToLocalTime():u}",
        PresenceState.Offline => $"{p.UserId}\toffline",
        _ => $"{p.UserId}\thidden",
    };
}
