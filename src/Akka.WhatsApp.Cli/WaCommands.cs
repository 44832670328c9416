using System.CommandLine;
using Akka.WhatsApp.Client;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;

namespace Akka.WhatsApp.Cli;

/// <summary>The `wa` commands. <see cref="RunAsync"/> is the whole program, so tests can run it in-process.</summary>
public static partial class WaCommands
{
    public static async Task<int> RunAsync(string[] args, TextWriter output, CancellationToken cancellationToken = default)
    {
        var profileOption = new Option<string>("--profile")
        {
            Description = "profile folder (credentials, last ack, sent message states)",
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
        var usersArgument = new Argument<string[]>("users") { Description = "user ids", Arity = ArgumentArity.OneOrMore };
        var textArgument = new Argument<string>("text") { Description = "the message" };
        var phonesArgument = new Argument<string[]>("phones") { Description = "E.164 numbers", Arity = ArgumentArity.OneOrMore };
        var forOption = new Option<int>("--seconds") { Description = "stop after this many seconds (0 = until Ctrl-C)", DefaultValueFactory = _ => 0 };

        var root = new RootCommand("wa: chat on an Akka.WhatsApp server from the command line");
        root.Options.Add(profileOption);
        root.Options.Add(serverOption);

        var register = new Command("register", "ask the server to send a verification code to a phone number") { phoneArgument };
        register.SetAction(async (p, ct) =>
        {
            var (folder, profile, options) = Open(p, profileOption, serverOption);
            var sent = await WhatsAppClient.RequestCodeAsync(options, p.GetValue(phoneArgument)!, ct);
            profile = profile with { Phone = sent.PhoneNumber, Server = $"{options.Host}:{options.Port}" };
            profile.Save(folder);
            output.WriteLine($"code sent to {sent.PhoneNumber}; valid until {DateTimeOffset.FromUnixTimeMilliseconds((long)sent.ExpiresAt):u}");
        });

        var verify = new Command("verify", "register this profile as the number's primary device") { phoneArgument, codeArgument };
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
            output.WriteLine($"{(isNew ? "registered" : "registered again")}: you are {credentials.UserId} (device {credentials.DeviceId})");
        });

        var login = new Command("login", "check the saved credentials against the server");
        login.SetAction(async (p, ct) =>
        {
            var (folder, profile, options) = Open(p, profileOption, serverOption);
            await using var client = await WhatsAppClient.ConnectAsync(options, profile.Credentials, profile.LastAckedSeq, ct);
            output.WriteLine($"logged in as {profile.UserId} (device {profile.DeviceId}, {profile.Phone})");
        });

        var send = new Command("send", "send a text message") { userArgument, textArgument };
        send.SetAction(async (p, ct) =>
        {
            var (folder, profile, options) = Open(p, profileOption, serverOption);
            await using var client = await WhatsAppClient.ConnectAsync(options, profile.Credentials, profile.LastAckedSeq, ct);
            var result = await client.SendAsync(p.GetValue(userArgument)!, System.Text.Encoding.UTF8.GetBytes(p.GetValue(textArgument)!), cancellationToken: ct);
            var id = Convert.ToHexString(result.MessageId.ToByteArray()).ToLowerInvariant();
            profile.Sent[id] = "sent";
            profile.Save(folder);
            output.WriteLine($"✓ {id} at {DateTimeOffset.FromUnixTimeMilliseconds((long)result.ServerTimestamp):HH:mm:ss}");
        });

        var listen = new Command("listen", "print incoming messages and the ✓ / ✓✓ / read state of your own");
        listen.Options.Add(forOption);
        listen.SetAction(async (p, ct) =>
        {
            var (folder, profile, options) = Open(p, profileOption, serverOption);
            await using var client = await WhatsAppClient.ConnectAsync(options, profile.Credentials, profile.LastAckedSeq, ct);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            if (p.GetValue(forOption) is > 0 and var seconds)
                stop.CancelAfter(TimeSpan.FromSeconds(seconds));
            output.WriteLine($"listening as {profile.UserId}; Ctrl-C to stop");
            try
            {
                await foreach (var e in client.Events.ReadAllAsync(stop.Token))
                {
                    profile = Show(e, profile, output);
                    // Read receipts for what others sent (not for sync copies, own group posts or system events).
                    if (e is MessageReceived { Deliver: var d } && d.ToUserId.Length == 0 && d.Kind != ContentKind.System && d.FromUserId != profile.UserId)
                        await client.SendReceiptAsync(d.FromUserId, ReceiptType.Read, [d.MessageId], d.GroupId.Length > 0 ? d.GroupId : null, stop.Token);
                    profile = profile with { LastAckedSeq = client.LastAckedSeq };
                    profile.Save(folder);
                }
            }
            catch (OperationCanceledException)
            {
            }
            (profile with { LastAckedSeq = client.LastAckedSeq }).Save(folder);
        });

