using Akka.WhatsApp.Client;
using Akka.WhatsApp.Host;
using Akka.WhatsApp.Protocol;
using Xunit;
using static Akka.WhatsApp.Integration.Tests.TestUsers;

namespace Akka.WhatsApp.Integration.Tests;

public sealed class SqlitePresenceNode() : MessagingNode(JournalKind.Sqlite);

/// <summary>
/// PROTOCOL.md §9-10: privacy settings and blocks apply to presence subscriptions that exist already, at once, and
/// to typing in both directions. Each test ends on a positive signal (a state the subscriber must be shown) and checks
/// that nothing it must not see came before it.
/// </summary>
public sealed class PresencePrivacySpec(SqlitePresenceNode fixture) : IClassFixture<SqlitePresenceNode>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private WhatsAppNode Node => fixture.Node;

    private static Task SetLastSeenAsync(WhatsAppClient client, Visibility visibility) =>
        client.RequestAsync(new Frame { SetPrivacy = new SetPrivacy { Settings = new PrivacySettings { LastSeen = visibility } } });

    private static Task SetAvailableAsync(WhatsAppClient client, bool available) =>
        client.RequestAsync(new Frame { SetAvailability = new SetAvailability { Available = available } });

    /// <summary>The presence pushes about <paramref name="user"/> up to and including the first that <paramref name="until"/> accepts.</summary>
    private static async Task<List<Presence>> PresencesUntilAsync(WhatsAppClient client, string user, Func<Presence, bool> until)
    {
        var seen = new List<Presence>();
        while (true)
        {
            var next = (await client.NextAsync<PresenceChanged>(1, Wait)).Single().Presence;
            if (next.UserId != user)
                continue;
            seen.Add(next);
            if (until(next))
                return seen;
        }
    }

    [Fact]
    public async Task A_subscriber_stops_seeing_presence_as_soon_as_last_seen_is_set_to_nobody_and_sees_it_again_when_allowed()
    {
        var (alice, bob) = (await RegisterAsync(Node), await RegisterAsync(Node));
        await using var a = await ConnectAsync(Node, alice);
        await using var b = await ConnectAsync(Node, bob);
        Assert.Equal(PresenceState.Online, Assert.Single((await a.SubscribePresenceAsync([bob.UserId])).Presences).State);

        await SetLastSeenAsync(b, Visibility.Nobody);
        var hidden = await PresencesUntilAsync(a, bob.UserId, p => p.State == PresenceState.Unspecified);
        Assert.Equal([PresenceState.Unspecified], hidden.Select(p => p.State));
        // Subscribing again does not bring it back either.
        Assert.Equal(PresenceState.Unspecified, Assert.Single((await a.SubscribePresenceAsync([bob.UserId])).Presences).State);

        // Bob goes away and comes back while hidden: nothing of it reaches Alice.
        await SetAvailableAsync(b, false);
        await SetAvailableAsync(b, true);
        await SetAvailableAsync(b, false);

        // Allowed again: Alice is shown the current state (offline, with last seen), and the hidden changes never came.
        await SetLastSeenAsync(b, Visibility.Everyone);
        var after = await PresencesUntilAsync(a, bob.UserId, p => p.State != PresenceState.Unspecified);
        var shown = Assert.Single(after);
        Assert.Equal(PresenceState.Offline, shown.State);
        Assert.NotEqual(0ul, shown.LastSeen);
    }

    [Fact]
    public async Task A_block_hides_the_blockers_presence_from_an_existing_subscription_until_unblocked()
    {
        var (alice, bob) = (await RegisterAsync(Node), await RegisterAsync(Node));
        await using var a = await ConnectAsync(Node, alice);
        await using var b = await ConnectAsync(Node, bob);
        await a.SubscribePresenceAsync([bob.UserId]);

        await b.BlockAsync(alice.UserId);
        Assert.Equal([PresenceState.Unspecified], (await PresencesUntilAsync(a, bob.UserId, p => p.State == PresenceState.Unspecified)).Select(p => p.State));
        await SetAvailableAsync(b, false);
        await SetAvailableAsync(b, true);

        await b.BlockAsync(alice.UserId, block: false);
        var back = await PresencesUntilAsync(a, bob.UserId, p => p.State != PresenceState.Unspecified);
        Assert.Equal([PresenceState.Online], back.Select(p => p.State));
    }

    [Fact]
    public async Task A_subscriber_who_blocks_someone_no_longer_follows_their_presence()
    {
        var (alice, bob) = (await RegisterAsync(Node), await RegisterAsync(Node));
        await using var a = await ConnectAsync(Node, alice);
        await using var b = await ConnectAsync(Node, bob);
        await a.SubscribePresenceAsync([bob.UserId]);

        await a.BlockAsync(bob.UserId);
        Assert.Equal([PresenceState.Unspecified], (await PresencesUntilAsync(a, bob.UserId, p => p.State == PresenceState.Unspecified)).Select(p => p.State));
        await SetAvailableAsync(b, false);
        await a.BlockAsync(bob.UserId, block: false);
        Assert.Equal([PresenceState.Offline], (await PresencesUntilAsync(a, bob.UserId, p => p.State != PresenceState.Unspecified)).Select(p => p.State));
    }

    [Fact]
    public async Task Typing_is_not_relayed_when_either_side_blocked_the_other()
    {
        var (alice, bob, carol) = (await RegisterAsync(Node), await RegisterAsync(Node), await RegisterAsync(Node));
        await using var a = await ConnectAsync(Node, alice);
        await using var b = await ConnectAsync(Node, bob);
        await using var c = await ConnectAsync(Node, carol);
        await b.NextAsync<BacklogDone>();

        // Alice blocked Bob: her typing to him is not shown to him; once she unblocks him, it is.
        await a.BlockAsync(bob.UserId);
        await a.TypingAsync(bob.UserId, TypingState.Composing);
        await a.BlockAsync(bob.UserId, block: false);
        await a.TypingAsync(bob.UserId, TypingState.Paused);
        Assert.Equal([(alice.UserId, TypingState.Paused)], await TypingUntilAsync(b, alice.UserId, TypingState.Paused));

        // Bob blocked Carol: hers is not shown to him either.
        await b.BlockAsync(carol.UserId);
        await c.TypingAsync(bob.UserId, TypingState.Composing);
        await c.RequestAsync(new Frame { Ping = new Ping() }); // the server has read the typing (frames are handled in order)
        await b.BlockAsync(carol.UserId, block: false);
        await c.TypingAsync(bob.UserId, TypingState.Recording);
        Assert.Equal([(carol.UserId, TypingState.Recording)], await TypingUntilAsync(b, carol.UserId, TypingState.Recording));
    }

    private static async Task<List<(string, TypingState)>> TypingUntilAsync(WhatsAppClient client, string from, TypingState last)
    {
        var seen = new List<(string, TypingState)>();
        while (seen.Count == 0 || seen[^1] != (from, last))
        {
            var typing = (await client.NextAsync<TypingChanged>(1, Wait)).Single().Typing;
            seen.Add((typing.FromUserId, typing.State));
        }
        return seen;
    }

    [Fact]
    public async Task Presence_subscriptions_are_limited_per_request_and_per_connection_with_INVALID_ARGUMENT()
    {
        var alice = await RegisterAsync(Node);
        await using var a = await ConnectAsync(Node, alice);
        static IEnumerable<string> Ids(int count, string prefix) => Enumerable.Range(0, count).Select(i => $"{prefix}{i:D6}");

        var tooMany = await Assert.ThrowsAsync<ServerErrorException>(() => a.SubscribePresenceAsync(Ids(257, "x")));
        Assert.Equal(ErrorCode.InvalidArgument, tooMany.Code);

        // Ids that do not exist are answered as hidden; every id asked for counts towards the 1,024 of a connection.
        for (var batch = 0; batch < 4; batch++)
        {
            var unknown = await a.SubscribePresenceAsync(Ids(256, $"nobody{batch}-"));
            Assert.Equal(256, unknown.Presences.Count);
            Assert.All(unknown.Presences, p => Assert.Equal(PresenceState.Unspecified, p.State));
        }
        var full = await Assert.ThrowsAsync<ServerErrorException>(() => a.SubscribePresenceAsync(["one-more"]));
        Assert.Equal(ErrorCode.InvalidArgument, full.Code);
        // Subscribing again to the same ids is not more; unsubscribing makes room.
        await a.SubscribePresenceAsync(Ids(3, "nobody0-"));
        var unsubscribe = new UnsubscribePresence();
        unsubscribe.UserIds.AddRange(Ids(1, "nobody1-"));
        await a.RequestAsync(new Frame { UnsubscribePresence = unsubscribe });
        Assert.Single((await a.SubscribePresenceAsync(["one-more"])).Presences);
    }
}
