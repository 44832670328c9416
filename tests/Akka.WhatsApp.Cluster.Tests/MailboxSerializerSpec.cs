using System.Collections.Immutable;
using Akka.WhatsApp.Cluster.Mailbox;
using Akka.WhatsApp.Cluster.Serialization;
using Akka.WhatsApp.Domain;
using Akka.WhatsApp.Domain.Mailbox;
using Xunit;

namespace Akka.WhatsApp.Cluster.Tests;

public sealed class MailboxSerializerSpec() : Akka.TestKit.Xunit2.TestKit(ClusterSerialization.Config)
{
    private static readonly DateTimeOffset When = DateTimeOffset.FromUnixTimeMilliseconds(1_795_000_000_123);
    private static readonly MessageId Id = MessageId.New();
    private static readonly ImmutableSortedDictionary<uint, DeviceCiphertext> Ciphertexts =
        ImmutableSortedDictionary<uint, DeviceCiphertext>.Empty.Add(1, new DeviceCiphertext([1, 2, 3], 2)).Add(3, new DeviceCiphertext([9], 1));
    private static readonly MessageMeta Meta = new(16, ReplyTo: MessageId.New(), ForwardCount: 2, Mentions: ["u1", "u2"], Target: MessageId.New(),
        ClientTimestamp: 1234, Silent: true, SyncTo: new UserId("bob"), Group: new GroupId("g1"), GroupSeq: 7);
    private static readonly StoredMessage Message = new(7, Id, new UserId("alice"), new DeviceId(2), When, Meta, Ciphertexts);
    private static readonly ImmutableSortedDictionary<uint, DeviceCiphertext> AllDevices =
        ImmutableSortedDictionary<uint, DeviceCiphertext>.Empty.Add(StoredMessage.AllDevices, new DeviceCiphertext([5], 3));
    private static readonly StoredMessage GroupMessage = new(1, MessageId.New(), new UserId("alice"), new DeviceId(0), When,
        new MessageMeta(14, Group: new GroupId("g1"), GroupSeq: 3, GroupEvent: new Domain.Groups.GroupChange(Domain.Groups.GroupChangeType.NameChanged,
            new UserId("alice"), [new UserId("bob")], Name: "new", Settings: new Domain.Groups.GroupSettings(true, false, true), Version: 4)),
        AllDevices, ExceptDevice: 2);
    private static readonly StoredReceipt Receipt = new(8, MessageId.New(), new UserId("bob"), new DeviceId(1), When, ReceiptType.Read,
        [Id, MessageId.New()], new UserId("alice"), null);

