using System.Collections.Immutable;
using Akka.WhatsApp.Cluster.Groups;
using Akka.WhatsApp.Cluster.Serialization;
using Akka.WhatsApp.Domain;
using Akka.WhatsApp.Domain.Groups;
using Akka.WhatsApp.Domain.Mailbox;
using Xunit;
using static Akka.WhatsApp.Domain.Groups.GroupCommands;
using static Akka.WhatsApp.Domain.Groups.GroupEvents;
using static Akka.WhatsApp.Domain.Groups.GroupReplies;

namespace Akka.WhatsApp.Cluster.Tests;

public sealed class GroupSerializerSpec() : Akka.TestKit.Xunit2.TestKit(ClusterSerialization.Config)
{
    private static readonly GroupId G = new("0123456789abcdef0123456789abcdef");
    private static readonly UserId Ann = new("ann"), Ben = new("ben"), Cat = new("cat");
    private static readonly DateTimeOffset When = DateTimeOffset.FromUnixTimeMilliseconds(1_795_000_000_123);
    private static readonly MessageId Id = MessageId.New();
    private static readonly GroupSettings Settings = new(true, false, true);
    private static readonly MessageMeta Meta = new(1, ReplyTo: MessageId.New(), Mentions: ["ben"], ClientTimestamp: 5, Group: G, GroupSeq: 2);
    private static readonly GroupPayload SenderKey = new SenderKeyPayload(new DeviceCiphertext([1, 2], 3));
    private static readonly GroupPayload PerDevice = new PerDevicePayload(ImmutableDictionary<UserId, ImmutableSortedDictionary<uint, DeviceCiphertext>>.Empty
        .Add(Ben, ImmutableSortedDictionary<uint, DeviceCiphertext>.Empty.Add(1, new DeviceCiphertext([9], 2)).Add(2, new DeviceCiphertext([8], 1))));
    private static readonly Changed Created = new(1, GroupState.SystemMessageId(G, 1),
        new GroupChange(GroupChangeType.Created, Ann, [Ben, Cat], "name", "desc", "icon", Settings, 1), When);
    private static readonly GroupView View = GroupState.Empty.Apply(Created).View(G);

    private static readonly object[] Persisted =
    [
        Created,
        new MessagePosted(2, Id, Ben, new DeviceId(2), When, Meta, SenderKey),
        new InviteCreated("abc", When),
        new FannedOut(9),
        new MessagePosted(3, MessageId.New(), Ben, new DeviceId(1), When, Meta, PerDevice),
        new Changed(4, MessageId.New(), new GroupChange(GroupChangeType.MembersRemoved, Ann, [Cat], Version: 2), When),
    ];

    private static readonly object[] Remote =
    [
        new Create(G, Ann, "n", "d", "i", Settings, [Ben], [new MemberResult(Cat, GroupError.NotFound)], 1024),
        new GetInfo(G, Ann),
        new Update(G, Ann, "n", null, "", Settings),
        new Update(G, Ann, null, "d", null, null),
        new ChangeMembers(G, Ann, MemberOperation.Demote, [Ben, Cat], [], 10),
        new Leave(G, Ben),
        new CreateInvite(G, Ann, "s"),
        new RevokeInvite(G, Ann),
        new PreviewInvite(G, "s"),
        new JoinByInvite(G, Cat, "s", 5),
        new Post(G, Ben, new DeviceId(2), Id, Meta, PerDevice),
        new GetRecipientCount(G, Ben, Id),
        new GetPost(G, Ben, Id),
        new Info(View),
        new GroupReplies.Created(View, [new MemberResult(Cat, null), new MemberResult(Ben, GroupError.Forbidden)]),
        new Members([new MemberResult(Cat, GroupError.GroupFull)]),
        new Posted(Id, 4, When, true),
        new Invite("s", When),
        new Preview("n", "d", "i", 3, Ann),
        new RecipientCount(1023),
        GroupReplies.Done.Instance,
        new Rejected(GroupError.NotAdmin, "why"),
    ];

    /// <summary>A state with members, an outbox of both kinds, recent ids and an invite: what a snapshot holds.</summary>
    private static readonly GroupState Snapshot = Persisted.Cast<IGroupEvent>().Take(3).Aggregate(GroupState.Empty, (s, e) => s.Apply(e));

    public static IEnumerable<object[]> All => Persisted.Concat(Remote).Append(Snapshot).Select(m => new[] { m });

    [Theory]
    [MemberData(nameof(All))]
    public void Every_group_type_is_bound_to_the_group_serializer_and_round_trips(object message)
    {
        var serializer = (ProtobufSerializer)Sys.Serialization.FindSerializerFor(message);
        Assert.Equal(GroupSerializer.Id, serializer.Identifier);
        var back = serializer.FromBinary(serializer.ToBinary(message), serializer.Manifest(message));
        Assert.Equal(Describe.Of(message), Describe.Of(back));
    }

    [Fact]
    public void A_snapshot_restores_a_state_that_decides_like_the_original()
    {
        var serializer = (ProtobufSerializer)Sys.Serialization.FindSerializerFor(Snapshot);
        var back = (GroupState)serializer.FromBinary(serializer.ToBinary(Snapshot), serializer.Manifest(Snapshot));
        var post = new Post(G, Cat, DeviceId.Primary, MessageId.New(), new MessageMeta(1), SenderKey);
        Assert.Equal(Describe.Of(Snapshot.Decide(post, When)), Describe.Of(back.Decide(post, When)));
        Assert.Equal(Snapshot.Outbox.Select(p => p.Recipients.Count), back.Outbox.Select(p => p.Recipients.Count));
    }

    [Fact]
    public void Persisted_manifests_and_the_serializer_id_never_change()
    {
        var serializer = (ProtobufSerializer)Sys.Serialization.FindSerializerFor(Persisted[0]);
        Assert.Equal(113, serializer.Identifier);
        Assert.Equal(["GC", "GP", "GI", "GF"], Persisted.Take(4).Select(serializer.Manifest));
        Assert.Equal("GS", serializer.Manifest(Snapshot));
    }

    [Fact]
    public void Every_manifest_of_the_serializer_is_round_tripped_here()
    {
        var serializer = (ProtobufSerializer)Sys.Serialization.FindSerializerFor(Persisted[0]);
        var covered = All.Select(m => serializer.Manifest(m[0])).ToHashSet();
        Assert.All(serializer.Manifests, m => Assert.True(covered.Contains(m), $"manifest '{m}' has no round-trip case"));
    }
}
