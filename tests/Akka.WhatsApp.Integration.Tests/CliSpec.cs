using Akka.WhatsApp.Cli;
using Akka.WhatsApp.Host;
using Akka.WhatsApp.Testing;
using Xunit;

namespace Akka.WhatsApp.Integration.Tests;

/// <summary>Two `wa` profiles chat against a real node, as the README shows with two terminals.</summary>
public sealed class CliSpec(SqliteNodeFixture fixture) : IClassFixture<SqliteNodeFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private Task<string> WaAsync(string profile, params string[] args) => WaWithInputAsync(profile, "", args);

    private async Task<string> WaWithInputAsync(string profile, string input, params string[] args)
    {
        var output = new SynchronizedWriter();
        var all = new[] { "--profile", profile, "--server", $"127.0.0.1:{fixture.Edge.Port}" }.Concat(args).ToArray();
        var code = await WaCommands.RunAsync(all, output, new StringReader(input));
        Assert.True(code == 0, $"wa {string.Join(' ', args)} exited {code}: {output}");
        return output.ToString();
    }

    /// <summary>A writer that a running command and the test may read and write at once.</summary>
    private sealed class SynchronizedWriter : StringWriter
    {
        public override void WriteLine(string? value)
        {
            lock (this)
                base.WriteLine(value);
        }

        public override string ToString()
        {
            lock (this)
                return base.ToString();
        }
    }

    private async Task<(string Profile, string UserId, string Phone)> NewProfileAsync(string name)
    {
        var profile = Directory.CreateTempSubdirectory($"wa-{name}-").FullName;
        var phone = TestUsers.NewPhone();
        await WaAsync(profile, "register", phone);
        await WaAsync(profile, "verify", phone, "--management", fixture.Node.ManagementUri.ToString());
        return (profile, Profile.Load(profile).UserId!, phone);
    }

    private static Akka.WhatsApp.Client.Storage.MessageState? StateIn(string profile, string messageId)
    {
        using var store = Akka.WhatsApp.Client.Storage.MessageStore.Open(DeviceSession.StorePath(profile));
        return store.StateOf(messageId);
    }

    [Fact]
    public async Task Two_profiles_register_chat_and_see_delivery_and_read_state()
    {
        var alice = Directory.CreateTempSubdirectory("wa-alice-").FullName;
        var bob = Directory.CreateTempSubdirectory("wa-bob-").FullName;
        var management = fixture.Node.ManagementUri.ToString();
        var bobPhone = TestUsers.NewPhone();

        foreach (var (profile, phone) in new[] { (alice, TestUsers.NewPhone()), (bob, bobPhone) })
        {
            Assert.Contains("code sent", await WaAsync(profile, "register", phone));
            Assert.Contains("registered", await WaAsync(profile, "verify", phone, "--management", management));
        }
        var bobId = Profile.Load(bob).UserId!;
        Assert.Contains(bobId, await WaAsync(alice, "contacts", bobPhone));

        var sent = await WaAsync(alice, "send", bobId, "hello from the command line");
        Assert.StartsWith("✓ ", sent);
        var messageId = sent.Split(' ')[1];

        var bobScreen = await WaAsync(bob, "listen", "--seconds", "3");
        Assert.Contains("hello from the command line", bobScreen);
        Assert.Contains("— up to date —", bobScreen);

        var aliceScreen = await WaAsync(alice, "listen", "--seconds", "3");
        Assert.Contains($"✓✓ (read) {messageId}", aliceScreen);
        Assert.Equal(Akka.WhatsApp.Client.Storage.MessageState.Read, StateIn(alice, messageId));

        // A second listen shows nothing again: the ack was saved in the profile.
        Assert.DoesNotContain("hello from the command line", await WaAsync(bob, "listen", "--seconds", "2"));
    }

    [Fact]
    public async Task A_message_scheduled_from_the_command_line_is_listed_with_its_text_moved_and_cancelled()
    {
        var (alice, _, _) = await NewProfileAsync("alice");
        var (_, bobId, _) = await NewProfileAsync("bob");
        var tomorrow = DateTimeOffset.Now.AddDays(1);
        var at = tomorrow.ToString("yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture);

        var scheduled = await WaAsync(alice, "send", bobId, "happy birthday!", "--at", at);
        Assert.StartsWith("⏰ ", scheduled);
        Assert.Contains($"scheduled for {at}", scheduled);
        var id = scheduled.Split(' ')[1];
        var listed = await WaAsync(alice, "scheduled");
        Assert.Contains($"{at}  to {bobId}: happy birthday!\t{id}", listed);
        Assert.Contains("1 scheduled", listed);

        var later = tomorrow.AddHours(2).ToString("yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains($"scheduled for {later}", await WaAsync(alice, "scheduled", "move", id, later));
        Assert.Contains($"{later}  to {bobId}", await WaAsync(alice, "scheduled"));
        var edited = await WaAsync(alice, "scheduled", "edit", id, "happy birthday, Bob!");
        Assert.Contains($"scheduled for {later} (replaces {id})", edited);
        var newId = edited.Split(' ')[1];
        listed = await WaAsync(alice, "scheduled");
        Assert.Contains($"{later}  to {bobId}: happy birthday, Bob!\t{newId}", listed);
        Assert.DoesNotContain(id, listed);
        id = newId;
        Assert.Contains($"cancelled {id}", await WaAsync(alice, "scheduled", "cancel", id));
        Assert.Contains("no scheduled messages", await WaAsync(alice, "scheduled"));

        // Clear one-liners for what cannot be scheduled.
        var output = new StringWriter();
        Assert.Equal(1, await WaCommands.RunAsync(["--profile", alice, "--server", $"127.0.0.1:{fixture.Edge.Port}", "send", bobId, "x", "--at", "2001-01-01 10:00"], output));
        Assert.Contains("is not in the future", output.ToString());
        output = new StringWriter();
        Assert.Equal(1, await WaCommands.RunAsync(["--profile", alice, "--server", $"127.0.0.1:{fixture.Edge.Port}", "send", bobId, "x", "--at",
            DateTimeOffset.Now.AddDays(40).ToString("yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture)], output));
        Assert.Contains("at most 30 days ahead", output.ToString());
        output = new StringWriter();
        Assert.Equal(1, await WaCommands.RunAsync(["--profile", alice, "--server", $"127.0.0.1:{fixture.Edge.Port}", "scheduled", "cancel", id], output));
        Assert.Contains("no scheduled message", output.ToString());
    }

    [Fact]
    public async Task Two_profiles_chat_in_a_group_and_see_its_events_and_receipts()
    {
        var alice = Directory.CreateTempSubdirectory("wa-alice-").FullName;
        var bob = Directory.CreateTempSubdirectory("wa-bob-").FullName;
        var management = fixture.Node.ManagementUri.ToString();
        foreach (var profile in new[] { alice, bob })
        {
            var phone = TestUsers.NewPhone();
            await WaAsync(profile, "register", phone);
            await WaAsync(profile, "verify", phone, "--management", management);
        }
        var bobId = Profile.Load(bob).UserId!;

        var created = await WaAsync(alice, "group", "create", "friends", bobId);
        var group = created.Split(' ')[1];
        Assert.Matches("^[0-9a-f]{32}$", group);
        Assert.Contains($"added {bobId}", created);
        var sent = await WaAsync(alice, "group", "send", group, "hi all");
        Assert.Contains("(group seq 2)", sent);

        var bobScreen = await WaAsync(bob, "listen", "--seconds", "3");
        Assert.Contains("created the group \"friends\"", bobScreen);
        Assert.Contains($"[group {group} #2]", bobScreen);
        Assert.Contains("hi all", bobScreen);

        await WaAsync(alice, "listen", "--seconds", "2"); // takes in bob's delivered and read receipts
        var receipts = await WaAsync(alice, "group", "receipts", group, sent.Split(' ')[1]);
        Assert.Contains("delivered to 1 of 1, read by 1", receipts);
        Assert.Contains("2 members", await WaAsync(bob, "group", "info", group));
    }

    [Fact]
    public async Task Chats_history_and_search_work_from_the_device_store_across_commands()
    {
        var (alice, aliceId, alicePhone) = await NewProfileAsync("alice");
        var (bob, bobId, _) = await NewProfileAsync("bob");
        await WaAsync(alice, "send", bobId, "Ужин в восемь? 🎉");
        await WaAsync(alice, "send", bobId, "see you at dinner");
        var group = (await WaAsync(alice, "group", "create", "team", bobId)).Split(' ')[1];
        await WaAsync(alice, "group", "send", group, "dinner with the team on Friday");

        // A command that shows nothing still stores what the server pushed (before acking it): two chats, all unread.
        await WaAsync(bob, "contacts", alicePhone);
        var chats = await WaAsync(bob, "chats");
        Assert.Contains("2 chats", chats);
        Assert.Contains("2 messages\t2 unread", chats);
        Assert.Contains("see you at dinner", chats);

        var history = await WaAsync(bob, "history", aliceId);
        Assert.True(history.IndexOf("Ужин в восемь", StringComparison.Ordinal) < history.IndexOf("see you at dinner", StringComparison.Ordinal), history);
        Assert.DoesNotContain("2 messages\t2 unread", await WaAsync(bob, "chats")); // the history was seen

        var all = await WaAsync(bob, "search", "DINNER");
        Assert.Contains("2 found", all);
        Assert.True(all.IndexOf("with the team", StringComparison.Ordinal) < all.IndexOf("see you at", StringComparison.Ordinal), all); // newest first
        Assert.Contains("[dinner]", all);
        Assert.Contains("[Ужин]", await WaAsync(bob, "search", "ужин", "--in", aliceId));
        Assert.Contains("1 found", await WaAsync(bob, "search", "dinner", "--in", group));
        Assert.Contains("1 found", await WaAsync(bob, "search", "🎉", "--sender", aliceId));
        Assert.Contains("0 found", await WaAsync(bob, "search", "dinner", "--from", "2001-01-01", "--to", "2001-01-31"));
        Assert.Contains("2 found", await WaAsync(bob, "search", "dinner", "--from", DateTime.Now.AddDays(-1).ToString("yyyy-MM-dd")));
        Assert.Contains("0 found", await WaAsync(bob, "search", "--media", "image"));

        Assert.Contains("kept for 365 days", await WaAsync(bob, "retention"));
        Assert.Contains("kept for 30 days (0 older messages removed)", await WaAsync(bob, "retention", "30"));
        Assert.Contains("kept for 30 days", await WaAsync(bob, "retention"));
        Assert.Contains("2 found", await WaAsync(bob, "search", "dinner"));
    }

    [Fact]
    public async Task A_photo_and_a_document_sent_with_file_arrive_previewed_saved_and_downloadable_again()
    {
        var (alice, _, _) = await NewProfileAsync("alice");
        var (bob, bobId, _) = await NewProfileAsync("bob");
        var photo = Path.Combine(alice, "holiday.png");
        using (var bitmap = new SkiaSharp.SKBitmap(2000, 1500))
        {
            using (var canvas = new SkiaSharp.SKCanvas(bitmap))
                canvas.Clear(SkiaSharp.SKColors.CornflowerBlue);
            using var png = bitmap.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
            await File.WriteAllBytesAsync(photo, png.ToArray());
        }
        var document = Path.Combine(alice, "notes.txt");
        await File.WriteAllTextAsync(document, string.Concat(Enumerable.Repeat("the minutes of the meeting\n", 5000)));

        var sentPhoto = await WaAsync(alice, "send", bobId, "--file", photo, "at the beach");
        Assert.Contains("uploading ████████████████████ 100%", sentPhoto);
        Assert.StartsWith("✓ ", sentPhoto.Split('\n').First(l => l.StartsWith("✓", StringComparison.Ordinal)));
        await WaAsync(alice, "send", bobId, "--file", document);

        var screen = await WaAsync(bob, "listen", "--seconds", "4");
        Assert.Contains("[image ", screen);
        Assert.Contains("1600×1200 holiday.jpg] at the beach", screen); // compressed to 1600 px on the sender's side
        Assert.Contains("notes.txt]", screen);
        var saved = screen.Split('\n').Where(l => l.StartsWith("saved ", StringComparison.Ordinal)).Select(l => l["saved ".Length..].Trim()).ToList();
        Assert.Equal(2, saved.Count);
        var jpeg = await File.ReadAllBytesAsync(saved.Single(p => p.EndsWith("holiday.jpg", StringComparison.Ordinal)));
        Assert.Equal([0xFF, 0xD8], jpeg[..2]);
        Assert.Equal(await File.ReadAllBytesAsync(document), await File.ReadAllBytesAsync(saved.Single(p => p.EndsWith("notes.txt", StringComparison.Ordinal))));

        // The store keeps the reference: `wa download` fetches it again, and search finds the photo by kind.
        var history = await WaAsync(bob, "history", Profile.Load(alice).UserId!);
        var photoId = System.Text.RegularExpressions.Regex.Match(history, @"holiday\.jpg\] at the beach  \(([0-9a-f]{32})\)").Groups[1].Value;
        Assert.True(photoId.Length == 32, history);
        var again = Path.Combine(bob, "again.jpg");
        Assert.Contains($"saved {again}", await WaAsync(bob, "download", photoId, "--out", again));
        Assert.Equal(jpeg, await File.ReadAllBytesAsync(again));
        Assert.Contains("1 found", await WaAsync(bob, "search", "--media", "image"));
        Assert.Contains("say what to send", (await Assert.ThrowsAsync<Xunit.Sdk.TrueException>(() => WaAsync(alice, "send", bobId))).Message);

        // Auto-download follows the account's settings per network: nothing on cellular, then the file waits for `wa download`.
        Assert.Contains("cellular: image,sticker", await WaAsync(bob, "settings", "auto-download"));
        var set = await WaAsync(bob, "settings", "auto-download", "--cellular", "none");
        Assert.Contains("cellular: nothing", set);
        Assert.Contains("wifi: image,audio,video,document,sticker", set);
        await WaAsync(alice, "send", bobId, "--file", document, "v2");
        var onCellular = await WaAsync(bob, "listen", "--seconds", "3", "--network", "cellular");
        Assert.Contains("(not downloaded on cellular by your settings: `wa download ", onCellular);
        Assert.DoesNotContain("saved ", onCellular);
    }

    [Fact]
    public async Task A_profile_photo_a_group_icon_and_a_file_posted_to_a_group_go_through_wa()
    {
        var (alice, aliceId, _) = await NewProfileAsync("alice");
        var (bob, _, _) = await NewProfileAsync("bob");
        var bobId = Profile.Load(bob).UserId!;
        var picture = Path.Combine(alice, "me.png");
        using (var bitmap = new SkiaSharp.SKBitmap(1200, 900))
        {
            using (var canvas = new SkiaSharp.SKCanvas(bitmap))
                canvas.Clear(SkiaSharp.SKColors.OrangeRed);
            using var png = bitmap.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
            await File.WriteAllBytesAsync(picture, png.ToArray());
        }

        var mine = await WaAsync(alice, "profile", "--name", "Alice", "--about", "at work", "--photo", picture);
        Assert.Contains($"{aliceId} \"Alice\"", mine);
        Assert.Contains("about: at work", mine);
        Assert.Matches("photo: [A-Za-z0-9_-]{20,}", mine);
        var seen = await WaAsync(bob, "profile", aliceId, "--save-photo");
        Assert.Contains("\"Alice\"", seen);
        var photoPath = seen.Split('\n').Single(l => l.StartsWith("saved ", StringComparison.Ordinal))["saved ".Length..].Trim();
        var photo = SkiaSharp.SKBitmap.Decode(photoPath);
        Assert.Equal((640, 480), (photo.Width, photo.Height)); // made 640 px at most before the upload
        Assert.Contains("no photo", await WaAsync(alice, "profile", "--no-photo"));
        Assert.Equal(1, await WaCommands.RunAsync(["--profile", bob, "--server", $"127.0.0.1:{fixture.Edge.Port}", "profile", aliceId, "--name", "x"], new StringWriter()));

        var created = await WaAsync(alice, "group", "create", "team", bobId);
        var group = System.Text.RegularExpressions.Regex.Match(created, "created (\\S+)").Groups[1].Value;
        Assert.Contains($"{group} has no icon", await WaFailsAsync(bob, "group", "icon", group));
        Assert.Contains($"icon of {group} is ", await WaAsync(alice, "group", "icon", group, picture));
        Assert.Contains("icon: ", await WaAsync(bob, "group", "info", group));
        var icon = await WaAsync(bob, "group", "icon", group);
        Assert.Equal([0xFF, 0xD8], (await File.ReadAllBytesAsync(icon.Split('\n').Single(l => l.StartsWith("saved ", StringComparison.Ordinal))["saved ".Length..].Trim()))[..2]);

        var posted = await WaAsync(alice, "group", "send", group, "--file", picture, "our logo");
        Assert.Contains("uploading ████████████████████ 100%", posted);
        // A video is transcoded before it is encrypted (ffmpeg, which ./build.sh test installs).
        Assert.True(Client.Media.MediaPreview.FfmpegMissingNote is null, "this test needs ffmpeg on PATH: run it through ./build.sh test, which installs it");
        var clip = Path.Combine(alice, "clip.mkv");
        using (var ffmpeg = System.Diagnostics.Process.Start("ffmpeg", ["-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=duration=1:size=1920x1080:rate=10",
                   "-c:v", "mpeg4", clip]))
            await ffmpeg.WaitForExitAsync();
        Assert.Contains("transcoding the video", await WaAsync(alice, "group", "send", group, "--file", clip));
        var screen = await WaAsync(bob, "listen", "--seconds", "3");
        Assert.Contains("1200×900 me.jpg] our logo", screen);
        Assert.Matches(@"\[video [0-9]+ KB 1280×720 clip\.mp4\]", screen);
        Assert.Contains("say what to post", await WaFailsAsync(alice, "group", "send", group));
    }

    [Fact]
    public async Task A_call_from_wa_call_is_answered_by_wa_calls_end_to_end_encrypted_and_both_see_it_connect_and_end()
    {
        var (alice, _, _) = await NewProfileAsync("alice");
        var (bob, bobId, _) = await NewProfileAsync("bob");
        await WaAsync(alice, "send", bobId, "sessions first"); // both sides know each other's devices
        await WaAsync(bob, "listen", "--seconds", "1");

        var answering = new SynchronizedWriter();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var answerer = WaCommands.RunAsync(["--profile", bob, "--server", $"127.0.0.1:{fixture.Edge.Port}", "calls", "--answer"], answering, TextReader.Null, stop.Token);
        await Eventually.Until(() => Task.FromResult(answering.ToString().Contains("waiting for calls")), TimeSpan.FromSeconds(20), "wa calls to wait");

        var calling = await WaAsync(alice, "call", bobId, "--seconds", "1");
        Assert.Contains("calling ", calling);
        Assert.Contains("connected", calling);
        Assert.Contains("ended: you hung up", calling);
        await Eventually.Until(() => Task.FromResult(answering.ToString().Contains("ended:")), TimeSpan.FromSeconds(20), "bob's side to see the end");
        stop.Cancel();
        await answerer;
        var answered = answering.ToString();
        Assert.Contains("incoming voice call from", answered);
        Assert.Contains("connected", answered);
        Assert.Contains("hung up", answered);
    }

    /// <summary>Runs a `wa` command that must fail (exit code 1) and returns what it printed.</summary>
    private async Task<string> WaFailsAsync(string profile, params string[] args)
    {
        var output = new StringWriter();
        Assert.Equal(1, await WaCommands.RunAsync(["--profile", profile, "--server", $"127.0.0.1:{fixture.Edge.Port}", .. args], output));
        return output.ToString();
    }

    [Fact]
    public async Task An_empty_message_or_one_to_yourself_is_refused_in_plain_words_before_anything_is_sent()
    {
        var (alice, aliceId, alicePhone) = await NewProfileAsync("alice");
        var (_, bobId, _) = await NewProfileAsync("bob");
        Assert.Contains("that is you", await WaFailsAsync(alice, "send", aliceId, "note to self"));
        Assert.Contains("that is you", await WaFailsAsync(alice, "send", alicePhone, "note to self"));
        Assert.Contains("the message is empty", await WaFailsAsync(alice, "send", bobId, ""));
        Assert.Contains("the message is empty", await WaFailsAsync(alice, "send", bobId, "   "));
        Assert.DoesNotContain("self_ciphertexts", await WaFailsAsync(alice, "send", aliceId, "x"));
    }

    [Fact]
    public async Task A_message_that_arrives_while_the_user_runs_another_command_is_stored_and_shown_later()
    {
        var (alice, aliceId, _) = await NewProfileAsync("alice");
        var (bob, _, bobPhone) = await NewProfileAsync("bob");
        await WaAsync(alice, "contacts", bobPhone);
        await WaAsync(alice, "send", bobPhone, "are you there?"); // to a contact's phone number

        // Bob's `wa send` gets Alice's message in its backlog and acknowledges it: it must be kept, not lost.
        var sent = await WaWithInputAsync(bob, "yes, here\n", "send", aliceId, "-");
        Assert.StartsWith("✓ ", sent);
        Assert.Contains("1 new message stored", sent);

        var screen = await WaAsync(bob, "listen", "--seconds", "2");
        Assert.Contains($"{aliceId}: are you there?", screen);
        var history = await WaAsync(bob, "history", aliceId);
        Assert.Contains("are you there?", history);
        Assert.Contains("you: yes, here", history);
        Assert.Contains($"{aliceId}\t2 messages", await WaAsync(bob, "history"));
        // Shown once: the next listen does not repeat it.
        Assert.DoesNotContain("are you there?", await WaAsync(bob, "listen", "--seconds", "1"));
    }

    [Fact]
    public async Task Other_commands_use_a_running_listen_instead_of_replacing_it()
    {
        var (alice, aliceId, alicePhone) = await NewProfileAsync("alice");
        var (bob, bobId, _) = await NewProfileAsync("bob");
        var listening = WaAsync(bob, "listen", "--seconds", "10");
        await Eventually.Until(() => File.Exists(Path.Combine(bob, "relay.json")), Wait, "bob's listen to offer its connection");

        Assert.StartsWith("✓ ", await WaAsync(bob, "send", aliceId, "sent while listening"));
        Assert.Contains(aliceId, await WaAsync(bob, "contacts", alicePhone));
        await WaAsync(alice, "send", bobId, "to the listener");
        var screen = await listening;

        Assert.DoesNotContain("DEVICE_REPLACED", screen);
        Assert.Contains($"{aliceId}: to the listener", screen);
        Assert.Contains("sent while listening", await WaAsync(alice, "listen", "--seconds", "2"));
        Assert.False(File.Exists(Path.Combine(bob, "relay.json")), "the listener removes its relay when it ends");
    }

    [Fact]
    public async Task Chat_sends_the_lines_it_reads_and_shows_the_answers_live()
    {
        var (alice, aliceId, _) = await NewProfileAsync("alice");
        var (bob, bobId, bobPhone) = await NewProfileAsync("bob");
        await WaAsync(alice, "contacts", bobPhone);
        await WaAsync(bob, "send", aliceId, "earlier");

        var chatting = WaWithInputAsync(alice, "hello bob\nhow are you?\n", "chat", bobPhone, "--seconds", "8");
        await Eventually.Until(async () => (await WaAsync(bob, "listen", "--seconds", "1")).Contains("how are you?"), Wait, "bob to get alice's lines");
        await WaAsync(bob, "send", aliceId, "fine, thanks");
        var screen = await chatting;

        Assert.Contains($"{bobId}: earlier", screen);      // the history of the chat first
        Assert.Contains("you: hello bob", screen);
        Assert.Contains($"{bobId}: fine, thanks", screen); // the answer, live
        var history = await WaAsync(alice, "history", bobId);
        Assert.Contains("hello bob", history);
        Assert.Contains("fine, thanks", history);
    }

    [Fact]
    public async Task Safety_numbers_match_on_both_sides_verify_a_contact_and_a_reinstall_changes_them_and_warns()
    {
        var (alice, aliceId, _) = await NewProfileAsync("alice");
        var (bob, bobId, _) = await NewProfileAsync("bob");
        await WaAsync(alice, "send", bobId, "hi");
        await WaAsync(bob, "listen", "--seconds", "1");

        static string Number(string screen) => string.Join(' ', screen.Split('\n').Where(l => System.Text.RegularExpressions.Regex.IsMatch(l, "^([0-9]{5} ){5}[0-9]{5}$")));
        var atAlice = await WaAsync(alice, "safety", bobId);
        var atBob = await WaAsync(bob, "safety", aliceId);
        Assert.Matches("^([0-9]{5} ){11}[0-9]{5}$", Number(atAlice));
        Assert.Equal(Number(atAlice), Number(atBob));
        Assert.DoesNotContain("(verified)", atAlice);

        var output = new StringWriter();
        var wrong = string.Concat(Number(atBob).Reverse());
        Assert.Equal(1, await WaCommands.RunAsync(["--profile", alice, "--server", $"127.0.0.1:{fixture.Edge.Port}", "verify-contact", bobId, wrong], output));
        Assert.Contains("NOT verified", output.ToString());
        Assert.Contains($"{bobId} is verified", await WaAsync(alice, "verify-contact", bobId, Number(atBob)));
        // Scanning the QR payload alice shows verifies her on bob's side; bob's own payload does not.
        static string Qr(string screen) => screen.Split('\n').Single(l => l.StartsWith("QR payload: ", StringComparison.Ordinal))["QR payload: ".Length..].Trim();
        Assert.Equal(1, await WaCommands.RunAsync(["--profile", bob, "--server", $"127.0.0.1:{fixture.Edge.Port}", "verify-contact", aliceId, Qr(atBob)], output));
        Assert.Contains($"{aliceId} is verified", await WaAsync(bob, "verify-contact", aliceId, Qr(atAlice)));
        Assert.Contains($"safety number with {bobId} (verified)", await WaAsync(alice, "safety", bobId));

        // Bob's device loses its keys (a reinstall that kept the login): it publishes new ones. Alice's next message
        // goes to the new keys, and she is told the code changed.
        foreach (var suffix in new[] { "", "-wal", "-shm" })
            File.Delete(DeviceSession.KeysPath(bob) + suffix);
        await WaAsync(bob, "login");
        var sent = await WaAsync(alice, "send", bobId, "after the reinstall");
        Assert.Contains($"security code with {bobId} changed", sent);
        Assert.Contains("after the reinstall", await WaAsync(bob, "listen", "--seconds", "2"));
        var now = await WaAsync(alice, "safety", bobId);
        Assert.DoesNotContain("(verified)", now);
        Assert.NotEqual(Number(atAlice), Number(now));
        Assert.DoesNotContain("security code", await WaAsync(alice, "send", bobId, "looked at it"));
    }

    [Fact]
    public async Task Commands_without_credentials_explain_what_to_do()
    {
        var empty = Directory.CreateTempSubdirectory("wa-empty-").FullName;
        var output = new StringWriter();
        var code = await WaCommands.RunAsync(["--profile", empty, "--server", $"127.0.0.1:{fixture.Edge.Port}", "send", "someone", "hi"], output);
        Assert.Equal(1, code);
        Assert.Contains("not logged in", output.ToString());
    }
}
