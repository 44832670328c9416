using Akka.WhatsApp.Cluster.Serialization;
using Akka.WhatsApp.Cluster.Status;
using Akka.WhatsApp.Domain;
using Akka.WhatsApp.Domain.Mailbox;
using Akka.WhatsApp.Domain.Status;
using System.Collections.Immutable;
using Xunit;
using C = Akka.WhatsApp.Domain.Status.StatusCommands;
using E = Akka.WhatsApp.Domain.Status.StatusEvents;
using R = Akka.WhatsApp.Domain.Status.StatusReplies;

namespace Akka.WhatsApp.Cluster.Tests;

/// <summary>Everything the Status entity persists (events, snapshot), is asked across nodes, or publishes round-trips through its serializer.</summary>
public sealed class StatusSerializerSpec() : Akka.TestKit.Xunit2.TestKit(ClusterSerialization.Config)
{
    private static readonly UserId Ann = new("ann"), Ben = new("ben");
    private static readonly StatusId Id = new(Guid.Parse("00112233-4455-6677-8899-aabbccddeeff"));
    private static readonly DateTimeOffset At = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_123);

    private static readonly ImmutableDictionary<UserId, ImmutableSortedDictionary<uint, DeviceCiphertext>> Ciphertexts =
        ImmutableDictionary<UserId, ImmutableSortedDictionary<uint, DeviceCiphertext>>.Empty
            .Add(Ben, ImmutableSortedDictionary<uint, DeviceCiphertext>.Empty.Add(1, new DeviceCiphertext([1, 2, 3], 2)).Add(3, new DeviceCiphertext([4], 1)))
            .Add(Ann, ImmutableSortedDictionary<uint, DeviceCiphertext>.Empty.Add(2, new DeviceCiphertext([5], 2)));

    private static readonly StatusAudience Audience = new(StatusAudienceMode.ContactsExcept, [new UserId("cy")]);

    private static readonly StatusPost Post = new StatusPost(Id, DeviceId.Primary, 2, "abc", Audience, At, At.AddHours(24), 42, Ciphertexts)
    {
        Views = ImmutableDictionary<UserId, StatusView>.Empty.Add(Ben, new StatusView(At.AddMinutes(1), Listed: false)),
        FannedOut = true,
    };

    private static object[] All() =>
    [
        new E.Posted(Post),
        new E.Deleted(Id, At),
        new E.Expired([Id, StatusId.New()], At),
        new E.Viewed(Id, Ben, At, Listed: true),
        new E.FannedOut(Id),
        new E.Indexed(Ann, Id, At),
        StatusState.Empty with
        {
            Posts = ImmutableDictionary<StatusId, StatusPost>.Empty.Add(Id, Post),
            Feed = ImmutableDictionary<FeedEntry, DateTimeOffset>.Empty.Add(new FeedEntry(Ben, StatusId.New()), At),
        },
        new C.Post(Ann, new DeviceId(2), Id, 1, "", Audience, 7, Ciphertexts),
        new C.Delete(Ann, Id),
        new C.GetItems(Ann, Ben, new DeviceId(3), At),
        new C.View(Ann, Ben, [Id], Listed: false),
        new C.GetViewers(Ann, Id),
        new C.Index(Ben, Ann, Id, At),
        new C.GetFeedOwners(Ben),
        new C.ExpireDue(Ann),
        new R.Posted(Id, At, At.AddHours(24), Duplicate: true),
        new R.Deleted(Id, "abc"),
        new R.Items([new StatusItemView(Ann, DeviceId.Primary, Id, 1, At, At.AddHours(24), new DeviceCiphertext([9], 2), true, "m", Audience),
            new StatusItemView(Ann, DeviceId.Primary, Id, 1, At, At.AddHours(24), null, false, "", null)]),
        new R.Viewers(Id, 2, [(Ben, At)]),
        new R.FeedOwners([Ann, Ben]),
        R.Done.Instance,
        new R.Rejected(StatusError.LimitReached, "full", At),
        new StatusHint(Ben, [1, 3], Ann, Id, Deleted: true),
    ];

    [Fact]
    public void Every_status_message_is_bound_to_the_status_serializer_and_round_trips()
    {
        foreach (var message in All())
        {
            var serializer = (ProtobufSerializer)Sys.Serialization.FindSerializerFor(message);
            Assert.Equal(StatusSerializer.Id, serializer.Identifier);
            var back = serializer.FromBinary(serializer.ToBinary(message), serializer.Manifest(message));
            Assert.Equal(Describe.Of(message), Describe.Of(back));
        }
    }

    [Fact]
    public void The_serializer_id_never_changes_and_every_manifest_is_round_tripped_here()
    {
        var serializer = (ProtobufSerializer)Sys.Serialization.FindSerializerFor(new C.ExpireDue(Ann));
        Assert.Equal(117, serializer.Identifier);
        var covered = All().Select(serializer.Manifest).ToHashSet();
        Assert.All(serializer.Manifests, m => Assert.True(covered.Contains(m), $"manifest '{m}' has no round-trip case"));
    }
}
