using System.Collections.Immutable;
using Akka.WhatsApp.Cluster.Scheduling;
using Akka.WhatsApp.Cluster.Serialization;
using Akka.WhatsApp.Domain;
using Akka.WhatsApp.Domain.Groups;
using Akka.WhatsApp.Domain.Mailbox;
using Akka.WhatsApp.Domain.Messaging;
using Akka.WhatsApp.Domain.Scheduling;
using Xunit;
using C = Akka.WhatsApp.Domain.Scheduling.ScheduleCommands;
using E = Akka.WhatsApp.Domain.Scheduling.ScheduleEvents;
using R = Akka.WhatsApp.Domain.Scheduling.ScheduleReplies;

namespace Akka.WhatsApp.Cluster.Tests;

/// <summary>The Schedule aggregate's events, snapshot, commands and replies round-trip through its Protobuf serializer (they are persisted for ever).</summary>
public sealed class ScheduleSerializerSpec() : Akka.TestKit.Xunit2.TestKit(ClusterSerialization.Config)
{
    private static readonly UserId Ann = new("ann"), Ben = new("ben");
    private static readonly DateTimeOffset At = DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_123);
    private static readonly MessageId Id = new(Guid.Parse("00112233-4455-6677-8899-aabbccddeeff"));

    private static readonly ScheduledMessage OneToOne = new(Id, new DeviceId(2), Ben, null, new MessageMeta(1, ClientTimestamp: 5, Mentions: ["x"]),
        new PerDevicePayload(ImmutableDictionary<UserId, ImmutableSortedDictionary<uint, DeviceCiphertext>>.Empty
            .Add(Ben, ImmutableSortedDictionary<uint, DeviceCiphertext>.Empty.Add(1, new DeviceCiphertext([1, 2], 2)).Add(3, new DeviceCiphertext([3], 1)))),
        ImmutableDictionary<UserId, ImmutableSortedDictionary<uint, uint>>.Empty.Add(Ben, ImmutableSortedDictionary<uint, uint>.Empty.Add(1, 77)),
        At, At.AddDays(-1));

    private static readonly ScheduledMessage ToGroup = new(MessageId.New(), new DeviceId(1), null, new GroupId("g1"), new MessageMeta(1),
        new SenderKeyPayload(new DeviceCiphertext([9], 3)), ImmutableDictionary<UserId, ImmutableSortedDictionary<uint, uint>>.Empty, At.AddHours(1), At);

    private static object[] Cases()
    {
        var state = ScheduleState.Empty.Apply(new E.Scheduled(OneToOne)).Apply(new E.Scheduled(ToGroup)).Apply(new E.Completed(ToGroup.Id, ScheduledOutcome.Sent));
        return
        [
            new E.Scheduled(OneToOne), new E.Scheduled(ToGroup), new E.Rescheduled(Id, At.AddHours(2), At), new E.Cancelled(Id),
            new E.Completed(Id, ScheduledOutcome.Failed), state,
            new C.Schedule(Ann, OneToOne), new C.Reschedule(Ann, Id, At), new C.Cancel(Ann, Id), new C.List(Ann),
            new C.Complete(Ann, Id, At, ScheduledOutcome.Sent),
            new R.Scheduled(Id, At, At.AddDays(-2), true), new R.Cancelled(ToGroup), new R.Rescheduled(OneToOne), new R.Pending([OneToOne, ToGroup]),
            new R.Completed(Id), new R.Rejected(ScheduleError.TooFar, "too far"),
        ];
    }

    [Fact]
    public void Every_schedule_message_is_bound_to_the_schedule_serializer_and_round_trips()
    {
        foreach (var message in Cases())
        {
            var serializer = (ProtobufSerializer)Sys.Serialization.FindSerializerFor(message);
            Assert.Equal(ScheduleSerializer.Id, serializer.Identifier);
            var back = serializer.FromBinary(serializer.ToBinary(message), serializer.Manifest(message));
            Assert.Equal(Describe.Of(message), Describe.Of(back));
        }
    }

    [Fact]
    public void The_serializer_id_never_changes_and_every_manifest_is_round_tripped_here()
    {
        var serializer = (ProtobufSerializer)Sys.Serialization.FindSerializerFor(new C.List(Ann));
        Assert.Equal(119, serializer.Identifier);
        var covered = Cases().Select(serializer.Manifest).ToHashSet();
        Assert.All(serializer.Manifests, m => Assert.True(covered.Contains(m), $"manifest '{m}' has no round-trip case"));
    }

    [Fact]
    public void A_scheduled_update_in_a_mailbox_event_round_trips()
    {
        var update = new ScheduledUpdate(Id, Ben, null, ScheduledOutcome.Sent, At, new DeviceId(2), true, [new DeviceMismatch(Ben, [2, 3], [], [1])], "", new DeviceId(1));
        var message = new MailboxEvents.MessageEnqueued(new StoredMessage(4, Id, Ann, new DeviceId(0), At, new MessageMeta(14, Scheduled: update),
            ImmutableSortedDictionary<uint, DeviceCiphertext>.Empty.Add(0, new DeviceCiphertext([], 0))));
        var copy = new MailboxEvents.MessageEnqueued(new StoredMessage(5, Id, Ann, new DeviceId(2), At, new MessageMeta(1, SyncTo: Ben, ScheduledFor: At.AddDays(3)),
            ImmutableSortedDictionary<uint, DeviceCiphertext>.Empty.Add(1, new DeviceCiphertext([7], 1))));
        foreach (var e in new object[] { message, copy })
        {
            var serializer = (ProtobufSerializer)Sys.Serialization.FindSerializerFor(e);
            Assert.Equal(Describe.Of(e), Describe.Of(serializer.FromBinary(serializer.ToBinary(e), serializer.Manifest(e))));
        }
    }
}
