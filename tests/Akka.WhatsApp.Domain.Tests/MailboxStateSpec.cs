using System.Collections.Immutable;
using Akka.WhatsApp.Domain.Mailbox;
using Xunit;
using static Akka.WhatsApp.Domain.Mailbox.MailboxCommands;
using static Akka.WhatsApp.Domain.Mailbox.MailboxEvents;
using static Akka.WhatsApp.Domain.Mailbox.MailboxReplies;

namespace Akka.WhatsApp.Domain.Tests;

public sealed class MailboxStateSpec
{
    private static readonly UserId Bob = new("bob");
    private static readonly UserId Alice = new("alice");
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);

    public static Enqueue Message(MessageId id, UserId? from = null, MessageMeta? meta = null, params uint[] devices) =>
        new(Bob, id, from ?? Alice, DeviceId.Primary, meta ?? new MessageMeta(1),
            (devices.Length == 0 ? [1u] : devices).ToImmutableSortedDictionary(d => d, d => new DeviceCiphertext([(byte)d, 42], 2)));

    private static MailboxState Run(MailboxState state, IMailboxCommand command, out IMailboxReply reply, DateTimeOffset? at = null)
    {
        var (r, events) = state.Decide(command, at ?? Now);
        reply = r;
        return events.Aggregate(state, (s, e) => s.Apply(e));
    }

    [Fact]
    public void Enqueue_assigns_consecutive_seqs_in_order_of_acceptance()
    {
        var state = Run(MailboxState.Empty, Message(MessageId.New()), out var first);
        state = Run(state, Message(MessageId.New()), out var second);

        Assert.Equal(1, Assert.IsType<Enqueued>(first).Seq);
        Assert.Equal(2, Assert.IsType<Enqueued>(second).Seq);
        Assert.Equal([1L, 2L], state.Pending.Select(m => m.Seq));
    }

    [Fact]
    public void The_peers_are_the_users_of_recent_one_to_one_messages_newest_first_each_once()
    {
        var (carol, dave, erin) = (new UserId("carol"), new UserId("dave"), new UserId("erin"));
        var state = MailboxState.Empty;
        foreach (var message in new[]
        {
            Message(MessageId.New(), Alice),
            Message(MessageId.New(), Bob, new MessageMeta(1, SyncTo: carol)),               // bob's own copy of a message to carol
            Message(MessageId.New(), dave, new MessageMeta(1, Group: new GroupId("g1"))), // a group message: not a conversation
            Message(MessageId.New(), erin, new MessageMeta(ContentKinds.System)),             // a SYSTEM message neither
            Message(MessageId.New(), Alice),
        })
            state = Run(state, message, out _);

        Assert.Equal(new[] { Alice, carol }, state.RecentPeers(10).ToArray());
        Assert.Equal(new[] { Alice }, state.RecentPeers(1).ToArray());
        Assert.Empty(MailboxState.Empty.RecentPeers(10));
    }

    [Fact]
    public void PendingFor_gives_exactly_a_devices_entries_after_any_seq_in_order()
    {
        // Entries for device 1, device 2 or both, interleaved; the lookup starts at a binary search, so compare it
        // with the plain filter from every starting point, including before the first and after the last entry.
        var state = MailboxState.Empty;
        for (var i = 0; i < 300; i++)
            state = Run(state, Message(MessageId.New(), devices: (i % 3) switch { 0 => [1u], 1 => [2u], _ => [1u, 2u] }), out _);
        foreach (var device in new[] { new DeviceId(1), new DeviceId(2), new DeviceId(3) })
            for (long after = -1; after <= 301; after += 7)
                Assert.Equal(
                    state.Pending.Where(e => e.Seq > after && e.IsFor(device)).Select(e => e.Seq),
                    state.PendingFor(device, after).Select(e => e.Seq));
        Assert.Equal(200, state.PendingFor(new DeviceId(2), 0).Count());
        Assert.Empty(state.PendingFor(DeviceId.Primary, 300));
    }

    [Fact]
    public void A_retried_message_id_is_answered_with_the_original_result_and_stored_once()
    {
        var id = MessageId.New();
        var state = Run(MailboxState.Empty, Message(id), out var original);
        var (retry, events) = state.Decide(Message(id), Now.AddMinutes(5));

        Assert.Empty(events);
        var dup = Assert.IsType<Enqueued>(retry);
        Assert.True(dup.Duplicate);
        Assert.Equal(((Enqueued)original).Seq, dup.Seq);
        Assert.Equal(((Enqueued)original).ServerTimestamp, dup.ServerTimestamp);
        Assert.Single(state.Pending);
    }

    [Fact]
    public void A_message_without_ciphertexts_is_rejected()
    {
        var empty = Message(MessageId.New()) with { Ciphertexts = ImmutableSortedDictionary<uint, DeviceCiphertext>.Empty };
        var (reply, events) = MailboxState.Empty.Decide(empty, Now);
        Assert.Empty(events);
        Assert.Equal(MailboxError.InvalidArgument, Assert.IsType<Rejected>(reply).Error);
    }

    [Fact]
    public void Messages_stay_until_every_device_they_are_for_has_acked_them()
    {
        var state = MailboxState.Empty;
        for (var i = 0; i < 3; i++)
            state = Run(state, Message(MessageId.New(), devices: [1, 2]), out _);

        state = Run(state, new Ack(Bob, new DeviceId(1), 3), out _);
        Assert.Equal(3, state.Pending.Count);
        Assert.Empty(state.PendingFor(new DeviceId(1), 3));
        Assert.Equal([1L, 2L, 3L], state.PendingFor(new DeviceId(2), 0).Select(m => m.Seq));

        state = Run(state, new Ack(Bob, new DeviceId(2), 2), out _);
        Assert.Equal([3L], state.Pending.Select(m => m.Seq));
    }

    [Fact]
    public void Acks_are_cumulative_clamped_and_an_older_ack_changes_nothing()
    {
        var state = MailboxState.Empty;
        for (var i = 0; i < 3; i++)
            state = Run(state, Message(MessageId.New()), out _);
        state = Run(state, new Ack(Bob, DeviceId.Primary, 99), out var clamped);
        Assert.Equal(3, Assert.IsType<Acked>(clamped).AckedSeq);

        var (reply, events) = state.Decide(new Ack(Bob, DeviceId.Primary, 1), Now);
        Assert.Empty(events);
        Assert.Equal(3, Assert.IsType<Acked>(reply).AckedSeq);
    }

    [Fact]
    public void The_first_device_to_ack_a_message_owes_one_delivered_receipt_to_its_sender()
    {
        var ids = Enumerable.Range(0, 2).Select(_ => MessageId.New()).ToArray();
        var state = Run(MailboxState.Empty, Message(ids[0], devices: [1, 2]), out _);
        state = Run(state, Message(ids[1], from: new UserId("carol"), devices: [1, 2]), out _);

        state = Run(state, new Ack(Bob, new DeviceId(2), 2), out _);
        Assert.Equal([ids[0]], state.OwedReceipts[new ReceiptKey(Alice, null)]);
        Assert.Equal([ids[1]], state.OwedReceipts[new ReceiptKey(new UserId("carol"), null)]);

        state = Run(state, new Ack(Bob, new DeviceId(1), 2), out _);
        Assert.Single(state.OwedReceipts[new ReceiptKey(Alice, null)]);

        state = state.Apply(new ReceiptsHandedOver(Alice, [ids[0]]));
        Assert.False(state.OwedReceipts.ContainsKey(new ReceiptKey(Alice, null)));
    }

    [Fact]
    public void A_sync_copy_of_ones_own_message_owes_no_receipt()
    {
        var state = Run(MailboxState.Empty, Message(MessageId.New(), from: Bob, meta: new MessageMeta(1, SyncTo: Alice), devices: [2]), out _);
        state = Run(state, new Ack(Bob, new DeviceId(2), 1), out _);
        Assert.Empty(state.OwedReceipts);
        Assert.Empty(state.Pending);
    }

    [Fact]
    public void Receipts_go_to_every_device_and_a_synced_receipt_skips_the_device_that_sent_it()
    {
        var state = Run(MailboxState.Empty, Message(MessageId.New(), devices: [1, 2]), out _);
        state = Run(state, new EnqueueReceipt(Bob, MessageId.New(), Alice, new DeviceId(3), ReceiptType.Read, [MessageId.New()], null, null), out _);
        state = Run(state, new EnqueueReceipt(Bob, MessageId.New(), Bob, new DeviceId(2), ReceiptType.Read, [MessageId.New()], Alice, null), out _);

        Assert.Equal([1L, 2L, 3L], state.PendingFor(new DeviceId(1), 0).Select(e => e.Seq));
        Assert.Equal([1L, 2L], state.PendingFor(new DeviceId(2), 0).Select(e => e.Seq));
    }

    [Fact]
    public void Only_the_sender_can_edit_and_only_within_fifteen_minutes()
    {
        var original = MessageId.New();
        var state = Run(MailboxState.Empty, Message(original), out _);
        var edit = new MessageMeta(ContentKinds.Edit, Target: original);

        Run(state, Message(MessageId.New(), meta: edit), out var inTime, Now.AddMinutes(14));
        Assert.IsType<Enqueued>(inTime);

        Run(state, Message(MessageId.New(), meta: edit), out var late, Now.AddMinutes(16));
        Assert.Equal(MailboxError.EditWindowExpired, Assert.IsType<Rejected>(late).Error);

        Run(state, Message(MessageId.New(), from: new UserId("mallory"), meta: edit), out var other, Now.AddMinutes(1));
        Assert.Equal(MailboxError.EditWindowExpired, Assert.IsType<Rejected>(other).Error);
    }

    [Fact]
    public void A_reaction_without_a_target_is_rejected()
    {
        var (reply, _) = MailboxState.Empty.Decide(Message(MessageId.New(), meta: new MessageMeta(ContentKinds.Reaction)), Now);
        Assert.Equal(MailboxError.InvalidArgument, Assert.IsType<Rejected>(reply).Error);
    }

    [Fact]
    public void A_dropped_device_no_longer_holds_entries_back()
    {
        var state = Run(MailboxState.Empty, Message(MessageId.New(), devices: [1, 2]), out _);
        state = Run(state, new Ack(Bob, DeviceId.Primary, 1), out _);
        Assert.Single(state.Pending);
        state = Run(state, new DropDevice(Bob, new DeviceId(2)), out _);
        Assert.Empty(state.Pending);
    }

    [Fact]
    public void The_dedup_window_is_bounded()
    {
        var first = MessageId.New();
        var state = Run(MailboxState.Empty, Message(first), out _);
        for (var i = 0; i < MailboxState.DedupWindow; i++)
            state = state.Apply(new MessageEnqueued(new StoredMessage(state.LastSeq + 1, MessageId.New(), Alice, DeviceId.Primary, Now,
                new MessageMeta(1), ImmutableSortedDictionary<uint, DeviceCiphertext>.Empty.Add(1, new DeviceCiphertext([1], 2)))));

        Assert.Equal(MailboxState.DedupWindow, state.Recent.Count);
        Assert.False(state.Recent.ContainsKey(first));
    }

    [Fact]
    public void Receipt_ids_are_stable_for_the_same_receipt()
    {
        var ids = new[] { MessageId.New(), MessageId.New() };
        Assert.Equal(MailboxState.ReceiptIdFor(Bob, ReceiptType.Delivered, ids), MailboxState.ReceiptIdFor(Bob, ReceiptType.Delivered, ids));
        Assert.NotEqual(MailboxState.ReceiptIdFor(Bob, ReceiptType.Delivered, ids), MailboxState.ReceiptIdFor(Bob, ReceiptType.Read, ids));
        Assert.NotEqual(MailboxState.ReceiptIdFor(Bob, ReceiptType.Read, ids), MailboxState.ReceiptIdFor(Bob, ReceiptType.Read, ids, syncTo: Alice));
    }
}
