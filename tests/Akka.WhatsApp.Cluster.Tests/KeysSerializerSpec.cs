using Akka.WhatsApp.Cluster.Keys;
using Akka.WhatsApp.Cluster.Serialization;
using Akka.WhatsApp.Domain;
using Akka.WhatsApp.Domain.Keys;
using Xunit;

namespace Akka.WhatsApp.Cluster.Tests;

public sealed class KeysSerializerSpec() : Akka.TestKit.Xunit2.TestKit(ClusterSerialization.Config)
{
    private static readonly UserId Ann = new("ann"), Ben = new("ben");
    private static readonly PublicKey Signed = new(7, [1, 2, 3], [4, 5]), Kem = new(8, [6, 7], [8, 9]), OneTime = new(9, [10]);

    private static readonly KeyEvents.Uploaded First = new(new DeviceId(2), [1, 1, 1], 4711, Signed, Kem, [OneTime, new PublicKey(10, [11])], [Kem with { KeyId = 20 }],
        ReplaceOneTime: false, [3, 3], NewIdentity: true);

    private static readonly KeyState Snapshot = KeyState.Empty.Apply(First).Apply(First with { Device = DeviceId.Primary, AccountSignature = [] });

    private static readonly object[] Persisted =
    [
        First,
        First with { SignedPreKey = null, KemLastResort = null, OneTimeKem = [], NewIdentity = false },
        new KeyEvents.Taken([new TakenKeys(2, 9, 20), new TakenKeys(1, null, null), new TakenKeys(3, 4, null)]),
        new KeyEvents.Dropped([3, 4]),
        Snapshot,
    ];

    private static readonly object[] Remote =
    [
        new KeyCommands.Upload(Ann, new DeviceId(2), [1], 5, Signed, null, [OneTime], [], ReplaceOneTime: true, []),
        new KeyCommands.FetchBundles(Ann, Ben, [1, 2], [1, 2, 3]),
        new KeyCommands.GetCount(Ann, new DeviceId(2)),
        new KeyCommands.GetIdentities(Ann, [1, 2]),
        new KeyReplies.Count(3, 7, 1, 8),
        new KeyReplies.Count(100, 1, 20, 1000, NewIdentity: true),
        new KeyReplies.Bundles([new KeyBundle(2, Snapshot.Devices[2], OneTime, Kem, false, 4), new KeyBundle(1, Snapshot.Devices[1], null, Kem, true)]),
        new KeyReplies.Identities([new DeviceIdentity(1, [1]), new DeviceIdentity(2, [2])]),
        new KeyReplies.Rejected(KeyError.InvalidArgument, "why"),
        new KeyNotices.Low(Ann, new DeviceId(2), 3),
    ];

    public static IEnumerable<object[]> All => Persisted.Concat(Remote).Select(m => new[] { m });

    [Theory]
    [MemberData(nameof(All))]
    public void Every_key_type_is_bound_to_the_keys_serializer_and_round_trips(object message)
    {
        var serializer = (ProtobufSerializer)Sys.Serialization.FindSerializerFor(message);
        Assert.Equal(KeysSerializer.Id, serializer.Identifier);
        var back = serializer.FromBinary(serializer.ToBinary(message), serializer.Manifest(message));
        Assert.Equal(Describe.Of(message), Describe.Of(back));
    }

    [Fact]
    public void A_snapshot_restores_a_state_that_hands_out_the_same_keys()
    {
        var serializer = (ProtobufSerializer)Sys.Serialization.FindSerializerFor(Snapshot);
        var back = (KeyState)serializer.FromBinary(serializer.ToBinary(Snapshot), serializer.Manifest(Snapshot));
        var fetch = new KeyCommands.FetchBundles(Ann, Ben, [], [1, 2]);
        Assert.Equal(Describe.Of(Snapshot.Decide(fetch, DateTimeOffset.UnixEpoch)), Describe.Of(back.Decide(fetch, DateTimeOffset.UnixEpoch)));
    }

    [Fact]
    public void Persisted_manifests_and_the_serializer_id_never_change()
    {
        var serializer = (ProtobufSerializer)Sys.Serialization.FindSerializerFor(First);
        Assert.Equal(115, serializer.Identifier);
        Assert.Equal(["KU", "KU", "KT", "KD", "KS"], Persisted.Select(serializer.Manifest));
    }

    [Fact]
    public void Every_manifest_of_the_serializer_is_round_tripped_here()
    {
        var serializer = (ProtobufSerializer)Sys.Serialization.FindSerializerFor(First);
        var covered = Persisted.Concat(Remote).Select(serializer.Manifest).ToHashSet();
        Assert.All(serializer.Manifests, m => Assert.True(covered.Contains(m), $"manifest '{m}' has no round-trip case"));
    }
}
