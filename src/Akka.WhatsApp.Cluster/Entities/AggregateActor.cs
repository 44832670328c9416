using Akka.Cluster.Sharding;
using Akka.Event;
using Akka.Persistence;
using Akka.WhatsApp.Cluster.Monitoring;

namespace Akka.WhatsApp.Cluster.Entities;

/// <summary>
/// A persistent entity around a pure aggregate: recover by applying events; for each command, decide, apply
/// the events at once, persist them, and reply only once they are durable. Passivates when idle.
/// <para>
/// Commands do not wait for the previous command's write (no stash): the next one is decided against the
/// state with the pending events applied, and Akka writes the events of every command that arrived during
/// one write together in the next (group commit). One entity then stores thousands of commands a second
/// instead of one per journal round trip. Nothing is lost by deciding early: a reply still waits for its
/// events (and those of every earlier command) to be durable; a failed write stops the entity and a rejected
/// one restarts it, so the in-memory state that included them is dropped and recovered from the journal.
/// </para>
/// <para>
/// Messages are matched in a switch, not with ReceivePersistentActor's handler table: that table is built per
/// instance, and there are one or two of these entities in memory per connected user (about 1 KiB each,
/// measured with 10,000 idle connections).
/// </para>
/// </summary>
public abstract class AggregateActor<TState, TCommand, TEvent, TReply> : PersistentActor, IWithTimers
    where TState : class, IAggregate<TState, TCommand, TEvent, TReply>
    where TCommand : notnull
    where TEvent : notnull
    where TReply : notnull
{
    /// <summary>An entity that received nothing for this long stops (and comes back on its next message).</summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(2);

    protected AggregateActor(string persistenceId, TState initial)
    {
        PersistenceId = persistenceId;
        _state = initial;
    }

    protected sealed override bool ReceiveRecover(object message)
    {
        switch (message)
        {
            case SnapshotOffer offer:
                State = (TState)offer.Snapshot;
                _snapshotSeq = offer.Metadata.SequenceNr;
                return true;
            case TEvent e:
                State = State.Apply(e);
                return true;
            case RecoveryCompleted:
                OnRecovered();
                return true;
            default:
                return false;
        }
    }

    protected sealed override bool ReceiveCommand(object message)
    {
        switch (message)
        {
            case TCommand c:
                if (!Intercept(c))
                    Handle(c);
                return true;
            case SaveSnapshotSuccess saved:
                // Everything up to the snapshot is in it (pending entries included): older events and snapshots can go,
                // so recovery time stays bounded however long the entity lives.
                _snapshotSeq = saved.Metadata.SequenceNr;
                _snapshotting = false;
                DeleteMessages(saved.Metadata.SequenceNr);
                DeleteSnapshots(new SnapshotSelectionCriteria(saved.Metadata.SequenceNr - 1));
                return true;
            case SaveSnapshotFailure failed:
                _snapshotting = false;
                Log.Warning("{0}: snapshot failed: {1}", PersistenceId, failed.Cause.Message);
                return true;
            case DeleteMessagesSuccess or DeleteSnapshotsSuccess:
                return true;
            case DeleteMessagesFailure failed:
                Log.Warning("{0}: deleting old events failed: {1}", PersistenceId, failed.Cause.Message);
                return true;
            case DeleteSnapshotsFailure failed:
                Log.Warning("{0}: deleting old snapshots failed: {1}", PersistenceId, failed.Cause.Message);
                return true;
            case ReceiveTimeout:
                if (MayPassivate)
                    Context.Parent.Tell(new Passivate(PoisonPill.Instance));
                return true;
            default:
                return HandleOther(message);
        }
    }

    /// <summary>Runs once the state is recovered, before the first command.</summary>
    protected virtual void OnRecovered()
    {
    }

    /// <summary>A derived entity's own messages (timers, results of its effects, watched actors); true when handled.</summary>
    protected virtual bool HandleOther(object message) => false;

    public override string PersistenceId { get; }

    public ITimerScheduler Timers { get; set; } = null!;

    protected TState State
    {
        get => _state;
        private set
        {
            _state = value;
            OnStateChanged(value);
        }
    }

    private TState _state;

    /// <summary>Runs after every change of <see cref="State"/> (recovery included); cheap work only (metrics).</summary>
    protected virtual void OnStateChanged(TState state)
    {
    }

    /// <summary>This node's entity metrics.</summary>
    protected EntityMetrics Metrics { get; } = EntityMetrics.For(Context.System);

    /// <summary>
    /// Save a snapshot after about this many events (0: never), spread per entity (<see cref="SnapshotSpread"/>).
    /// The state type needs a serializer binding.
    /// </summary>
    protected virtual int SnapshotEvery => 0;

    private long _snapshotSeq;
    private bool _snapshotting;
    private bool _passivating;

    // Writes of commands are numbered; they complete in order. A reply without events of its own waits for the
    // writes before it. (Akka's DeferAsync would do this, but a batch holding only a deferred message reaches
    // Akka.Persistence.Sql as an empty write, which it fails on and then opens its circuit breaker.)
    private long _lastWrite;
    private long _completedWrite;
    private readonly Queue<(long AfterWrite, IActorRef To, TReply Reply)> _waitingReplies = new();

    /// <summary>True while some decided events are not durable yet (their commands wait for their replies).</summary>
    protected bool WritesPending => _lastWrite != _completedWrite;

    private void MaybeSnapshot()
    {
        // Only a state without events that are still being written may be saved as a snapshot.
        if (SnapshotEvery <= 0 || _snapshotting || WritesPending
            || LastSequenceNr - _snapshotSeq < SnapshotSpread.EventsUntilNext(PersistenceId, _snapshotSeq, SnapshotEvery))
            return;
        _snapshotting = true;
        SaveSnapshot(State);
    }

    /// <summary>Now on the node's clock (<see cref="EntityClock"/>).</summary>
    protected DateTimeOffset Now => (_clock ??= EntityClock.Of(Context.System)).GetUtcNow();

    private TimeProvider? _clock;

    /// <summary>False while the entity holds something that passivation would lose (e.g. attached sessions).</summary>
    protected virtual bool MayPassivate => true;

    /// <summary>
    /// True while the entity is only a look-up of something that does not exist (an unknown user or group id). Such an
    /// entity stops after answering instead of staying for <see cref="IdleTimeout"/>: a client naming random ids must
    /// not be able to fill the node's memory with empty entities (a fuzzer left 16,905 of them, 850 MiB).
    /// </summary>
    protected virtual bool IsAbsent => false;

    protected override void PreStart()
    {
        base.PreStart();
        Context.SetReceiveTimeout(IdleTimeout);
    }

    /// <summary>Lets a derived entity handle a command itself; return true when it did.</summary>
    protected virtual bool Intercept(TCommand command) => false;

    /// <summary>Fills in what the pure state must not produce itself (random values), before deciding.</summary>
    protected virtual TCommand Prepare(TCommand command) => command;

    /// <summary>
    /// Side effects of an event once it is durable (notifications, read models). A returned task runs outside
    /// the actor and must not touch its state; the reply is sent when it completes.
    /// </summary>
    protected virtual Task? OnPersisted(TEvent @event) => null;

    /// <summary>The reply to send instead when a side effect failed (runs outside the actor: use only its arguments).</summary>
    protected virtual TReply ReplyWhenEffectFailed(TReply reply, Exception failure) => reply;

    /// <summary>Applies an event that a derived entity persisted itself.</summary>
    protected void ApplyPersisted(TEvent @event)
    {
        State = State.Apply(@event);
        OnPersisted(@event);
        MaybeSnapshot();
    }

    private void Handle(TCommand command)
    {
        var (reply, events) = State.Decide(Prepare(command), Now);
        var sender = Sender;
        if (events.Count == 0)
        {
            // The answer may rest on events still being written (a retry of a message being stored): it waits for them.
            if (WritesPending)
                _waitingReplies.Enqueue((_lastWrite, sender, reply));
            else
                sender.Tell(reply);
            if (IsAbsent && !WritesPending && !_passivating)
            {
                _passivating = true;
                Context.Parent.Tell(new Passivate(PoisonPill.Instance));
            }
            return;
        }

        foreach (var e in events)
            State = State.Apply(e);
        var write = ++_lastWrite;
        var remaining = events.Count;
        var persisting = global::System.Diagnostics.Stopwatch.GetTimestamp();
        List<Task>? effects = null;
        PersistAllAsync(events, e =>
        {
            if (OnPersisted(e) is { } effect)
                (effects ??= []).Add(effect);
            if (--remaining > 0)
                return;
            Metrics.JournalWritten(global::System.Diagnostics.Stopwatch.GetElapsedTime(persisting));
            _completedWrite = write;
            MaybeSnapshot();
            if (effects is null)
            {
                sender.Tell(reply);
                ReleaseWaitingReplies(write);
                return;
            }
            ReleaseWaitingReplies(write);
            // The reply waits for the side effects (they touch no actor state), so that a caller who got it
            // can rely on them, e.g. find a freshly verified number in the phone directory.
            var log = Log;
            var id = PersistenceId;
            Task.WhenAll(effects).ContinueWith(t =>
            {
                if (t.Exception is { } failure)
                {
                    log.Error(failure.GetBaseException(), "{0}: a side effect of a persisted event failed", id);
                    sender.Tell(ReplyWhenEffectFailed(reply, failure.GetBaseException()));
                    return;
                }
                sender.Tell(reply);
            }, TaskScheduler.Default);
        });
    }

    private void ReleaseWaitingReplies(long completed)
    {
        while (_waitingReplies.TryPeek(out var waiting) && waiting.AfterWrite <= completed)
        {
            _waitingReplies.Dequeue();
            waiting.To.Tell(waiting.Reply);
        }
    }

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        Log.Error(cause, "{0} rejected event {1} at {2}", PersistenceId, @event.GetType().Name, sequenceNr);
        base.OnPersistRejected(cause, @event, sequenceNr);
        // The state already includes the rejected event: start over from the journal.
        throw new InvalidOperationException($"{PersistenceId}: the journal rejected {@event.GetType().Name} at {sequenceNr}", cause);
    }
}
