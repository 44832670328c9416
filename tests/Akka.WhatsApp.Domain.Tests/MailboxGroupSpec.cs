using System.Collections.Immutable;
using Akka.WhatsApp.Domain.Groups;
using Akka.WhatsApp.Domain.Mailbox;
using Xunit;
using static Akka.WhatsApp.Domain.Mailbox.MailboxCommands;
using static Akka.WhatsApp.Domain.Mailbox.MailboxEvents;
using static Akka.WhatsApp.Domain.Mailbox.MailboxReplies;

namespace Akka.WhatsApp.Domain.Tests;

/// <summary>What a mailbox does with what groups store in it.</summary>
public sealed class MailboxGroupSpec
{
    private static readonly UserId Bob = new("bob"), Alice = new("alice");
    private static readonly GroupId Group = new("0123456789abcdef0123456789abcdef");
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);

    private static MailboxState Run(MailboxState state, IMailboxCommand command, out IMailboxReply reply)
    {
        var (r, events) = state.Decide(command, Now);
        reply = r;
        return events.Aggregate(state, (s, e) => s.Apply(e));
    }

    private static Enqueue ForAllDevices(UserId owner, MessageId id, UserId from, uint exceptDevice = 0, GroupChange? change = null) =>
        new(owner, id, from, DeviceId.Primary,
            new MessageMeta(change is null ? 1 : ContentKinds.System, Group: Group, GroupSeq: 1, GroupEvent: change),
            ImmutableSortedDictionary<uint, DeviceCiphertext>.Empty.Add(StoredMessage.AllDevices, new DeviceCiphertext([7], 3)), exceptDevice);

    private static MailboxState WithDevices(params uint[] devices) =>
        devices.Aggregate(MailboxState.Empty, (s, d) => s.Apply(s.DeviceAddedFor(new DeviceId(d))));

    [Fact]
    public void An_all_devices_entry_reaches_every_known_device_with_the_same_ciphertext()
    {
        var state = Run(WithDevices(1, 2), ForAllDevices(Bob, MessageId.New(), Alice), out _);
        var entry = Assert.IsType<StoredMessage>(Assert.Single(state.Pending));
        Assert.True(entry.IsFor(new DeviceId(1)));
        Assert.True(entry.IsFor(new DeviceId(2)));
        Assert.Equal([7], entry.CiphertextFor(new DeviceId(2)).Bytes);
        Assert.False(state.Cursors.ContainsKey(new DeviceId(StoredMessage.AllDevices)));

        state = Run(state, new Ack(Bob, new DeviceId(1), 1), out _);
        Assert.Single(state.Pending); // device 2 has not acked yet
        state = Run(state, new Ack(Bob, new DeviceId(2), 1), out _);
        Assert.Empty(state.Pending);
    }

    [Fact]
    public void The_senders_own_copy_skips_the_sending_device_and_owes_no_receipt()
    {
        var state = Run(WithDevices(1, 2), ForAllDevices(Alice, MessageId.New(), Alice, exceptDevice: 1), out _);
        var entry = Assert.IsType<StoredMessage>(Assert.Single(state.Pending));
        Assert.False(entry.IsFor(new DeviceId(1)));
        Assert.True(entry.IsFor(new DeviceId(2)));
        state = Run(state, new Ack(Alice, new DeviceId(2), 1), out _);
        Assert.Empty(state.OwedReceipts);
    }

    [Fact]
    public void The_first_device_of_a_mailbox_gets_what_was_kept_for_all_devices_later_ones_do_not()
    {
        var state = Run(MailboxState.Empty, ForAllDevices(Bob, MessageId.New(), Alice), out _);
        state = state.Apply(state.DeviceAddedFor(new DeviceId(1)));
        Assert.Single(state.PendingFor(new DeviceId(1), state.Cursors[new DeviceId(1)]));

        state = state.Apply(state.DeviceAddedFor(new DeviceId(2)));
        Assert.Empty(state.PendingFor(new DeviceId(2), state.Cursors[new DeviceId(2)]));
    }

    [Fact]
    public void A_delivered_group_message_owes_its_receipt_to_the_sender_for_that_group()
    {
        var id = MessageId.New();
        var state = Run(WithDevices(1), ForAllDevices(Bob, id, Alice), out _);
        state = Run(state, new Ack(Bob, DeviceId.Primary, 1), out _);
        Assert.Equal([id], state.OwedReceipts[new ReceiptKey(Alice, Group)]);
    }

    [Fact]
    public void Group_events_about_the_owner_keep_its_group_list()
    {
        var added = new GroupChange(GroupChangeType.MembersAdded, Alice, [Bob]);
        var state = Run(WithDevices(1), ForAllDevices(Bob, MessageId.New(), Alice, change: added), out _);
        Assert.Contains(Group, state.Groups);
        var other = new GroupChange(GroupChangeType.MembersRemoved, Alice, [new UserId("carol")]);
        state = Run(state, ForAllDevices(Bob, MessageId.New(), Alice, change: other), out _);
        Assert.Contains(Group, state.Groups);
        var removed = new GroupChange(GroupChangeType.MembersRemoved, Alice, [Bob]);
        state = Run(state, ForAllDevices(Bob, MessageId.New(), Alice, change: removed), out _);
        Assert.DoesNotContain(Group, state.Groups);
        // A system message owes no delivered receipt.
        state = Run(state, new Ack(Bob, DeviceId.Primary, 3), out _);
        Assert.Empty(state.OwedReceipts);
    }

    [Fact]
    public void Group_receipts_add_up_per_member_and_only_move_forward()
    {
        var id = MessageId.New();
        var state = MailboxState.Empty;
        foreach (var (member, type) in new[] { ("bob", ReceiptType.Delivered), ("carol", ReceiptType.Read), ("bob", ReceiptType.Read), ("bob", ReceiptType.Delivered) })
            state = Run(state, new EnqueueReceipt(Alice, MessageId.New(), new UserId(member), DeviceId.Primary, type, [id], null, Group), out _);
        var receipts = state.GroupReceiptsFor(id);
        Assert.Equal(["bob", "carol"], receipts.Select(r => r.User.Value));
        Assert.All(receipts, r => Assert.NotNull(r.Delivered));
        Assert.All(receipts, r => Assert.NotNull(r.Read));
        Assert.All(receipts, r => Assert.Null(r.Played));
        // 1:1 receipts are not group receipts.
        var oneToOne = MessageId.New();
        state = Run(state, new EnqueueReceipt(Alice, MessageId.New(), Bob, DeviceId.Primary, ReceiptType.Read, [oneToOne], null, null), out _);
        Assert.Empty(state.GroupReceiptsFor(oneToOne));
    }

    [Fact]
    public void Group_receipts_are_bounded_in_member_receipts_and_the_oldest_messages_go_first()
    {
        var ids = Enumerable.Range(0, 25).Select(_ => MessageId.New()).ToArray();
        var state = MailboxState.Empty;
        foreach (var id in ids)
            for (var member = 0; member < 1000; member++)
                state = state.Apply(new ReceiptEnqueued(new StoredReceipt(state.LastSeq + 1, MessageId.New(), new UserId($"m{member}"),
                    DeviceId.Primary, Now, ReceiptType.Delivered, [id], null, Group)));
        Assert.InRange(state.GroupReceiptCount, 19_000, MailboxState.GroupReceiptWindow);
        Assert.Equal(state.GroupReceipts.Values.Sum(m => m.Count), state.GroupReceiptCount);
        Assert.Empty(state.GroupReceiptsFor(ids[0]));
        Assert.Equal(1000, state.GroupReceiptsFor(ids[^1]).Length);
    }

    [Fact]
    public void Receipts_keep_a_dedup_window_of_their_own_and_leave_received_message_ids_alone()
    {
        var received = MessageId.New();
        var state = Run(WithDevices(1), ForAllDevices(Alice, received, Bob), out _);
        var first = MessageId.New();
        for (var i = 0; i < MailboxState.DedupWindow + 10; i++)
            state = state.Apply(new ReceiptEnqueued(new StoredReceipt(state.LastSeq + 1, i == 0 ? first : MessageId.New(), new UserId($"m{i}"),
                DeviceId.Primary, Now, ReceiptType.Delivered, [MessageId.New()], null, Group)));
        Assert.True(state.Recent.ContainsKey(received), "a message id must survive any number of receipts");
        Assert.Equal(MailboxState.DedupWindow, state.RecentReceipts.Count);
        Assert.DoesNotContain(first, state.RecentReceipts);

        var receiptId = state.RecentReceiptOrder.Last();
        var (again, events) = state.Decide(new EnqueueReceipt(Alice, receiptId, Bob, DeviceId.Primary, ReceiptType.Read, [received], null, Group), Now);
        Assert.True(Assert.IsType<Enqueued>(again).Duplicate);
        Assert.Empty(events);
    }

    [Fact]
    public void A_batch_stores_in_order_once_and_counts_duplicates()
    {
        var ids = Enumerable.Range(0, 3).Select(_ => MessageId.New()).ToArray();
        var batch = new EnqueueBatch(Bob, [.. ids.Select(id => ForAllDevices(Bob, id, Alice))]);
        var state = Run(WithDevices(1), batch, out var first);
        Assert.Equal(new BatchEnqueued(3, 0, 0), first);
        state = Run(state, batch, out var again);
        Assert.Equal(new BatchEnqueued(0, 3, 0), again);
        Assert.Equal(ids, state.Pending.Cast<StoredMessage>().Select(m => m.MessageId));
    }

    [Fact]
    public void A_message_id_another_sender_used_is_refused_not_swallowed()
    {
        var id = MessageId.New();
        var state = Run(WithDevices(1), ForAllDevices(Bob, id, Alice), out _);
        Run(state, ForAllDevices(Bob, id, new UserId("mallory")), out var reply);
        Assert.Equal(MailboxError.InvalidArgument, Assert.IsType<Rejected>(reply).Error);
    }
}
