using System.Security.Cryptography;
using Akka.WhatsApp.Client.Crypto;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;
using Xunit;

namespace Akka.WhatsApp.Client.Tests.Crypto;

/// <summary>
/// The session protocol between devices, without a server: PQXDH from a bundle as the key directory would hand it
/// out, the Double Ratchet, sender keys and safety numbers, each device with its own key store on disk.
/// </summary>
public sealed class EndToEndSpec : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("wa-e2e-").FullName;
    private readonly List<KeyStore> _stores = [];
    private static readonly DateTimeOffset Now = new(2026, 12, 3, 8, 0, 0, TimeSpan.Zero);

    private sealed record Device(string User, uint Id, EndToEnd E2e, UploadKeys Published)
    {
        private int _nextOneTime;
        private int _nextKem;

        /// <summary>A bundle as the server hands it out: each one-time key once, then none (and the last-resort KEM key).</summary>
        public PreKeyBundle Bundle()
        {
            var bundle = new PreKeyBundle
            {
                DeviceId = Id, RegistrationId = Published.RegistrationId, IdentityKey = Published.IdentityKey, SignedPrekey = Published.SignedPrekey,
            };
            if (_nextOneTime < Published.OneTimePrekeys.Count)
                bundle.OneTimePrekey = Published.OneTimePrekeys[_nextOneTime++];
            if (_nextKem < Published.OneTimeKemPrekeys.Count)
                bundle.KemPrekey = Published.OneTimeKemPrekeys[_nextKem++];
            else
                (bundle.KemPrekey, bundle.KemPrekeyLastResort) = (Published.KemLastResortPrekey, true);
            return bundle;
        }

        public void Exhaust() => (_nextOneTime, _nextKem) = (Published.OneTimePrekeys.Count, Published.OneTimeKemPrekeys.Count);
    }

    private Device NewDevice(string user, uint id = 1, string? name = null)
    {
        var store = KeyStore.Open(Path.Combine(_folder, $"{name ?? user}-{id}-{Guid.NewGuid():N}.db"));
        _stores.Add(store);
        var e2e = new EndToEnd(store, user, id);
        return new Device(user, id, e2e, e2e.FullUpload(Now));
    }

    private static E2eContent Text(string text) => new() { Body = ByteString.CopyFromUtf8(text) };

    private static DeviceCiphertext Send(Device from, Device to, string text)
    {
        if (!from.E2e.HasSession(to.User, to.Id))
            from.E2e.Start(to.User, to.Bundle());
        return from.E2e.Encrypt(to.User, to.Id, Text(text));
    }

    private static string Receive(Device at, Device from, DeviceCiphertext c)
    {
        var decrypted = at.E2e.Decrypt(from.User, from.Id, c.Type, c.Ciphertext);
        at.E2e.Commit();
        return decrypted.Content.Body.ToStringUtf8();
    }

    [Fact]
    public void Top_ups_and_rotations_carry_the_identity_and_registration_id_the_server_requires_with_signed_keys()
    {
        var bob = NewDevice("bob");
        Assert.Null(bob.E2e.Replenish(new PreKeyCount { OneTimePrekeys = 60, OneTimeKemPrekeys = 15 })); // not low yet
        var topUp = bob.E2e.Replenish(new PreKeyCount { OneTimePrekeys = 9, OneTimeKemPrekeys = 0 })!;
        Assert.Equal((bob.Published.IdentityKey, bob.Published.RegistrationId), (topUp.IdentityKey, topUp.RegistrationId));
        Assert.Equal((EndToEnd.PreKeyBatch - 9, EndToEnd.KemPreKeyBatch), (topUp.OneTimePrekeys.Count, topUp.OneTimeKemPrekeys.Count));
        Assert.Null(bob.E2e.RotateSignedPreKey(Now.AddDays(6)));
        var rotation = bob.E2e.RotateSignedPreKey(Now.AddDays(7))!;
        Assert.Equal((bob.Published.IdentityKey, bob.Published.RegistrationId), (rotation.IdentityKey, rotation.RegistrationId));
        Assert.NotEqual(bob.Published.SignedPrekey.KeyId, rotation.SignedPrekey.KeyId);
    }

    [Fact]
    public void Two_devices_talk_both_ways_and_the_first_reply_ends_the_prekey_messages()
    {
        var alice = NewDevice("alice");
        var bob = NewDevice("bob");
        var first = Send(alice, bob, "hi bob");
        Assert.Equal(CiphertextType.PrekeyMessage, first.Type);
        Assert.Equal(bob.Published.RegistrationId, first.RegistrationId);
        var second = Send(alice, bob, "still there?");
        Assert.Equal(CiphertextType.PrekeyMessage, second.Type);
        Assert.Equal("hi bob", Receive(bob, alice, first));
        Assert.Equal("still there?", Receive(bob, alice, second));
        var reply = Send(bob, alice, "hi alice");
        Assert.Equal(CiphertextType.SignalMessage, reply.Type);
        Assert.Equal("hi alice", Receive(alice, bob, reply));
        var third = Send(alice, bob, "good");
        Assert.Equal(CiphertextType.SignalMessage, third.Type);
        Assert.Equal("good", Receive(bob, alice, third));
        // No plaintext in the ciphertext bytes.
        Assert.DoesNotContain("good", System.Text.Encoding.UTF8.GetString(third.Ciphertext.ToByteArray()));
    }

    [Fact]
    public void Two_devices_that_start_sessions_with_each_other_at_once_settle_on_one_and_lose_nothing()
    {
        var alice = NewDevice("alice");
        var bob = NewDevice("bob");
        var fromAlice = Send(alice, bob, "hi bob");
        var fromBob = Send(bob, alice, "hi alice");
        Assert.Equal((CiphertextType.PrekeyMessage, CiphertextType.PrekeyMessage), (fromAlice.Type, fromBob.Type));
        // Crossing in flight: each side takes the other's prekey message, which replaces the session it had started.
        Assert.Equal("hi bob", Receive(bob, alice, fromAlice));
        Assert.Equal("hi alice", Receive(alice, bob, fromBob));
        for (var i = 0; i < 5; i++)
        {
            var a = Send(alice, bob, $"a{i}");
            var b = Send(bob, alice, $"b{i}");
            Assert.Equal($"a{i}", Receive(bob, alice, a));
            Assert.Equal($"b{i}", Receive(alice, bob, b));
        }
        // Messages still under an earlier session decrypt too.
        var late = Send(alice, bob, "late");
        Assert.Equal("late", Receive(bob, alice, late));
    }

    [Fact]
    public void A_hundred_messages_delivered_in_random_order_all_decrypt_and_a_replay_is_refused()
    {
        var alice = NewDevice("alice");
        var bob = NewDevice("bob");
        Assert.Equal("0", Receive(bob, alice, Send(alice, bob, "0")));
        Assert.Equal("r", Receive(alice, bob, Send(bob, alice, "r")));
        // Across DH steps too: bob answers in between, alice's chain changes every time she hears from him.
        var sent = new List<(int N, DeviceCiphertext C)>();
        for (var i = 1; i <= 100; i++)
        {
            sent.Add((i, Send(alice, bob, i.ToString(System.Globalization.CultureInfo.InvariantCulture))));
            if (i % 25 == 0)
                Assert.Equal($"ack {i}", Receive(alice, bob, Send(bob, alice, $"ack {i}")));
        }
        var shuffled = sent.OrderBy(_ => Random.Shared.Next()).ToList();
        foreach (var (n, c) in shuffled)
            Assert.Equal(n.ToString(System.Globalization.CultureInfo.InvariantCulture), Receive(bob, alice, c));
        foreach (var (_, c) in shuffled.Take(5))
            Assert.ThrowsAny<CryptographicException>(() => Receive(bob, alice, c));
        Assert.Equal("after", Receive(bob, alice, Send(alice, bob, "after")));
    }

    [Fact]
    public void A_lost_message_does_not_stop_the_ones_after_it_and_decrypts_when_it_arrives_late()
    {
        var alice = NewDevice("alice");
        var bob = NewDevice("bob");
        Assert.Equal("hello", Receive(bob, alice, Send(alice, bob, "hello")));
        var lost = Send(alice, bob, "lost");
        Assert.Equal("next", Receive(bob, alice, Send(alice, bob, "next")));
        Assert.Equal("back", Receive(alice, bob, Send(bob, alice, "back")));
        Assert.Equal("lost", Receive(bob, alice, lost));
    }

    [Fact]
    public void A_forged_or_altered_ciphertext_is_refused_and_leaves_the_session_working()
    {
        var alice = NewDevice("alice");
        var bob = NewDevice("bob");
        Assert.Equal("one", Receive(bob, alice, Send(alice, bob, "one")));
        Assert.Equal("two", Receive(alice, bob, Send(bob, alice, "two")));
        var good = Send(alice, bob, "three");
        var message = RatchetMessage.Parser.ParseFrom(good.Ciphertext);
        var bytes = message.Ciphertext.ToByteArray();
        bytes[0] ^= 0x80;
        var altered = new DeviceCiphertext { Type = good.Type, Ciphertext = new RatchetMessage { Header = message.Header, Ciphertext = ByteString.CopyFrom(bytes) }.ToByteString() };
        Assert.ThrowsAny<CryptographicException>(() => Receive(bob, alice, altered));
        // A stranger (another identity) cannot speak in alice's name within her session either.
        var mallory = NewDevice("mallory");
        var forged = Send(mallory, bob, "i am alice");
        Assert.ThrowsAny<CryptographicException>(() => bob.E2e.Decrypt("alice", 1, CiphertextType.SignalMessage, PreKeyRatchetMessage.Parser.ParseFrom(forged.Ciphertext).Message.ToByteString()));
        Assert.Equal("three", Receive(bob, alice, good));
    }

    [Fact]
    public void A_message_to_a_session_the_recipient_no_longer_has_fails_and_a_new_session_heals_it()
    {
        var alice = NewDevice("alice");
        var bob = NewDevice("bob");
        Assert.Equal("before", Receive(bob, alice, Send(alice, bob, "before")));
        Assert.Equal("ok", Receive(alice, bob, Send(bob, alice, "ok")));
        // Bob reinstalls: a new identity, new keys, no sessions.
        var bob2 = NewDevice("bob", name: "bob-reinstalled");
        var stale = Send(alice, bob, "to the old install");
        Assert.ThrowsAny<CryptographicException>(() => Receive(bob2, alice, stale));
        // Alice learns it (STALE_DEVICES on the server), forgets the session and starts a new one; the key change shows.
        alice.E2e.Forget("bob", 1);
        // Forgotten: nothing is encrypted to it any more (the client then sets the session up again).
        Assert.Null(alice.E2e.TryEncrypt("bob", 1, Text("lost")));
        Assert.Throws<InvalidOperationException>(() => alice.E2e.Encrypt("bob", 1, Text("lost")));
        Assert.True(alice.E2e.Start("bob", bob2.Bundle()));
        Assert.Equal("again", Receive(bob2, alice, alice.E2e.Encrypt("bob", 1, Text("again"))));
    }

    [Fact]
    public void Without_one_time_prekeys_left_the_session_starts_from_the_signed_and_last_resort_keys()
    {
        var alice = NewDevice("alice");
        var carol = NewDevice("carol");
        var bob = NewDevice("bob");
        bob.Exhaust();
        var bundle = bob.Bundle();
        Assert.Null(bundle.OneTimePrekey);
        Assert.True(bundle.KemPrekeyLastResort);
        alice.E2e.Start("bob", bundle);
        carol.E2e.Start("bob", bob.Bundle());
        var fromAlice = alice.E2e.Encrypt("bob", 1, Text("from alice"));
        var fromCarol = carol.E2e.Encrypt("bob", 1, Text("from carol"));
        Assert.Equal(0u, PreKeyRatchetMessage.Parser.ParseFrom(fromAlice.Ciphertext).OneTimePrekeyId);
        Assert.Equal("from alice", Receive(bob, alice, fromAlice));
        Assert.Equal("from carol", Receive(bob, carol, fromCarol));
        // The last-resort key stays usable; used one-time keys do not.
        Assert.NotNull(bob.E2e.Keys.KemPreKeySeed(bob.Published.KemLastResortPrekey.KeyId));
    }

    [Fact]
    public void A_one_time_prekey_is_deleted_once_used_so_a_second_session_from_it_is_refused()
    {
        var alice = NewDevice("alice");
        var bob = NewDevice("bob");
        var bundle = bob.Bundle();
        alice.E2e.Start("bob", bundle);
        Assert.Equal("x", Receive(bob, alice, alice.E2e.Encrypt("bob", 1, Text("x"))));
        Assert.Null(bob.E2e.Keys.OneTimePreKeySecret(bundle.OneTimePrekey.KeyId));
        Assert.Null(bob.E2e.Keys.KemPreKeySeed(bundle.KemPrekey.KeyId));
        var eve = NewDevice("eve");
        eve.E2e.Start("bob", bundle); // a bundle the server should never have handed out twice
        Assert.ThrowsAny<CryptographicException>(() => Receive(bob, eve, eve.E2e.Encrypt("bob", 1, Text("y"))));
    }

    [Fact]
    public void A_bundle_whose_prekeys_are_not_signed_by_its_identity_is_refused()
    {
        var alice = NewDevice("alice");
        var bob = NewDevice("bob");
        var mallory = NewDevice("mallory");
        var forged = bob.Bundle();
        forged.SignedPrekey = mallory.Published.SignedPrekey;
        Assert.ThrowsAny<CryptographicException>(() => alice.E2e.Start("bob", forged));
        var forgedKem = bob.Bundle();
        forgedKem.KemPrekey = mallory.Published.KemLastResortPrekey;
        Assert.ThrowsAny<CryptographicException>(() => alice.E2e.Start("bob", forgedKem));
        var noKem = bob.Bundle();
        noKem.KemPrekey = null;
        Assert.ThrowsAny<CryptographicException>(() => alice.E2e.Start("bob", noKem));
    }

    [Fact]
    public void Sessions_survive_a_restart_of_both_devices()
    {
        var alice = NewDevice("alice");
        var bob = NewDevice("bob");
        Assert.Equal("a", Receive(bob, alice, Send(alice, bob, "a")));
        Assert.Equal("b", Receive(alice, bob, Send(bob, alice, "b")));
        var aliceAgain = alice with { E2e = new EndToEnd(KeyStore.Open(alice.E2e.Keys.Path), "alice", 1) };
        var bobAgain = bob with { E2e = new EndToEnd(KeyStore.Open(bob.E2e.Keys.Path), "bob", 1) };
        _stores.Add(aliceAgain.E2e.Keys);
        _stores.Add(bobAgain.E2e.Keys);
        Assert.Equal("c", Receive(bobAgain, aliceAgain, aliceAgain.E2e.Encrypt("bob", 1, Text("c"))));
        Assert.Equal("d", Receive(aliceAgain, bobAgain, bobAgain.E2e.Encrypt("alice", 1, Text("d"))));
    }

    [Fact]
    public void A_receiving_step_not_committed_before_a_crash_decrypts_again_after_the_restart()
    {
        var alice = NewDevice("alice");
        var bob = NewDevice("bob");
        var c = Send(alice, bob, "kept");
        Assert.Equal("kept", bob.E2e.Decrypt("alice", 1, c.Type, c.Ciphertext).Content.Body.ToStringUtf8());
        // No Commit: the process dies before the message was stored; the server redelivers it.
        var bobAgain = bob with { E2e = new EndToEnd(KeyStore.Open(bob.E2e.Keys.Path), "bob", 1) };
        _stores.Add(bobAgain.E2e.Keys);
        Assert.Equal("kept", Receive(bobAgain, alice, c));
    }

    [Fact]
    public void A_device_added_mid_conversation_gets_its_own_session_and_reads_from_then_on()
    {
        var alice = NewDevice("alice");
        var bob = NewDevice("bob");
        Assert.Equal("one", Receive(bob, alice, Send(alice, bob, "one")));
        var bobLaptop = NewDevice("bob", 2);
        var toPhone = Send(alice, bob, "two");
        var toLaptop = Send(alice, bobLaptop, "two");
        Assert.Equal("two", Receive(bob, alice, toPhone));
        Assert.Equal("two", Receive(bobLaptop, alice, toLaptop));
        Assert.ThrowsAny<CryptographicException>(() => Receive(bobLaptop, alice, Send(alice, bob, "phone only")));
    }

    [Fact]
    public void Sender_keys_let_members_read_and_a_removed_member_cannot_read_after_the_rotation()
    {
        var alice = NewDevice("alice");
        var bob = NewDevice("bob");
        var carol = NewDevice("carol");
        const string group = "0123456789abcdef0123456789abcdef";
        alice.E2e.OwnSenderKey(group, out var created);
        Assert.True(created);
        void Distribute(params Device[] to)
        {
            var distribution = alice.E2e.OwnSenderKey(group, out _).Distribution(group);
            foreach (var member in to)
            {
                var c = Send(alice, member, "");
                member.E2e.Decrypt("alice", 1, c.Type, c.Ciphertext);
                member.E2e.Accept("alice", 1, distribution);
                member.E2e.Commit();
            }
        }
        string Read(Device member, ByteString message)
        {
            var content = member.E2e.Decrypt("alice", 1, CiphertextType.SenderKeyMessage, message, group).Content.Body.ToStringUtf8();
            member.E2e.Commit();
            return content;
        }
        Distribute(bob, carol);
        var first = alice.E2e.GroupEncrypt(group, Text("hello group"));
        var second = alice.E2e.GroupEncrypt(group, Text("second"));
        Assert.Equal("second", Read(bob, second));
        Assert.Equal("hello group", Read(bob, first));
        Assert.Equal("hello group", Read(carol, first));
        Assert.ThrowsAny<CryptographicException>(() => Read(carol, first)); // a replay
        // The same ciphertext is not accepted as a message of another group.
        Assert.ThrowsAny<CryptographicException>(() => bob.E2e.Decrypt("alice", 1, CiphertextType.SenderKeyMessage, second, "ffffffffffffffffffffffffffffffff"));

        // Carol is removed: alice rotates and gives the new key to bob only.
        alice.E2e.DropOwnSenderKey(group);
        alice.E2e.OwnSenderKey(group, out created);
        Assert.True(created);
        Distribute(bob);
        var after = alice.E2e.GroupEncrypt(group, Text("carol is gone"));
        Assert.Equal("carol is gone", Read(bob, after));
        Assert.ThrowsAny<CryptographicException>(() => Read(carol, after));

        // A member cannot forge alice's group messages: bob's copy of her key cannot sign.
        var bobsCopy = new SenderKeyChain(bob.E2e.Keys.LoadSenderKey(group, "alice", 1)!);
        Assert.Throws<InvalidOperationException>(() => bobsCopy.Encrypt(group, [1]));
    }

    [Fact]
    public void Safety_numbers_are_equal_on_both_sides_and_change_with_a_key()
    {
        var alice = Primitives.Ed25519Public(Primitives.NewEd25519Seed());
        var bob = Primitives.Ed25519Public(Primitives.NewEd25519Seed());
        var bobLaptop = Primitives.Ed25519Public(Primitives.NewEd25519Seed());
        var atAlice = SafetyNumber.Compute("alice", [alice], "bob", [bob, bobLaptop]);
        var atBob = SafetyNumber.Compute("bob", [bobLaptop, bob], "alice", [alice]);
        Assert.Equal(atAlice, atBob);
        Assert.Matches("^([0-9]{5} ){11}[0-9]{5}$", atAlice);
        var reinstalled = Primitives.Ed25519Public(Primitives.NewEd25519Seed());
        Assert.NotEqual(atAlice, SafetyNumber.Compute("alice", [alice], "bob", [reinstalled, bobLaptop]));
        Assert.NotEqual(atAlice, SafetyNumber.Compute("alice", [alice], "bob", [bob]));

        var qr = SafetyNumber.Qr("bob", [bob, bobLaptop], "alice", [alice]);
        Assert.True(SafetyNumber.Matches(SafetyQr.Parser.ParseFrom(qr.ToByteArray()), "alice", [alice], "bob", [bob, bobLaptop]));
        Assert.False(SafetyNumber.Matches(qr, "alice", [alice], "bob", [reinstalled, bobLaptop]));
    }

    [Fact]
    public void A_contact_devices_new_identity_key_is_reported_and_unverifies_it()
    {
        var alice = NewDevice("alice");
        var bob = NewDevice("bob");
        Assert.False(alice.E2e.Start("bob", bob.Bundle()));
        alice.E2e.Keys.MarkVerified("bob", [(1u, bob.Published.IdentityKey.ToByteArray())]);
        Assert.True(alice.E2e.Keys.IsVerified("bob"));
        Assert.False(alice.E2e.Start("bob", bob.Bundle()));
        Assert.True(alice.E2e.Keys.IsVerified("bob"));
        var reinstalled = NewDevice("bob", name: "bob-new");
        Assert.True(alice.E2e.Start("bob", reinstalled.Bundle()));
        Assert.False(alice.E2e.Keys.IsVerified("bob"));
        Assert.True(Assert.Single(alice.E2e.Keys.Identities("bob")).Changed);
    }

    public void Dispose()
    {
        foreach (var store in _stores)
            store.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }
}
