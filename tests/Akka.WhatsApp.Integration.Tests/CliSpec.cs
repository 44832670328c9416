using Akka.WhatsApp.Cli;
using Akka.WhatsApp.Host;
using Xunit;

namespace Akka.WhatsApp.Integration.Tests;

/// <summary>Two `wa` profiles chat against a real node, as the README shows with two terminals.</summary>
public sealed class CliSpec(SqliteNodeFixture fixture) : IClassFixture<SqliteNodeFixture>
{
    private async Task<string> WaAsync(string profile, params string[] args)
    {
        var output = new StringWriter();
        var all = new[] { "--profile", profile, "--server", $"127.0.0.1:{fixture.Edge.Port}" }.Concat(args).ToArray();
        var code = await WaCommands.RunAsync(all, output);
        Assert.True(code == 0, $"wa {string.Join(' ', args)} exited {code}: {output}");
        return output.ToString();
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
        Assert.Equal("read", Profile.Load(alice).Sent[messageId]);

        // A second listen shows nothing again: the ack was saved in the profile.
        Assert.DoesNotContain("hello from the command line", await WaAsync(bob, "listen", "--seconds", "2"));
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
    public async Task Commands_without_credentials_explain_what_to_do()
    {
        var empty = Directory.CreateTempSubdirectory("wa-empty-").FullName;
        var output = new StringWriter();
        var code = await WaCommands.RunAsync(["--profile", empty, "--server", $"127.0.0.1:{fixture.Edge.Port}", "send", "someone", "hi"], output);
        Assert.Equal(1, code);
        Assert.Contains("not logged in", output.ToString());
    }
}