    private static readonly object[] All =
    [
        new MailboxEvents.MessageEnqueued(Message),
        new MailboxEvents.ReceiptEnqueued(Receipt),
        new MailboxEvents.DeviceAcked(new DeviceId(3), 41),
        new MailboxEvents.DeviceDropped(new DeviceId(3)),
        new MailboxEvents.ReceiptsHandedOver(new UserId("carol"), [Id]),
        new MailboxCommands.Enqueue(new UserId("bob"), Id, new UserId("alice"), new DeviceId(1), Meta, Ciphertexts),
        new MailboxCommands.EnqueueReceipt(new UserId("alice"), MessageId.New(), new UserId("bob"), new DeviceId(0), ReceiptType.Delivered, [Id], null, new GroupId("g")),
        new MailboxCommands.Ack(new UserId("bob"), new DeviceId(2), 12),
        new MailboxCommands.DropDevice(new UserId("bob"), new DeviceId(2)),
        new MailboxReplies.Enqueued(Id, 5, When, Duplicate: true),
        new MailboxReplies.Acked(new DeviceId(1), 99),
        new MailboxReplies.Rejected(MailboxError.EditWindowExpired, "why"),
        new MailboxPushes.Deliver(new UserId("bob"), new DeviceId(1), Message),
        new MailboxPushes.Deliver(new UserId("bob"), new DeviceId(1), Receipt),
        new MailboxPushes.QueueEmpty(new UserId("bob"), new DeviceId(1), 9),
        new MailboxPushes.Replaced(new UserId("bob"), new DeviceId(1)),
        new MailboxPushes.Removed(new UserId("bob"), new DeviceId(3)),
        new MailboxPushes.Attached(new UserId("bob"), new DeviceId(1), 41),
        new MailboxCommands.CheckReceived(new UserId("bob"), new UserId("alice"), [Id, MessageId.New()]),
        new MailboxReplies.Received([Id]),
        new MailboxCommands.GetAccepted(new UserId("bob"), new UserId("alice"), Id),
        new MailboxCommands.GetPresence(new UserId("bob")),
        new MailboxReplies.PresenceIs(true, [1, 4]),
        new MailboxEvents.DeviceAdded(new DeviceId(4), 17),
        new MailboxEvents.AcksRecorded([new MailboxEvents.DeviceAcked(new DeviceId(1), 5), new MailboxEvents.DeviceAcked(new DeviceId(2), 3)],
            [new MailboxEvents.ReceiptsHandedOver(new UserId("carol"), [Id], new GroupId("g1")), new MailboxEvents.ReceiptsHandedOver(new UserId("dan"), [Id], null)]),
        new MailboxEvents.GroupMembershipChanged(new GroupId("g1"), true),
        new MailboxEvents.ReceiptsHandedOver(new UserId("carol"), [Id], new GroupId("g1")),
        new MailboxEvents.MessageEnqueued(GroupMessage),
        new MailboxEvents.MessageEnqueued(GroupMessage with
        {
            Meta = new MessageMeta(14, DeviceList: new DeviceListChange([1, 2, 5], [5], [])), ExceptDevice = 0,
        }),
        new MailboxCommands.EnqueueBatch(new UserId("bob"), [
            new MailboxCommands.Enqueue(new UserId("bob"), Id, new UserId("alice"), new DeviceId(1), Meta, Ciphertexts),
            new MailboxCommands.Enqueue(new UserId("bob"), MessageId.New(), new UserId("alice"), new DeviceId(1), GroupMessage.Meta, AllDevices, 2),
        ]),
        new MailboxEvents.MessageEnqueued(GroupMessage with
        {
            Meta = new MessageMeta(14, Silent: true, IdentityKey: new IdentityKeyChange(2, [.. Enumerable.Range(0, 32).Select(i => (byte)i)])), ExceptDevice = 0,
        }),
        new MailboxEvents.MessageEnqueued(GroupMessage with
        {
            Meta = new MessageMeta(14, MissedCall: new Domain.Calls.MissedCall(new Domain.Calls.CallId("00112233445566778899aabbccddeeff"), new UserId("bob"),
                new UserId("alice"), new GroupId("g1"), Domain.Calls.CallMedia.Video, When)),
            ExceptDevice = 0,
        }),
        new MailboxEvents.MessageEnqueued(GroupMessage with
        {
            Meta = new MessageMeta(14, Silent: true, HistorySync: new Domain.Sync.HistorySyncRequest(new Domain.Sync.SyncId("00112233445566778899aabbccddeeff"),
                new DeviceId(3), 30, 500)),
            ExceptDevice = 0,
        }),
        new MailboxCommands.ListGroups(new UserId("bob")),
        new MailboxCommands.GetPeers(new UserId("bob"), 1000),
        new MailboxReplies.PeersAre([new UserId("carol"), new UserId("alice")]),
        new IMailboxEvent[] { new MailboxEvents.MessageEnqueued(Message), new MailboxEvents.MessageEnqueued(Message with { Seq = 2, MessageId = MessageId.New(),
                From = new UserId("bob"), Meta = Message.Meta with { SyncTo = new UserId("carol") } }) }
            .Aggregate(MailboxState.Empty, (s, e) => s.Apply(e)),
        new MailboxCommands.GetGroupReceipts(new UserId("bob"), Id),
        new MailboxReplies.BatchEnqueued(3, 2, 1),
        new MailboxReplies.GroupsAre([new GroupId("g1"), new GroupId("g2")]),
        new MailboxReplies.GroupReceiptsAre([new MemberReceipt(new UserId("carol"), When, null, When.AddSeconds(1))]),
        new IMailboxEvent[]
            {
                new MailboxEvents.MessageEnqueued(GroupMessage),
                new MailboxEvents.GroupMembershipChanged(new GroupId("g1"), true),
                new MailboxEvents.ReceiptEnqueued(Receipt with { Seq = 2, SyncTo = null, Group = new GroupId("g1") }),
                new MailboxEvents.DeviceAdded(new DeviceId(1), 0),
                new MailboxEvents.DeviceAcked(new DeviceId(1), 1),
            }
            .Aggregate(MailboxState.Empty, (s, e) => s.Apply(e)),
        new IMailboxEvent[] { new MailboxEvents.MessageEnqueued(Message), new MailboxEvents.ReceiptEnqueued(Receipt) }
            .Aggregate(MailboxState.Empty with { LastSeq = 6 }, (s, e) => s.Apply(e))
            .Apply(new MailboxEvents.DeviceAcked(new DeviceId(3), 7)),
    ];

