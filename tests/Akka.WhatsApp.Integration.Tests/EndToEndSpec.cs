using Akka.WhatsApp.Client;
using Akka.WhatsApp.Client.Crypto;
using Akka.WhatsApp.Client.Storage;
using Akka.WhatsApp.Host;
using Akka.WhatsApp.Testing;
using Akka.WhatsApp.Protocol;
using Xunit;
using static Akka.WhatsApp.Integration.Tests.TestUsers;

namespace Akka.WhatsApp.Integration.Tests;

public sealed class PostgresEndToEndNode() : MessagingNode(JournalKind.Postgres);

/// <summary>
/// The SDK's encryption layer through a real node on PostgreSQL (PROTOCOL.md §13a): sessions from the key directory,
/// a message that cannot be decrypted asked again and re-encrypted by its sender, sender keys replaced when a member goes.
/// </summary>
public sealed class EndToEndSpec(PostgresEndToEndNode fixture) : IClassFixture<PostgresEndToEndNode>, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("wa-e2e-it-").FullName;
    private readonly List<IDisposable> _stores = [];

    private sealed record Device(WhatsAppClient Client, MessageStore Store, KeyStore Keys) : IAsyncDisposable
    {
        public EndToEnd E2e => Client.Encryption!;

        public async Task<SendResult> SendTextAsync(string to, string text)
        {
            var result = await Client.SendAsync(to, Payload(text));
            Store.RecordSent(Client.Credentials.UserId, Client.Credentials.DeviceId, ChatId.User(to), result.MessageId, result.ServerTimestamp,
                ContentKind.Text, Payload(text));
            return result;
        }

        public async ValueTask DisposeAsync() => await Client.DisposeAsync();
    }

    /// <summary>A device with its own stores; another <paramref name="install"/> of the same credentials is a reinstall (new keys).</summary>
    private async Task<Device> DeviceAsync(Credentials? credentials = null, string install = "", KeyStore? keys = null)
    {
        credentials ??= await RegisterAsync(fixture.Node);
        var name = $"{credentials.UserId}-{credentials.DeviceId}{install}";
        var store = MessageStore.Open(Path.Combine(_folder, name + "-messages.db"));
        _stores.Add(store);
        keys ??= NewKeys(name); // the same credentials and install: the same keys
        var client = await WhatsAppClient.ConnectAsync(await OptionsAsync(fixture.Node) with { Store = store, Keys = keys }, credentials);
        return new Device(client, store, keys);
    }

    private KeyStore NewKeys(string? name = null)
    {
        var keys = KeyStore.Open(Path.Combine(_folder, $"{name ?? Guid.NewGuid().ToString("N")}-keys.db"));
        _stores.Add(keys);
        return keys;
    }

    /// <summary>Links a companion with its own key store to <paramref name="primary"/>'s account (the primary signs it, §7).</summary>
    private async Task<(Credentials Credentials, KeyStore Keys)> LinkAsync(Device primary, string name)
    {
        var keys = NewKeys();
        var (code, linked) = await WhatsAppClient.RequestLinkAsync(await OptionsAsync(fixture.Node) with { Keys = keys }, name, identityKey: null);
        await primary.Client.ApproveLinkAsync(code, keys.Identity.PublicKey);
        return (await linked, keys);
    }

    [Fact]
    public async Task A_companion_the_primary_signed_is_sent_to_and_one_it_did_not_sign_is_refused()
    {
        await using var alice = await DeviceAsync();
        await using var bob = await DeviceAsync();
        var bobId = bob.Client.Credentials.UserId;
        var (laptopCredentials, laptopKeys) = await LinkAsync(bob, "laptop");
        Assert.True(Primitives.Verify(bob.Keys.Identity.PublicKey, laptopKeys.Identity.PublicKey, laptopKeys.AccountSignature));
        await using var laptop = await DeviceAsync(laptopCredentials, keys: laptopKeys);
        Assert.Equal(laptopKeys.AccountSignature,
            Assert.Single((await alice.Client.FetchPreKeyBundlesAsync(bobId, [2])).Bundles).AccountSignature.ToByteArray());

        await alice.SendTextAsync(bobId, "to both of bob's devices");
        Assert.Equal("to both of bob's devices", (await NextTextAsync(bob)).Text());
        Assert.Equal("to both of bob's devices", (await NextTextAsync(laptop)).Text());

        // A device whose account signature is not the primary's (as a device the server added would be): nothing goes to it.
        var (tabletCredentials, tabletKeys) = await LinkAsync(bob, "tablet");
        tabletKeys.AccountSignature = IdentityKeyPair.Generate().Sign(tabletKeys.Identity.PublicKey);
        await using var tablet = await DeviceAsync(tabletCredentials, keys: tabletKeys);
        var refused = await Assert.ThrowsAsync<EncryptionException>(() => alice.SendTextAsync(bobId, "not for the tablet"));
        Assert.Contains("device 3 is not signed by the account's primary device", refused.Message);
    }

    [Fact]
    public async Task Keys_are_published_at_login_and_messages_travel_encrypted_both_ways()
    {
        await using var alice = await DeviceAsync();
        var bobCredentials = await RegisterAsync(fixture.Node);
        await using (var first = await DeviceAsync(bobCredentials))
        {
            var count = await first.Client.GetPreKeyCountAsync();
            Assert.Equal((100u, 20u), (count.OneTimePrekeys, count.OneTimeKemPrekeys));
            Assert.NotEqual(0u, count.KemLastResortPrekeyId);
        }

        // Bob is offline: what the server holds for him is ciphertext.
        await alice.SendTextAsync(bobCredentials.UserId, "first");
        var raw = Assert.Single(await RawBacklogAsync(fixture.Node, bobCredentials));
        Assert.Equal(CiphertextType.PrekeyMessage, raw.CiphertextType);
        Assert.DoesNotContain("first", System.Text.Encoding.UTF8.GetString(raw.Ciphertext.ToByteArray()));
        await using var bob = await DeviceAsync(bobCredentials);
        var got = (await bob.Client.NextAsync<MessageReceived>()).Single();
        Assert.Equal(("first", CiphertextType.Plaintext), (got.Text(), got.Deliver.CiphertextType));
        Assert.Equal("first", System.Text.Encoding.UTF8.GetString(Assert.Single(bob.Store.History(ChatId.User(alice.Client.Credentials.UserId))).Body.Span));

        await bob.SendTextAsync(alice.Client.Credentials.UserId, "reply");
        Assert.Equal("reply", (await alice.Client.NextAsync<MessageReceived>()).Single().Text());
        Assert.Equal(99u, (await bob.Client.GetPreKeyCountAsync()).OneTimePrekeys); // alice took one, once
    }

    [Fact]
    public async Task A_message_the_recipient_cannot_decrypt_is_asked_again_and_arrives_re_encrypted_under_its_id()
    {
        await using var alice = await DeviceAsync();
        await using var bob = await DeviceAsync();
        var aliceId = alice.Client.Credentials.UserId;
        await alice.SendTextAsync(bob.Client.Credentials.UserId, "one");
        Assert.Equal("one", (await bob.Client.NextAsync<MessageReceived>()).Single().Text());

        // Bob loses the session (a restore from an old backup): alice's next prekey message names a one-time key he used.
        bob.E2e.Forget(aliceId, 1);
        var lost = await alice.SendTextAsync(bob.Client.Credentials.UserId, "two");
        var failed = (await bob.Client.NextAsync<UndecryptableMessage>()).Single();
        Assert.Equal(lost.MessageId, failed.Deliver.MessageId);

        // Alice's device answers the RETRY_REQUEST from its store with a new session; bob gets "two" under the same id.
        var again = (await bob.Client.NextAsync<MessageReceived>()).Single();
        Assert.Equal(("two", lost.MessageId), (again.Text(), again.Deliver.MessageId));
        Assert.Equal(lost.ServerTimestamp, again.Deliver.ServerTimestamp);
        Assert.Contains(bob.Store.History(ChatId.User(aliceId)), m => m.MessageId == MessageStore.Hex(lost.MessageId));
        await alice.SendTextAsync(bob.Client.Credentials.UserId, "three");
        Assert.Equal("three", (await bob.Client.NextAsync<MessageReceived>()).Single().Text());
    }

    [Fact]
    public async Task Group_members_read_the_sender_key_messages_and_a_removal_rotates_the_key()
    {
        await using var alice = await DeviceAsync();
        await using var bob = await DeviceAsync();
        await using var carol = await DeviceAsync();
        var (bobId, carolId) = (bob.Client.Credentials.UserId, carol.Client.Credentials.UserId);
        var group = (await alice.Client.CreateGroupAsync("friends", [bobId, carolId])).Group.GroupId;

        await alice.Client.GroupSendAsync(group, Payload("hello both"));
        foreach (var member in new[] { bob, carol })
            Assert.Equal("hello both", (await NextTextAsync(member)).Text());
        var firstKey = alice.E2e.OwnSenderKey(group, out _).KeyId;
        await alice.Client.GroupSendAsync(group, Payload("still the same key"));
        Assert.Equal(firstKey, alice.E2e.OwnSenderKey(group, out _).KeyId);

        await alice.Client.RemoveMembersAsync(group, [carolId]);
        await alice.Client.GroupSendAsync(group, Payload("carol is gone"));
        Assert.NotEqual(firstKey, alice.E2e.OwnSenderKey(group, out _).KeyId);
        Assert.DoesNotContain(alice.Keys.SharedWith(group, alice.E2e.OwnSenderKey(group, out _).KeyId), s => s.User == carolId);
        var texts = new List<string>();
        await Eventually.Until(async () =>
        {
            texts.AddRange((await bob.Client.DrainAsync(TimeSpan.FromMilliseconds(300))).OfType<MessageReceived>()
                .Where(m => m.Deliver.Kind == ContentKind.Text).Select(m => m.Text()));
            return texts.Contains("carol is gone");
        }, TimeSpan.FromSeconds(20), "bob to read the message under the new key");
        Assert.DoesNotContain(carol.Store.History(ChatId.Group(group)), m => m.Body.Length > 0 && System.Text.Encoding.UTF8.GetString(m.Body.Span) == "carol is gone");
    }

    [Fact]
    public async Task A_device_whose_one_time_prekeys_run_low_tops_them_up_by_itself()
    {
        await using var bob = await DeviceAsync();
        var bobId = bob.Client.Credentials.UserId;
        // 91 fetches by others (each connection may fetch 50 at once) leave bob with 9: the server pushes PreKeyLow.
        var fetchers = await Task.WhenAll(Enumerable.Range(0, 2).Select(async _ => await ConnectAsync(fixture.Node, await RegisterAsync(fixture.Node))));
        try
        {
            for (var i = 0; i < 91; i++)
                await fetchers[i % 2].FetchPreKeyBundlesAsync(bobId);
        }
        finally
        {
            foreach (var f in fetchers)
                await f.DisposeAsync();
        }
        var low = (await bob.Client.NextAsync<PreKeysLow>()).Single();
        Assert.Equal(9u, low.Low.Remaining);
        await Eventually.Until(async () => (await bob.Client.GetPreKeyCountAsync()).OneTimePrekeys == EndToEnd.PreKeyBatch, TimeSpan.FromSeconds(20),
            "bob's device to upload a new batch of one-time prekeys");
        var count = await bob.Client.GetPreKeyCountAsync();
        Assert.Equal(EndToEnd.KemPreKeyBatch, (int)count.OneTimeKemPrekeys);
    }

    [Fact]
    public async Task A_reinstall_is_announced_to_the_users_it_talked_with_whose_next_message_reaches_the_new_install()
    {
        await using var alice = await DeviceAsync();
        await using var carol = await DeviceAsync();
        var bobCredentials = await RegisterAsync(fixture.Node);
        var (aliceId, bobId, carolId) = (alice.Client.Credentials.UserId, bobCredentials.UserId, carol.Client.Credentials.UserId);
        await using (var bob = await DeviceAsync(bobCredentials))
        {
            await alice.SendTextAsync(bobId, "before");
            Assert.Equal("before", (await NextTextAsync(bob)).Text());
        }

        await using var reinstalled = await DeviceAsync(bobCredentials, install: "-reinstalled");
        // Alice, who talked with bob, is told (the server's SYSTEM message; her SDK: the security code changed).
        var changed = (await alice.Client.NextAsync<SecurityCodeChanged>()).Single();
        Assert.Equal((bobId, 1u), (changed.UserId, changed.DeviceId));
        var notice = (await alice.Client.NextAsync<MessageReceived>()).Single().Deliver;
        Assert.Equal((ContentKind.System, bobId, 1u), (notice.Kind, notice.System.IdentityKeyChanged.UserId, notice.System.IdentityKeyChanged.DeviceId));
        Assert.Equal(reinstalled.Keys.Identity.PublicKey, notice.System.IdentityKeyChanged.IdentityKey.ToByteArray());
        Assert.Contains(alice.Keys.Identities(bobId), i => i.Changed && i.IdentityKey.AsSpan().SequenceEqual(reinstalled.Keys.Identity.PublicKey));

        // Her session with the old install is gone: her next message starts one with the new install.
        await alice.SendTextAsync(bobId, "after");
        // (The new install may first get "before" again: the old one may have gone before its ack, and alice re-encrypts
        // what the new install could not read.)
        while ((await NextTextAsync(reinstalled)).Text() is var text && text != "after")
            Assert.Equal("before", text);
        await reinstalled.SendTextAsync(aliceId, "new phone");
        Assert.Equal("new phone", (await NextTextAsync(alice)).Text());

        // Carol never talked with bob: the first thing she gets from him is his message, not an announcement (it would
        // have been stored before the reinstall's login was answered).
        await reinstalled.SendTextAsync(carolId, "hello carol");
        var first = (await carol.Client.NextAsync<MessageReceived>()).Single();
        Assert.Equal((ContentKind.Text, "hello carol"), (first.Deliver.Kind, first.Text()));
    }

    /// <summary>The next message with text (group events come as SYSTEM messages first).</summary>
    private static async Task<MessageReceived> NextTextAsync(Device device)
    {
        while (true)
            if ((await device.Client.NextAsync<MessageReceived>()).Single() is { Deliver.Kind: ContentKind.Text } message)
                return message;
    }

    public void Dispose()
    {
        foreach (var store in _stores)
            store.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }
}
