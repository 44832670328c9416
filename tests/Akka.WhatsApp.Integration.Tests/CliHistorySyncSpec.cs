using System.Text.RegularExpressions;
using Akka.WhatsApp.Cli;
using Akka.WhatsApp.Client.Storage;
using Akka.WhatsApp.Testing;
using Xunit;

namespace Akka.WhatsApp.Integration.Tests;

/// <summary>`wa link` and `wa approve-link` against a real node: the new profile ends with the primary's history (PROTOCOL.md §17).</summary>
public sealed class CliHistorySyncSpec(SqliteNodeFixture fixture) : IClassFixture<SqliteNodeFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    /// <summary>Starts a `wa` command; its screen can be read while it runs.</summary>
    private (Task<int> Exit, Func<string> Screen) Start(string profile, params string[] args)
    {
        var output = new StringWriter();
        var writer = TextWriter.Synchronized(output);
        var all = new[] { "--profile", profile, "--server", $"127.0.0.1:{fixture.Edge.Port}" }.Concat(args).ToArray();
        return (Task.Run(() => WaCommands.RunAsync(all, writer, new StringReader(""))), () => { lock (writer) return output.ToString(); });
    }

    private async Task<string> WaAsync(string profile, params string[] args)
    {
        var (exit, screen) = Start(profile, args);
        Assert.True(await exit.WaitAsync(Wait) == 0, $"wa {string.Join(' ', args)} failed: {screen()}");
        return screen();
    }

    [Fact]
    public async Task A_linked_profile_gets_the_primarys_history_with_progress_lines()
    {
        var alice = Directory.CreateTempSubdirectory("wa-sync-alice-").FullName;
        var bob = Directory.CreateTempSubdirectory("wa-sync-bob-").FullName;
        var laptop = Directory.CreateTempSubdirectory("wa-sync-laptop-").FullName;
        foreach (var profile in new[] { alice, bob })
        {
            var phone = TestUsers.NewPhone();
            await WaAsync(profile, "register", phone);
            await WaAsync(profile, "verify", phone, "--management", fixture.Node.ManagementUri.ToString());
        }
        var bobId = Profile.Load(bob).UserId!;
        await WaAsync(alice, "send", bobId, "written before the laptop existed");
        await WaAsync(alice, "send", bobId, "and a second one");

        var (linking, linkScreen) = Start(laptop, "link", "--name", "laptop");
        Match approve = Match.Empty;
        await Eventually.Until(() => Task.FromResult((approve = Regex.Match(linkScreen(), @"wa approve-link (\S+) ([0-9a-f]+)")).Success), Wait,
            "wa link to show its code", linkScreen);
        var primaryScreen = await WaAsync(alice, "approve-link", approve.Groups[1].Value, approve.Groups[2].Value, "--history-wait", "60");
        Assert.True(await linking.WaitAsync(Wait) == 0, $"wa link failed: {linkScreen()}");

        Assert.Contains("device 2 linked", primaryScreen);
        Assert.Contains("history sent to device 2: 2 messages", primaryScreen);
        Assert.Contains("history: chunk 1 of", linkScreen());
        Assert.Contains("history imported: 2 messages (of 2 sent)", linkScreen());
        using var store = MessageStore.Open(DeviceSession.StorePath(laptop));
        Assert.Equal(["written before the laptop existed", "and a second one"], store.History(ChatId.User(bobId)).Select(m => m.Text));
    }
}