    public static IEnumerable<object[]> Messages => All.Select(m => new[] { m });

    [Theory]
    [MemberData(nameof(Messages))]
    public void Every_mailbox_type_is_bound_to_the_mailbox_protobuf_serializer(object message)
    {
        var serializer = Sys.Serialization.FindSerializerFor(message);
        Assert.IsType<MailboxSerializer>(serializer);
        Assert.Equal(110, serializer.Identifier);
    }

    [Theory]
    [MemberData(nameof(Messages))]
    public void Every_mailbox_type_round_trips(object message)
    {
        var serializer = (MailboxSerializer)Sys.Serialization.FindSerializerFor(message);
        var back = serializer.FromBinary(serializer.ToBinary(message), serializer.Manifest(message));
        Assert.Equal(Describe.Of(message), Describe.Of(back));
    }

    [Fact]
    public void Session_references_survive_the_round_trip()
    {
        foreach (var repeat in new[] { false, true })
        {
            var attach = new MailboxCommands.Attach(new UserId("bob"), new DeviceId(2), 5, TestActor, 100, repeat, LoggedInAt: 638_000_000_000_000_000);
            var serializer = (MailboxSerializer)Sys.Serialization.FindSerializerFor(attach);
            var back = (MailboxCommands.Attach)serializer.FromBinary(serializer.ToBinary(attach), serializer.Manifest(attach));
            Assert.Equal(attach, back);
        }
    }

    [Fact]
    public void Attach_detach_availability_and_throttling_carry_the_session_reference()
    {
        foreach (var message in SessionMessages())
        {
            var serializer = (MailboxSerializer)Sys.Serialization.FindSerializerFor(message);
            Assert.Equal(message, serializer.FromBinary(serializer.ToBinary(message), serializer.Manifest(message)));
        }
    }

    private IEnumerable<object> SessionMessages() =>
    [
        new MailboxCommands.Attach(new UserId("bob"), new DeviceId(2), 5, TestActor, 100, Repeat: true),
        new MailboxCommands.Detach(new UserId("bob"), new DeviceId(2), TestActor),
        new MailboxCommands.SetAvailable(new UserId("bob"), new DeviceId(2), TestActor, false),
        new MailboxCommands.Throttle(new UserId("bob"), new DeviceId(2), TestActor, true),
    ];

    [Fact]
    public void Every_manifest_of_the_serializer_is_round_tripped_here()
    {
        var serializer = (MailboxSerializer)Sys.Serialization.FindSerializerFor(All[0]);
        var covered = All.Concat(SessionMessages()).Select(serializer.Manifest).ToHashSet();
        Assert.All(serializer.Manifests, m => Assert.True(covered.Contains(m), $"manifest '{m}' has no round-trip case"));
    }

    [Fact]
    public void Persisted_manifests_never_change_because_they_are_stored_with_every_event()
    {
        var serializer = (MailboxSerializer)Sys.Serialization.FindSerializerFor(All[0]);
        Assert.Equal(["ME", "RE", "DA", "DD", "RH"], All.Take(5).Select(serializer.Manifest));
        Assert.Equal(["DV", "GM", "AR"], new object[]
            {
                new MailboxEvents.DeviceAdded(new DeviceId(1), 0), new MailboxEvents.GroupMembershipChanged(new GroupId("g"), false),
                new MailboxEvents.AcksRecorded([], []),
            }.Select(serializer.Manifest));
    }

    [Fact]
    public void An_unknown_manifest_fails_with_a_clear_error()
    {
        var serializer = (MailboxSerializer)Sys.Serialization.FindSerializerFor(All[0]);
        var e = Assert.Throws<System.Runtime.Serialization.SerializationException>(() => serializer.FromBinary([], "nope"));
        Assert.Contains("nope", e.Message);
    }
}
