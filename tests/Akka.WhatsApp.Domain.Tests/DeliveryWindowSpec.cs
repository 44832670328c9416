using Akka.WhatsApp.Domain.Mailbox;
using Xunit;

namespace Akka.WhatsApp.Domain.Tests;

public sealed class DeliveryWindowSpec
{
    private static readonly DeviceId Phone = DeviceId.Primary, Laptop = new(2);
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);

    /// <summary>A mailbox with <paramref name="count"/> entries; every third one is for the laptop only.</summary>
    private static MailboxState Stored(int count)
    {
        var state = MailboxState.Empty;
        for (var i = 0; i < count; i++)
        {
            var (_, events) = state.Decide(MailboxStateSpec.Message(MessageId.New(), devices: i % 3 == 2 ? [2u] : [1u, 2u]), Now);
            state = events.Aggregate(state, (s, e) => s.Apply(e));
        }
        return state;
    }

    private static long[] Seqs(IReadOnlyList<MailboxEntry> entries) => [.. entries.Select(e => e.Seq)];

    [Fact]
    public void At_most_a_window_is_in_flight_and_each_ack_lets_as_many_more_go()
    {
        var state = Stored(6); // the phone's entries: 1, 2, 4, 5
        var window = new DeliveryWindow(2, backlogEnd: 6, acked: 0);
        Assert.Equal([1L, 2L], Seqs(window.Next(state, Phone, 6).Push));
        Assert.Empty(window.Next(state, Phone, 6).Push); // nothing more until an ack

        window.Acked(1);
        var (push, queueEmpty) = window.Next(state, Phone, 6);
        Assert.Equal([4L], Seqs(push));
        Assert.Null(queueEmpty); // 5 of the backlog is still to go
        window.Acked(4);
        (push, queueEmpty) = window.Next(state, Phone, 6);
        Assert.Equal([5L], Seqs(push));
        Assert.Equal(5L, queueEmpty);
    }

    [Fact]
    public void QueueEmpty_comes_once_with_the_last_backlog_entry_pushed_or_zero_for_an_empty_backlog()
    {
        var state = Stored(3);
        var window = new DeliveryWindow(10, backlogEnd: 3, acked: 0);
        var (push, queueEmpty) = window.Next(state, Laptop, 3);
        Assert.Equal([1L, 2L, 3L], Seqs(push));
        Assert.Equal(3L, queueEmpty);
        Assert.Null(window.Next(state, Laptop, 3).QueueEmpty);

        var caughtUp = new DeliveryWindow(10, backlogEnd: 3, acked: 3);
        Assert.Equal(0L, caughtUp.Next(state, Laptop, 3).QueueEmpty);
    }

    [Fact]
    public void Nothing_beyond_what_is_durable_and_nothing_while_paused()
    {
        var state = Stored(4);
        var window = new DeliveryWindow(10, backlogEnd: 2, acked: 0);
        Assert.Equal([1L, 2L], Seqs(window.Next(state, Laptop, durableSeq: 2).Push));

        window.Paused = true;
        var paused = window.Next(state, Laptop, 4);
        Assert.Empty(paused.Push);
        Assert.Null(paused.QueueEmpty);
        window.Paused = false;
        Assert.Equal([3L, 4L], Seqs(window.Next(state, Laptop, 4).Push));
    }

    [Fact]
    public void An_ack_never_moves_back_and_what_was_acked_before_the_attach_is_not_pushed_again()
    {
        var state = Stored(5);
        var window = new DeliveryWindow(1, backlogEnd: 5, acked: 3);
        Assert.Equal([4L], Seqs(window.Next(state, Laptop, 5).Push));
        window.Acked(4);
        window.Acked(2);
        Assert.Equal((4L, 4L), (window.AckedUpTo, window.SentUpTo));
        Assert.Equal([5L], Seqs(window.Next(state, Laptop, 5).Push));
    }
}
