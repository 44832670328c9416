using Akka.WhatsApp.Client;
using Akka.WhatsApp.Host;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;
using NSec.Cryptography;
using Xunit;
using static Akka.WhatsApp.Integration.Tests.TestUsers;

namespace Akka.WhatsApp.Integration.Tests;

public sealed class PostgresKeysNode() : MessagingNode(JournalKind.Postgres);

/// <summary>
/// The key directory over real TCP on a PostgreSQL journal (PROTOCOL.md §13): signatures checked with real Ed25519
/// keys, one-time prekeys handed out once to concurrent senders, the last-resort KEM key after that, PreKeyLow.
/// </summary>
public sealed class KeysSpec(PostgresKeysNode fixture) : IClassFixture<PostgresKeysNode>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private WhatsAppNode Node => fixture.Node;

    /// <summary>A device's first upload: identity, signed prekey, last-resort KEM prekey, and one-time prekeys 1..n.</summary>
    private static UploadKeys FirstUpload(Key identity, int oneTime, int oneTimeKem = 0)
    {
        var upload = new UploadKeys
        {
            IdentityKey = ByteString.CopyFrom(identity.PublicKey.Export(KeyBlobFormat.RawPublicKey)),
            RegistrationId = 4711,
            SignedPrekey = new SignedPreKey { KeyId = 1, PublicKey = Random(32) },
            KemLastResortPrekey = new KemPreKey { KeyId = 1000, PublicKey = Random(1568) },
        };
        upload.SignedPrekey.Signature = Sign(identity, upload.SignedPrekey.PublicKey);
        upload.KemLastResortPrekey.Signature = Sign(identity, upload.KemLastResortPrekey.PublicKey);
        upload.OneTimePrekeys.AddRange(Enumerable.Range(1, oneTime).Select(i => new PreKey { KeyId = (uint)i, PublicKey = Random(32) }));
        upload.OneTimeKemPrekeys.AddRange(Enumerable.Range(1, oneTimeKem).Select(i =>
        {
            var key = Random(1568);
            return new KemPreKey { KeyId = (uint)(2000 + i), PublicKey = key, Signature = Sign(identity, key) };
        }));
        return upload;
    }

    private static ByteString Random(int size) => ByteString.CopyFrom(System.Security.Cryptography.RandomNumberGenerator.GetBytes(size));

    private static ByteString Sign(Key identity, ByteString data) => ByteString.CopyFrom(SignatureAlgorithm.Ed25519.Sign(identity, data.Span));

    [Fact]
    public async Task Concurrent_senders_get_each_one_time_prekey_once_then_bundles_without_one_and_the_last_resort_KEM_key()
    {
        var alice = await RegisterAsync(Node);
        using var identity = Key.Create(SignatureAlgorithm.Ed25519);
        await using (var a = await ConnectAsync(Node, alice))
        {
            var count = await a.UploadKeysAsync(FirstUpload(identity, oneTime: 6, oneTimeKem: 2));
            Assert.Equal((6u, 1u, 2u, 1000u), (count.OneTimePrekeys, count.SignedPrekeyId, count.OneTimeKemPrekeys, count.KemLastResortPrekeyId));
        }

        var senders = await Task.WhenAll(Enumerable.Range(0, 2).Select(async _ => await ConnectAsync(Node, await RegisterAsync(Node))));
        try
        {
            // Two senders on two connections, four fetches each at once: eight bundles for six one-time keys.
            var bundles = (await Task.WhenAll(senders.SelectMany(s => Enumerable.Range(0, 4).Select(_ => s.FetchPreKeyBundlesAsync(alice.UserId)))))
                .Select(b => Assert.Single(b.Bundles)).ToList();
            var handedOut = bundles.Where(b => b.OneTimePrekey is not null).Select(b => b.OneTimePrekey.KeyId).ToList();
            Assert.Equal([1u, 2u, 3u, 4u, 5u, 6u], handedOut.Order());
            Assert.Equal(2, bundles.Count(b => b.OneTimePrekey is null));
            Assert.Equal([2001u, 2002u], bundles.Where(b => !b.KemPrekeyLastResort).Select(b => b.KemPrekey.KeyId).Order());
            Assert.All(bundles.Where(b => b.KemPrekeyLastResort), b => Assert.Equal(1000u, b.KemPrekey.KeyId));
            Assert.All(bundles, b => Assert.Equal((1u, 4711u, identity.PublicKey.Export(KeyBlobFormat.RawPublicKey).Length),
                (b.DeviceId, b.RegistrationId, b.IdentityKey.Length)));
            // What a sender gets verifies against the identity key it came with.
            var b0 = bundles[0];
            var key = NSec.Cryptography.PublicKey.Import(SignatureAlgorithm.Ed25519, b0.IdentityKey.Span, KeyBlobFormat.RawPublicKey);
            Assert.True(SignatureAlgorithm.Ed25519.Verify(key, b0.SignedPrekey.PublicKey.Span, b0.SignedPrekey.Signature.Span));
        }
        finally
        {
            foreach (var s in senders)
                await s.DisposeAsync();
        }

        await using var again = await ConnectAsync(Node, alice);
        var left = await again.GetPreKeyCountAsync();
        Assert.Equal((0u, 0u, 1000u), (left.OneTimePrekeys, left.OneTimeKemPrekeys, left.KemLastResortPrekeyId));
    }

    [Fact]
    public async Task A_prekey_not_signed_by_the_identity_key_is_refused_and_nothing_is_stored()
    {
        var alice = await RegisterAsync(Node);
        using var identity = Key.Create(SignatureAlgorithm.Ed25519);
        using var impostor = Key.Create(SignatureAlgorithm.Ed25519);
        await using var a = await ConnectAsync(Node, alice);
        var forged = FirstUpload(identity, oneTime: 3);
        forged.SignedPrekey.Signature = Sign(impostor, forged.SignedPrekey.PublicKey);

        var refused = await Assert.ThrowsAsync<ServerErrorException>(() => a.UploadKeysAsync(forged));
        Assert.Equal(ErrorCode.InvalidSignature, refused.Code);
        Assert.Equal(0u, (await a.GetPreKeyCountAsync()).OneTimePrekeys);
        await using var bob = await ConnectAsync(Node, await RegisterAsync(Node));
        Assert.Empty((await bob.FetchPreKeyBundlesAsync(alice.UserId)).Bundles);
    }

    [Fact]
    public async Task A_device_whose_keys_run_low_is_told_and_anyone_may_read_the_identity_keys()
    {
        var alice = await RegisterAsync(Node);
        using var identity = Key.Create(SignatureAlgorithm.Ed25519);
        await using var a = await ConnectAsync(Node, alice);
        await a.UploadKeysAsync(FirstUpload(identity, oneTime: 11));
        await using var bob = await ConnectAsync(Node, await RegisterAsync(Node));

        await bob.FetchPreKeyBundlesAsync(alice.UserId); // 10 left: not low yet
        await bob.FetchPreKeyBundlesAsync(alice.UserId); // 9 left
        var low = Assert.Single(await a.NextAsync<PreKeysLow>(timeout: Wait));
        Assert.Equal((9u, 100u), (low.Low.Remaining, low.Low.RecommendedUpload));

        var identities = await bob.GetIdentityKeysAsync(alice.UserId);
        Assert.Equal(identity.PublicKey.Export(KeyBlobFormat.RawPublicKey), Assert.Single(identities.Devices).IdentityKey.ToByteArray());
        var unknown = await Assert.ThrowsAsync<ServerErrorException>(() => bob.GetIdentityKeysAsync("nobody-at-all"));
        Assert.Equal(ErrorCode.NotFound, unknown.Code);
    }

    [Fact]
    public async Task A_send_encrypted_for_another_install_of_a_device_is_refused_as_stale_until_the_sender_uses_the_current_one()
    {
        var alice = await RegisterAsync(Node);
        using var install = Key.Create(SignatureAlgorithm.Ed25519);
        await using var a = await ConnectAsync(Node, alice);
        await a.UploadKeysAsync(FirstUpload(install, oneTime: 1)); // registration id 4711
        await using var bob = await ConnectAsync(Node, await RegisterAsync(Node));

        Task<Frame> SendAsync(uint registrationId) => bob.RequestAsync(new Frame
        {
            Send = new Send
            {
                MessageId = ByteString.CopyFrom(Guid.NewGuid().ToByteArray()), ToUserId = alice.UserId, Kind = ContentKind.Text,
                Ciphertexts = { new DeviceCiphertext { DeviceId = 1, RegistrationId = registrationId, Ciphertext = Random(40), Type = CiphertextType.SignalMessage } },
            },
        });

        Assert.Equal(Frame.PacketOneofCase.SendResult, (await SendAsync(4711)).PacketCase);
        Assert.Equal(Frame.PacketOneofCase.SendResult, (await SendAsync(0)).PacketCase); // 0: not checked

        // Alice reinstalls: a new identity and registration id. Bob's session is for the old install.
        using var reinstall = Key.Create(SignatureAlgorithm.Ed25519);
        var upload = FirstUpload(reinstall, oneTime: 1);
        upload.RegistrationId = 815;
        await a.UploadKeysAsync(upload);
        var stale = await Assert.ThrowsAsync<ServerErrorException>(() => SendAsync(4711));
        Assert.Equal(ErrorCode.StaleDevices, stale.Code);
        var devices = Assert.Single(stale.Error.StaleDevices);
        Assert.Equal(alice.UserId, devices.UserId);
        Assert.Equal([1u], devices.StaleDeviceIds.ToArray());
        Assert.Empty(devices.MissingDeviceIds);
        Assert.Empty(devices.ExtraDeviceIds);
        Assert.Equal(815u, Assert.Single((await bob.FetchPreKeyBundlesAsync(alice.UserId)).Bundles).RegistrationId);
        Assert.Equal(Frame.PacketOneofCase.SendResult, (await SendAsync(815)).PacketCase);

        // An upload of one-time prekeys alone (registration id 0) changes nothing of it.
        await a.UploadKeysAsync(new UploadKeys { OneTimePrekeys = { new PreKey { KeyId = 77, PublicKey = Random(32) } } });
        Assert.Equal(Frame.PacketOneofCase.SendResult, (await SendAsync(815)).PacketCase);
        Assert.Equal(815u, Assert.Single((await bob.FetchPreKeyBundlesAsync(alice.UserId)).Bundles).RegistrationId);
    }

    [Fact]
    public async Task A_per_device_group_message_must_cover_every_member_device_at_its_current_install()
    {
        var (alice, bob, carol) = (await RegisterAsync(Node), await RegisterAsync(Node), await RegisterAsync(Node));
        using var bobsInstall = Key.Create(SignatureAlgorithm.Ed25519);
        await using var b = await ConnectAsync(Node, bob);
        await b.UploadKeysAsync(FirstUpload(bobsInstall, oneTime: 1)); // registration id 4711; carol never publishes keys
        await using var a = await ConnectAsync(Node, alice);
        var group = (await a.CreateGroupAsync("per device", [bob.UserId, carol.UserId])).Group.GroupId;
        var id = ByteString.CopyFrom(Guid.NewGuid().ToByteArray());

        Task<Frame> PostAsync(params (string User, uint Device, uint Registration)[] to) => SendAsync(false, to);
        Task<Frame> SendAsync(bool resend, params (string User, uint Device, uint Registration)[] to)
        {
            var items = new RecipientCiphertexts();
            items.Items.AddRange(to.Select(t => new RecipientCiphertext
            {
                UserId = t.User,
                Device = new DeviceCiphertext { DeviceId = t.Device, RegistrationId = t.Registration, Ciphertext = Random(40), Type = CiphertextType.SignalMessage },
            }));
            return a.RequestAsync(new Frame { GroupSend = new GroupSend { GroupId = group, MessageId = id, Kind = ContentKind.Text, PerDevice = items, Resend = resend } });
        }

        async Task<Dictionary<string, StaleDevices>> RefusedAsync(params (string, uint, uint)[] to)
        {
            var refused = await Assert.ThrowsAsync<ServerErrorException>(() => PostAsync(to));
            Assert.Equal(ErrorCode.StaleDevices, refused.Code);
            return refused.Error.StaleDevices.ToDictionary(s => s.UserId);
        }

        // Carol got nothing: her device 1 is missing. Bob's is there, but for another install.
        var stale = await RefusedAsync((bob.UserId, 1, 815));
        Assert.Equal(new[] { bob.UserId, carol.UserId }.Order(), stale.Keys.Order());
        Assert.Equal("missing [] extra [] stale [1]", Lists(stale[bob.UserId]));
        Assert.Equal("missing [1] extra [] stale []", Lists(stale[carol.UserId]));
        // A device that does not exist is extra; any registration id is stale for a device that published no keys.
        stale = await RefusedAsync((bob.UserId, 1, 4711), (bob.UserId, 2, 0), (carol.UserId, 1, 9));
        Assert.Equal("missing [] extra [2] stale []", Lists(stale[bob.UserId]));
        Assert.Equal("missing [] extra [] stale [1]", Lists(stale[carol.UserId]));
        Assert.DoesNotContain(bob.UserId, (await RefusedAsync((bob.UserId, 1, 4711))).Keys);

        // The complete list is taken (0: not checked); a retry of it is its duplicate whatever it carries now.
        var posted = (await PostAsync((bob.UserId, 1, 4711), (carol.UserId, 1, 0))).GroupSendResult;
        Assert.False(posted.Duplicate);
        var retry = (await PostAsync((bob.UserId, 1, 815))).GroupSendResult;
        Assert.Equal((true, posted.GroupSeq), (retry.Duplicate, retry.GroupSeq));
        var got = await b.NextAsync<MessageReceived>(2, Wait); // the group's creation, then the message
        Assert.Equal((ContentKind.System, ContentKind.Text), (got[0].Deliver.Kind, got[1].Deliver.Kind));
        Assert.Equal(id, got[1].Deliver.MessageId);

        // A resend goes to the devices it names only, but each for its current install.
        var resend = await Assert.ThrowsAsync<ServerErrorException>(() => SendAsync(true, (bob.UserId, 1, 815)));
        Assert.Equal("missing [] extra [] stale [1]", Lists(Assert.Single(resend.Error.StaleDevices)));
        Assert.Equal(posted.GroupSeq, (await SendAsync(true, (bob.UserId, 1, 4711))).GroupSendResult.GroupSeq);
    }

    private static string Lists(StaleDevices s) =>
        $"missing [{string.Join(",", s.MissingDeviceIds)}] extra [{string.Join(",", s.ExtraDeviceIds)}] stale [{string.Join(",", s.StaleDeviceIds)}]";

    [Fact]
    public async Task A_device_that_logs_in_with_few_one_time_prekeys_left_is_told_after_the_login()
    {
        var alice = await RegisterAsync(Node);
        using var identity = Key.Create(SignatureAlgorithm.Ed25519);
        await using (var first = await ConnectAsync(Node, alice))
            await first.UploadKeysAsync(FirstUpload(identity, oneTime: 4));

        await using var again = await ConnectAsync(Node, alice);
        var low = Assert.Single(await again.NextAsync<PreKeysLow>(timeout: Wait));
        Assert.Equal((4u, 100u), (low.Low.Remaining, low.Low.RecommendedUpload));
    }
}
