using System.Collections.Immutable;
using static Akka.WhatsApp.Domain.Scheduling.ScheduleCommands;
using R = Akka.WhatsApp.Domain.Scheduling.ScheduleReplies;

namespace Akka.WhatsApp.Domain.Scheduling;

/// <summary>
/// One sender's scheduled messages (PROTOCOL.md §8.8), as a pure aggregate: what is pending and when it is due, and the
/// ids of the last messages that left (sent or cancelled), so that a retry of a scheduling request that crossed its
/// hand-over is answered as the duplicate it is instead of scheduling the message a second time.
/// Bounded: <see cref="MaxPending"/> pending messages, <see cref="RecentCapacity"/> remembered ids.
/// </summary>
public sealed record ScheduleState : IAggregate<ScheduleState, IScheduleCommand, IScheduleEvent, IScheduleReply>
{
    /// <summary>How far ahead a message may be scheduled.</summary>
    public static readonly TimeSpan Horizon = TimeSpan.FromDays(30);

    public const int MaxPending = 1000;

    public const int RecentCapacity = 1024;

    public static readonly ScheduleState Empty = new();

    public ImmutableDictionary<MessageId, ScheduledMessage> Pending { get; init; } = ImmutableDictionary<MessageId, ScheduledMessage>.Empty;

    /// <summary>Messages that left, oldest first, with the time they were due (the answer to a late retry).</summary>
    public ImmutableQueue<(MessageId Id, DateTimeOffset SendAt, DateTimeOffset ScheduledAt)> Recent { get; init; } =
        ImmutableQueue<(MessageId, DateTimeOffset, DateTimeOffset)>.Empty;

    public int RecentCount { get; init; }

    /// <summary>The time the next pending message is due; null when nothing is pending.</summary>
    public DateTimeOffset? NextDue => Pending.IsEmpty ? null : Pending.Values.Min(m => m.SendAt);

    /// <summary>The pending messages due at <paramref name="now"/>, earliest first (ties by scheduling time, so in the order they were handed over).</summary>
    public IEnumerable<ScheduledMessage> DueAt(DateTimeOffset now) =>
        Pending.Values.Where(m => m.SendAt <= now).OrderBy(m => m.SendAt).ThenBy(m => m.ScheduledAt);

    public (IScheduleReply Reply, IReadOnlyList<IScheduleEvent> Events) Decide(IScheduleCommand command, DateTimeOffset now) => command switch
    {
        Schedule s => Decide(s, now),
        Reschedule r => Decide(r, now),
        Cancel c => Pending.TryGetValue(c.Message, out var pending)
            ? (new R.Cancelled(pending), [new ScheduleEvents.Cancelled(c.Message)])
            : (NotFound(c.Message), []),
        List => (new R.Pending([.. Pending.Values.OrderBy(m => m.SendAt).ThenBy(m => m.ScheduledAt)]), []),
        Complete c => Pending.ContainsKey(c.Message)
            ? (new R.Completed(c.Message), [new ScheduleEvents.Completed(c.Message, c.Outcome)])
            : (new R.Completed(c.Message), []),
        _ => throw new ArgumentOutOfRangeException(nameof(command), command.GetType().Name),
    };

    private (IScheduleReply, IReadOnlyList<IScheduleEvent>) Decide(Schedule s, DateTimeOffset now)
    {
        var id = s.Message.Id;
        if (Pending.TryGetValue(id, out var pending))
            return (new R.Scheduled(id, pending.SendAt, pending.ScheduledAt, Duplicate: true), []);
        foreach (var (recentId, sendAt, scheduledAt) in Recent)
            if (recentId == id)
                return (new R.Scheduled(id, sendAt, scheduledAt, Duplicate: true), []);
        if (s.Message.SendAt > now + Horizon)
            return (new R.Rejected(ScheduleError.TooFar, $"a message can be scheduled at most {Horizon.TotalDays:0} days ahead"), []);
        if (Pending.Count >= MaxPending)
            return (new R.Rejected(ScheduleError.TooMany, $"at most {MaxPending} scheduled messages may be pending; cancel some or wait"), []);
        var message = s.Message with { ScheduledAt = now };
        return (new R.Scheduled(id, message.SendAt, now, Duplicate: false), [new ScheduleEvents.Scheduled(message)]);
    }

    private (IScheduleReply, IReadOnlyList<IScheduleEvent>) Decide(Reschedule r, DateTimeOffset now)
    {
        if (!Pending.TryGetValue(r.Message, out var pending))
            return (NotFound(r.Message), []);
        if (r.SendAt > now + Horizon)
            return (new R.Rejected(ScheduleError.TooFar, $"a message can be scheduled at most {Horizon.TotalDays:0} days ahead"), []);
        if (r.SendAt <= now)
            return (new R.Rejected(ScheduleError.InvalidArgument, "send_at must be in the future"), []);
        return (new R.Rescheduled(pending with { SendAt = r.SendAt, ScheduledAt = now }), [new ScheduleEvents.Rescheduled(r.Message, r.SendAt, now)]);
    }

    private static R.Rejected NotFound(MessageId id) => new(ScheduleError.NotFound, $"no scheduled message {id} is pending (sent, cancelled or never scheduled)");

    public ScheduleState Apply(IScheduleEvent @event) => @event switch
    {
        ScheduleEvents.Scheduled s => this with { Pending = Pending.SetItem(s.Message.Id, s.Message) },
        ScheduleEvents.Rescheduled r => Pending.TryGetValue(r.Message, out var m)
            ? this with { Pending = Pending.SetItem(r.Message, m with { SendAt = r.SendAt, ScheduledAt = r.At }) }
            : this,
        ScheduleEvents.Cancelled c => Leave(c.Message),
        ScheduleEvents.Completed c => Leave(c.Message),
        _ => throw new ArgumentOutOfRangeException(nameof(@event), @event.GetType().Name),
    };

    private ScheduleState Leave(MessageId id)
    {
        if (!Pending.TryGetValue(id, out var m))
            return this;
        var recent = Recent.Enqueue((id, m.SendAt, m.ScheduledAt));
        var count = RecentCount + 1;
        while (count > RecentCapacity)
        {
            recent = recent.Dequeue();
            count--;
        }
        return this with { Pending = Pending.Remove(id), Recent = recent, RecentCount = count };
    }
}
