using Akka.WhatsApp.Domain;
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

    private static Enqueue Message(MessageId id, params uint[] devices) =>
        new(Bob, id, Alice, DeviceId.Primary, devices.ToDictionary(d => new DeviceId(d), d => new byte[] { (byte)d, 42 }));

    private static MailboxState Run(MailboxState state, IMailboxCommand command, out IMailboxReply reply)
    {
        var (r, events) = state.Decide(command, Now);
        reply = r;
        return events.Aggregate(state, (s, e) => s.Apply(e));
    }

    [Fact]
    public void Enqueue_assigns_consecutive_seqs_in_order_of_acceptance()
    {
        var state = MailboxState.Empty;
        state = Run(state, Message(MessageId.New(), 1), out var first);
        state = Run(state, Message(MessageId.New(), 1), out var second);

        Assert.Equal(1, Assert.IsType<Enqueued>(first).Seq);
        Assert.Equal(2, Assert.IsType<Enqueued>(second).Seq);
        Assert.Equal([1L, 2L], state.Pending.Select(m => m.Seq));
    }

    [Fact]
    public void A_retried_message_id_is_answered_with_the_original_result_and_stored_once()
    {
        var id = MessageId.New();
        var state = Run(MailboxState.Empty, Message(id, 1), out var original);
        var (retry, events) = state.Decide(Message(id, 1), Now.AddMinutes(5));

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
        var (reply, events) = MailboxState.Empty.Decide(Message(MessageId.New()), Now);
        Assert.Empty(events);
        Assert.Equal(MailboxError.InvalidArgument, Assert.IsType<Rejected>(reply).Error);
    }

    [Fact]
    public void Messages_stay_until_every_device_has_acked_them()
    {
        var state = MailboxState.Empty;
        for (var i = 0; i < 3; i++)
            state = Run(state, Message(MessageId.New(), 1, 2), out _);

        state = Run(state, new Ack(Bob, new DeviceId(1), 3), out _);
        Assert.Equal(3, state.Pending.Count);
        Assert.Empty(state.UnackedFor(new DeviceId(1)));
        Assert.Equal([1L, 2L, 3L], state.UnackedFor(new DeviceId(2)).Select(m => m.Seq));

        state = Run(state, new Ack(Bob, new DeviceId(2), 2), out _);
        Assert.Equal([3L], state.Pending.Select(m => m.Seq));
    }

    [Fact]
    public void Acks_are_cumulative_and_an_older_ack_changes_nothing()
    {
        var state = MailboxState.Empty;
        for (var i = 0; i < 3; i++)
            state = Run(state, Message(MessageId.New(), 1), out _);
        state = Run(state, new Ack(Bob, new DeviceId(1), 3), out _);

        var (reply, events) = state.Decide(new Ack(Bob, new DeviceId(1), 1), Now);
        Assert.Empty(events);
        Assert.Equal(3, Assert.IsType<Acked>(reply).AckedSeq);
    }

    [Fact]
    public void An_ack_beyond_the_last_seq_is_rejected()
    {
        var state = Run(MailboxState.Empty, Message(MessageId.New(), 1), out _);
        var (reply, events) = state.Decide(new Ack(Bob, new DeviceId(1), 2), Now);
        Assert.Empty(events);
        Assert.IsType<Rejected>(reply);
    }

    [Fact]
    public void The_dedup_window_is_bounded()
    {
        var state = MailboxState.Empty;
        var first = MessageId.New();
        state = Run(state, Message(first, 1), out _);
        for (var i = 0; i < MailboxState.DedupWindow; i++)
            state = state.Apply(new MessageEnqueued(new StoredMessage(state.LastSeq + 1, MessageId.New(), Alice, DeviceId.Primary, Now,
                new Dictionary<DeviceId, byte[]> { [DeviceId.Primary] = [1] })));

        Assert.Equal(MailboxState.DedupWindow, state.Recent.Count);
        Assert.False(state.Recent.ContainsKey(first));
    }
}
