using Akka.WhatsApp.Cli;
using Xunit;

namespace Akka.WhatsApp.Integration.Tests;

/// <summary>
/// `wa status` against a real node, end to end encrypted as the CLI always is: a status goes to the people one chats
/// with, the audience option leaves people out, views come back as viewers, and a deleted status leaves the feed.
/// </summary>
public sealed class CliStatusSpec(SqliteNodeFixture fixture) : IClassFixture<SqliteNodeFixture>
{
    private async Task<string> WaAsync(string profile, params string[] args)
    {
        var output = new StringWriter();
        var all = new[] { "--profile", profile, "--server", $"127.0.0.1:{fixture.Edge.Port}" }.Concat(args).ToArray();
        var code = await WaCommands.RunAsync(all, output, new StringReader(""));
        Assert.True(code == 0, $"wa {string.Join(' ', args)} exited {code}: {output}");
        return output.ToString();
    }

    private async Task<(string Profile, string UserId)> NewProfileAsync(string name)
    {
        var profile = Directory.CreateTempSubdirectory($"wa-{name}-").FullName;
        var phone = TestUsers.NewPhone();
        await WaAsync(profile, "register", phone);
        await WaAsync(profile, "verify", phone, "--management", fixture.Node.ManagementUri.ToString());
        await WaAsync(profile, "login"); // publishes the device's keys: others can encrypt for it
        return (profile, Profile.Load(profile).UserId!);
    }

    [Fact]
    public async Task A_status_reaches_the_contacts_it_was_shared_with_shows_its_viewers_and_leaves_the_feed_when_deleted()
    {
        var (alice, aliceId) = await NewProfileAsync("alice");
        var (bob, bobId) = await NewProfileAsync("bob");
        var (carol, carolId) = await NewProfileAsync("carol");
        await WaAsync(alice, "send", bobId, "hi bob");
        await WaAsync(alice, "send", carolId, "hi carol");

        var posted = await WaAsync(alice, "status", "post", "out for lunch", "--audience", $"except:{carolId}");
        Assert.StartsWith("posted ", posted);
        Assert.Contains("to 1 of 1 contacts", posted);
        var id = posted.Split(' ')[1];

        var bobFeed = await WaAsync(bob, "status", "feed", "--view");
        Assert.Contains($"{id}", bobFeed);
        Assert.Contains("out for lunch", bobFeed);
        Assert.Contains("out for lunch", await WaAsync(bob, "status", "feed")); // decrypted once, shown again
        Assert.Contains("no statuses", await WaAsync(carol, "status", "feed"));
        Assert.Contains("out for lunch", await WaAsync(alice, "status", "feed"));

        var viewers = await WaAsync(alice, "status", "viewers", id);
        Assert.Contains("1 view", viewers);
        Assert.Contains(bobId, viewers);

        Assert.Contains("deleted", await WaAsync(alice, "status", "delete", id));
        Assert.Contains("no statuses", await WaAsync(bob, "status", "feed"));
    }
}
