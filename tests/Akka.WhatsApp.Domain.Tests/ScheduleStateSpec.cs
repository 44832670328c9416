using System.Collections.Immutable;
using Akka.WhatsApp.Domain.Accounts;
using Akka.WhatsApp.Domain.Groups;
using Akka.WhatsApp.Domain.Mailbox;
using Akka.WhatsApp.Domain.Messaging;
using Akka.WhatsApp.Domain.Scheduling;
using Xunit;
using C = Akka.WhatsApp.Domain.Scheduling.ScheduleCommands;
using R = Akka.WhatsApp.Domain.Scheduling.ScheduleReplies;

namespace Akka.WhatsApp.Domain.Tests;

/// <summary>One sender's scheduled messages as a pure aggregate (PROTOCOL.md §8.8), and which ciphertexts still fit at the time they are due.</summary>
public sealed class ScheduleStateSpec
{
    private static readonly DateTimeOffset Now = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);
    private static readonly UserId Ann = new("ann"), Ben = new("ben");

    private static ScheduledMessage Message(DateTimeOffset sendAt, MessageId? id = null) => new(id ?? MessageId.New(), new DeviceId(1), Ben, null, new MessageMeta(1),
        new PerDevicePayload(ImmutableDictionary<UserId, ImmutableSortedDictionary<uint, DeviceCiphertext>>.Empty
            .Add(Ben, ImmutableSortedDictionary<uint, DeviceCiphertext>.Empty.Add(1, new DeviceCiphertext([1], 1)))),
        ImmutableDictionary<UserId, ImmutableSortedDictionary<uint, uint>>.Empty, sendAt, default);

    private static ScheduleState Run(ScheduleState state, IScheduleCommand command, DateTimeOffset now, out IScheduleReply reply)
    {
        var (r, events) = state.Decide(command, now);
        reply = r;
        return events.Aggregate(state, (s, e) => s.Apply(e));
    }

    [Fact]
    public void A_message_is_pending_until_completed_and_a_retry_before_or_after_is_the_duplicate()
    {
        var m = Message(Now.AddHours(1));
        var state = Run(ScheduleState.Empty, new C.Schedule(Ann, m), Now, out var first);
        Assert.Equal((Now.AddHours(1), Now, false), ((R.Scheduled)first).Let(s => (s.SendAt, s.At, s.Duplicate)));
        Assert.Equal(Now.AddHours(1), state.NextDue);
        Assert.Empty(state.DueAt(Now.AddMinutes(59)));
        Assert.Equal([m.Id], state.DueAt(Now.AddHours(1)).Select(x => x.Id));

        state = Run(state, new C.Schedule(Ann, m with { SendAt = Now.AddHours(5) }), Now.AddMinutes(1), out var retry);
        Assert.Equal((Now.AddHours(1), true), ((R.Scheduled)retry).Let(s => (s.SendAt, s.Duplicate)));

        state = Run(state, new C.Complete(Ann, m.Id, m.SendAt, ScheduledOutcome.Sent), Now.AddHours(1), out _);
        Assert.Null(state.NextDue);
        Run(state, new C.Schedule(Ann, m), Now.AddHours(2), out var late);
        Assert.True(((R.Scheduled)late).Duplicate);
        Run(state, new C.Cancel(Ann, m.Id), Now.AddHours(2), out var cancelLate);
        Assert.Equal(ScheduleError.NotFound, ((R.Rejected)cancelLate).Error);
    }

    [Fact]
    public void The_horizon_the_pending_limit_and_rescheduling_are_checked()
    {
        Run(ScheduleState.Empty, new C.Schedule(Ann, Message(Now + ScheduleState.Horizon + TimeSpan.FromMinutes(1))), Now, out var far);
        Assert.Equal(ScheduleError.TooFar, ((R.Rejected)far).Error);

        var state = ScheduleState.Empty;
        for (var i = 0; i < ScheduleState.MaxPending; i++)
            state = Run(state, new C.Schedule(Ann, Message(Now.AddMinutes(10 + i))), Now, out _);
        Run(state, new C.Schedule(Ann, Message(Now.AddDays(1))), Now, out var full);
        Assert.Equal(ScheduleError.TooMany, ((R.Rejected)full).Error);

        var first = state.DueAt(Now.AddMinutes(10)).Single();
        state = Run(state, new C.Reschedule(Ann, first.Id, Now.AddDays(2)), Now, out var moved);
        Assert.Equal(Now.AddDays(2), ((R.Rescheduled)moved).Message.SendAt);
        Assert.Equal(Now.AddMinutes(11), state.NextDue);
        Run(state, new C.Reschedule(Ann, first.Id, Now.AddMinutes(-1)), Now, out var past);
        Assert.Equal(ScheduleError.InvalidArgument, ((R.Rejected)past).Error);
    }

    [Fact]
    public void Messages_due_together_go_in_the_order_they_were_scheduled_and_the_remembered_ids_stay_bounded()
    {
        var state = ScheduleState.Empty;
        var ids = new List<MessageId>();
        for (var i = 0; i < 5; i++)
        {
            var m = Message(Now.AddHours(1));
            ids.Add(m.Id);
            state = Run(state, new C.Schedule(Ann, m), Now.AddSeconds(i), out _);
        }
        Assert.Equal(ids, state.DueAt(Now.AddHours(1)).Select(m => m.Id));

        for (var i = 0; i < ScheduleState.RecentCapacity + 10; i++)
        {
            var m = Message(Now.AddMinutes(1));
            state = Run(state, new C.Schedule(Ann, m), Now, out _);
            state = Run(state, new C.Cancel(Ann, m.Id), Now, out _);
        }
        Assert.Equal(ScheduleState.RecentCapacity, state.RecentCount);
        Assert.Equal(ScheduleState.RecentCapacity, state.Recent.Count());
    }

    [Fact]
    public void At_its_time_only_the_ciphertexts_that_fit_a_current_device_go_and_the_others_are_named()
    {
        var ciphertexts = ImmutableSortedDictionary<uint, DeviceCiphertext>.Empty
            .Add(1, new DeviceCiphertext([1], 1)).Add(2, new DeviceCiphertext([2], 1)).Add(3, new DeviceCiphertext([3], 1));
        var registrations = ImmutableSortedDictionary<uint, uint>.Empty.Add(1, 11).Add(2, 22).Add(3, 33);
        // Now: device 2 was reinstalled (new registration), 3 removed, 4 linked.
        var current = new AccountReplies.DeliveryInfo([1, 2, 4], false, true, true,
            ImmutableSortedDictionary<uint, uint>.Empty.Add(1, 11).Add(2, 99).Add(4, 44));
        var (valid, mismatch) = ScheduledSender.StillValid(Ben, ciphertexts, registrations, current, sendingDevice: null);
        Assert.Equal([1u], valid.Keys);
        Assert.NotNull(mismatch);
        Assert.Equal([2u, 4u], mismatch.Missing.ToArray());
        Assert.Equal([2u], mismatch.Stale.ToArray());
        Assert.Empty(mismatch.Extra);

        var (all, none) = ScheduledSender.StillValid(Ben, ciphertexts.Remove(3), ImmutableSortedDictionary<uint, uint>.Empty, new AccountReplies.DeliveryInfo([1, 2], false, true, true), null);
        Assert.Equal([1u, 2u], all.Keys);
        Assert.Null(none);
    }
}

internal static class LetExtension
{
    public static TOut Let<TIn, TOut>(this TIn value, Func<TIn, TOut> f) => f(value);
}
