using System.Collections.Immutable;
using Akka.WhatsApp.Domain.Keys;
using Xunit;
using static Akka.WhatsApp.Domain.Keys.KeyCommands;
using static Akka.WhatsApp.Domain.Keys.KeyReplies;

namespace Akka.WhatsApp.Domain.Tests;

public sealed class KeyStateSpec
{
    private static readonly UserId Ann = new("ann"), Ben = new("ben");
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);
    private static readonly byte[] Identity = [.. Enumerable.Repeat((byte)7, 32)];

    private static PublicKey Key(uint id, bool signed = false) => new(id, [(byte)id, 1, 2], signed ? [9, 9] : null);

    private static Upload First(uint device = 1, int oneTime = 3, int kem = 2, byte[]? identity = null) =>
        new(Ann, new DeviceId(device), identity ?? Identity, 4711, Key(100, signed: true), Key(200, signed: true),
            [.. Enumerable.Range(1, oneTime).Select(i => Key((uint)i))], [.. Enumerable.Range(1, kem).Select(i => Key((uint)(50 + i), signed: true))],
            ReplaceOneTime: false, []);

    private static KeyState Run(KeyState state, IKeyCommand command, out IKeyReply reply)
    {
        var (r, events) = state.Decide(command, Now);
        reply = r;
        return events.Aggregate(state, (s, e) => s.Apply(e));
    }

    private static FetchBundles Fetch(params uint[] current) => new(Ann, Ben, [], [.. current]);

    [Fact]
    public void Each_one_time_prekey_is_handed_out_once_then_the_bundle_has_none_and_the_last_resort_KEM_key()
    {
        var state = Run(KeyState.Empty, First(oneTime: 2, kem: 1), out var count);
        Assert.Equal(new Count(2, 100, 1, 200, NewIdentity: true), count);

        state = Run(state, Fetch(1), out var first);
        state = Run(state, Fetch(1), out var second);
        state = Run(state, Fetch(1), out var third);
        var bundles = new[] { first, second, third }.Select(r => Assert.Single(((Bundles)r).List)).ToList();
        Assert.Equal([1u, 2u, null], bundles.Select(b => b.OneTime?.KeyId));
        Assert.Equal([51u, 200u, 200u], bundles.Select(b => b.Kem.KeyId));
        Assert.Equal([false, true, true], bundles.Select(b => b.KemIsLastResort));
        Assert.All(bundles, b => Assert.Equal((4711u, 100u), (b.Keys.RegistrationId, b.Keys.SignedPreKey.KeyId)));
        Assert.Equal(new Count(0, 100, 0, 200), state.CountOf(1));
    }

    [Fact]
    public void Keys_of_a_device_the_account_no_longer_has_are_dropped_not_served()
    {
        var state = Run(KeyState.Empty, First(device: 1), out _);
        state = Run(state, First(device: 2), out _);
        var (reply, events) = state.Decide(Fetch(1), Now);
        Assert.Equal([1u], ((Bundles)reply).List.Select(b => b.Device));
        Assert.Contains(events, e => e is KeyEvents.Dropped { Devices: [2u] });

        var (identities, _) = state.Decide(new GetIdentities(Ann, [2]), Now);
        Assert.Equal([2u], ((Identities)identities).Devices.Select(d => d.Device));
    }

    [Fact]
    public void A_requested_device_list_is_limited_to_the_current_devices()
    {
        var state = Run(Run(KeyState.Empty, First(device: 1), out _), First(device: 3), out _);
        var (reply, _) = state.Decide(new FetchBundles(Ann, Ben, [3, 9], [1, 3]), Now);
        Assert.Equal([3u], ((Bundles)reply).List.Select(b => b.Device));
    }

    [Fact]
    public void The_first_upload_needs_an_identity_key_a_signed_prekey_and_a_last_resort_KEM_prekey()
    {
        Assert.IsType<Rejected>(KeyState.Empty.Decide(First() with { IdentityKey = [] }, Now).Reply);
        Assert.IsType<Rejected>(KeyState.Empty.Decide(First() with { SignedPreKey = null }, Now).Reply);
        Assert.IsType<Rejected>(KeyState.Empty.Decide(First() with { KemLastResort = null }, Now).Reply);
    }

    [Fact]
    public void A_later_upload_adds_one_time_keys_and_a_new_identity_key_replaces_everything_of_the_old_install()
    {
        var state = Run(KeyState.Empty, First(oneTime: 3, kem: 2), out _);
        state = Run(state, new Upload(Ann, DeviceId.Primary, [], 4711, null, null, [Key(10)], [], false, []), out var added);
        Assert.Equal(new Count(4, 100, 2, 200), added); // the same identity: nothing to tell

        var reinstall = First(oneTime: 1, kem: 0, identity: [.. Enumerable.Repeat((byte)8, 32)]) with { RegistrationId = 99 };
        state = Run(state, reinstall, out var replaced);
        Assert.Equal(new Count(1, 100, 0, 200, NewIdentity: true), replaced); // the edge tells the device's contacts
        Assert.Equal((byte)8, state.Devices[1].IdentityKey[0]);
        Assert.Equal(99u, state.Devices[1].RegistrationId);

        // A later upload without a registration id (one-time prekeys only) keeps the install's.
        state = Run(state, new Upload(Ann, DeviceId.Primary, [], 0, null, null, [Key(11)], [], false, []), out _);
        Assert.Equal(99u, state.Devices[1].RegistrationId);
    }

    [Fact]
    public void Replacing_one_time_prekeys_drops_the_stored_ones_but_keeps_the_KEM_ones()
    {
        var state = Run(KeyState.Empty, First(oneTime: 3, kem: 2), out _);
        state = Run(state, new Upload(Ann, DeviceId.Primary, [], 4711, null, null, [Key(1), Key(2)], [], ReplaceOneTime: true, []), out var count);
        Assert.Equal(new Count(2, 100, 2, 200), count);
    }

    [Fact]
    public void Uploads_are_bounded_per_request_and_per_device_and_key_ids_are_unique()
    {
        Assert.IsType<Rejected>(KeyState.Empty.Decide(First(oneTime: KeyState.MaxOneTimePerUpload + 1), Now).Reply);
        Assert.IsType<Rejected>(KeyState.Empty.Decide(First(kem: KeyState.MaxOneTimeKemPerUpload + 1), Now).Reply);
        Assert.IsType<Rejected>(KeyState.Empty.Decide(First() with { OneTime = [Key(1), Key(1)] }, Now).Reply);

        var state = KeyState.Empty;
        for (var i = 0; i < KeyState.MaxOneTime / KeyState.MaxOneTimePerUpload; i++)
        {
            var batch = Enumerable.Range(i * 100 + 1, 100).Select(n => Key((uint)n)).ToImmutableArray();
            state = Run(state, (i == 0 ? First(oneTime: 0, kem: 0) : new Upload(Ann, DeviceId.Primary, [], 4711, null, null, [], [], false, [])) with { OneTime = batch },
                out var reply);
            Assert.IsType<Count>(reply);
        }
        var (full, events) = state.Decide(new Upload(Ann, DeviceId.Primary, [], 4711, null, null, [Key(9999)], [], false, []), Now);
        Assert.Contains("at most", Assert.IsType<Rejected>(full).Reason);
        Assert.Empty(events);
        Assert.IsType<Rejected>(state.Decide(new Upload(Ann, DeviceId.Primary, [], 4711, null, null, [Key(5)], [], false, []), Now).Reply);
    }
}