        var contacts = new Command("contacts", "find which of these numbers are registered") { phonesArgument };
        contacts.SetAction(async (p, ct) =>
        {
            var (_, profile, options) = Open(p, profileOption, serverOption);
            await using var client = await WhatsAppClient.ConnectAsync(options, profile.Credentials, profile.LastAckedSeq, ct);
            var result = await client.SyncContactsAsync(p.GetValue(phonesArgument)!, ContactSyncMode.Add, ct);
            foreach (var c in result.Registered)
                output.WriteLine($"{c.PhoneNumber}\t{c.UserId}");
            output.WriteLine($"{result.Registered.Count} of {p.GetValue(phonesArgument)!.Length} registered");
        });

        Command BlockCommand(string name, bool block)
        {
            var command = new Command(name, block ? "block a user" : "unblock a user") { userArgument };
            command.SetAction(async (p, ct) =>
            {
                var (_, profile, options) = Open(p, profileOption, serverOption);
                await using var client = await WhatsAppClient.ConnectAsync(options, profile.Credentials, profile.LastAckedSeq, ct);
                await client.BlockAsync(p.GetValue(userArgument)!, block, ct);
                output.WriteLine($"{(block ? "blocked" : "unblocked")} {p.GetValue(userArgument)}");
            });
            return command;
        }

        var presence = new Command("presence", "show whether users are online (as their privacy allows)") { usersArgument };
        presence.Options.Add(forOption);
        presence.SetAction(async (p, ct) =>
        {
            var (_, profile, options) = Open(p, profileOption, serverOption);
            await using var client = await WhatsAppClient.ConnectAsync(options, profile.Credentials, profile.LastAckedSeq, ct);
            foreach (var state in (await client.SubscribePresenceAsync(p.GetValue(usersArgument)!, ct)).Presences)
                output.WriteLine(Describe(state));
            if (p.GetValue(forOption) is > 0 and var seconds)
            {
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
                stop.CancelAfter(TimeSpan.FromSeconds(seconds));
                try
                {
                    await foreach (var e in client.Events.ReadAllAsync(stop.Token))
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
                     register, verify, login, send, listen, contacts, BlockCommand("block", true), BlockCommand("unblock", false), presence,
                     GroupCommand(profileOption, serverOption, output),
                 })
            root.Subcommands.Add(command);

        try
        {
            var invocation = new InvocationConfiguration { EnableDefaultExceptionHandler = false, Output = output, Error = output };
            return await root.Parse(args).InvokeAsync(invocation, cancellationToken);
        }
        catch (Exception e) when (e is CliException or ServerErrorException or IOException or System.Net.Sockets.SocketException or TimeoutException
                                      or HttpRequestException or ArgumentException or InvalidDataException)
        {
            output.WriteLine($"wa: {Explain(e)}");
            return 1;
        }
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

    private static Profile Show(ClientEvent e, Profile profile, TextWriter output)
    {
        switch (e)
        {
            case MessageReceived { Deliver: var d }:
                var when = DateTimeOffset.FromUnixTimeMilliseconds((long)d.ServerTimestamp).ToLocalTime();
                var text = d.Ciphertext.ToStringUtf8();
                output.WriteLine(d switch
                {
                    { GroupId.Length: > 0, System.GroupEvent: { } change } => $"[{when:HH:mm:ss}] [group {d.GroupId}] {Describe(change)}",
                    { GroupId.Length: > 0 } when d.FromUserId == profile.UserId => $"[{when:HH:mm:ss}] [group {d.GroupId} #{d.GroupSeq}] you (other device): {text}",
                    { GroupId.Length: > 0 } => $"[{when:HH:mm:ss}] [group {d.GroupId} #{d.GroupSeq}] {d.FromUserId}: {text}",
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
                var state = r.Type == ReceiptType.Read ? "read" : r.Type == ReceiptType.Delivered ? "delivered" : "played";
                foreach (var id in r.MessageIds.Select(i => Convert.ToHexString(i.ToByteArray()).ToLowerInvariant()))
                {
                    if (profile.Sent.GetValueOrDefault(id) != "read")
                        profile.Sent[id] = state;
                    output.WriteLine($"{(state == "read" ? "✓✓ (read)" : "✓✓")} {id} by {r.FromUserId}");
                }
                break;
            case BacklogDone:
                output.WriteLine("— up to date —");
                break;
            case Disconnected d:
                output.WriteLine($"disconnected: {d.Reason}{(d.WillReconnect ? "; reconnecting" : "")}");
                break;
            case Reconnected:
                output.WriteLine("reconnected");
                break;
        }
        return profile;
    }

    private static string Describe(Presence p) => p.State switch
    {
        PresenceState.Online => $"{p.UserId}\tonline",
        PresenceState.Offline when p.LastSeen > 0 => $"{p.UserId}\toffline, last seen {DateTimeOffset.FromUnixTimeMilliseconds((long)p.LastSeen).ToLocalTime():u}",
        PresenceState.Offline => $"{p.UserId}\toffline",
        _ => $"{p.UserId}\thidden",
    };
}
