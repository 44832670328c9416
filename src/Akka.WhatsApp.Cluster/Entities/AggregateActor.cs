using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Akka.Persistence;
using Akka.WhatsApp.Domain;

namespace Akka.WhatsApp.Cluster.Entities;

/// <summary>
/// A persistent entity around a pure aggregate: recover by applying events; for each command, decide,
/// persist the events, apply them, and reply only after the persist completed. Passivates when idle.
/// </summary>
public abstract class AggregateActor<TState, TCommand, TEvent, TReply> : ReceivePersistentActor, IWithTimers
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
        State = initial;
        Recover<SnapshotOffer>(offer =>
        {
            State = (TState)offer.Snapshot;
            _snapshotSeq = offer.Metadata.SequenceNr;
        });
        Recover<TEvent>(e => State = State.Apply(e));
        Command<SaveSnapshotSuccess>(saved =>
        {
            // Everything up to the snapshot is in it (pending entries included): older events and snapshots can go,
            // so recovery time stays bounded however long the entity lives.
            _snapshotSeq = saved.Metadata.SequenceNr;
            _snapshotting = false;
            DeleteMessages(saved.Metadata.SequenceNr);
            DeleteSnapshots(new SnapshotSelectionCriteria(saved.Metadata.SequenceNr - 1));
        });
        Command<SaveSnapshotFailure>(failed =>
        {
            _snapshotting = false;
            Log.Warning("{0}: snapshot failed: {1}", PersistenceId, failed.Cause.Message);
        });
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(failed => Log.Warning("{0}: deleting old events failed: {1}", PersistenceId, failed.Cause.Message));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(failed => Log.Warning("{0}: deleting old snapshots failed: {1}", PersistenceId, failed.Cause.Message));
        Command<TCommand>(c =>
        {
            if (!Intercept(c))
                Handle(c);
        });
        Command<ReceiveTimeout>(_ =>
        {
            if (MayPassivate)
                Context.Parent.Tell(new Passivate(PoisonPill.Instance));
        });
    }

    public override string PersistenceId { get; }

    public ITimerScheduler Timers { get; set; } = null!;

    protected TState State { get; private set; }

    /// <summary>Save a snapshot after this many events (0: never). The state type needs a serializer binding.</summary>
    protected virtual int SnapshotEvery => 0;

    private long _snapshotSeq;
    private bool _snapshotting;

    private void MaybeSnapshot()
    {
        if (SnapshotEvery <= 0 || _snapshotting || LastSequenceNr - _snapshotSeq < SnapshotEvery)
            return;
        _snapshotting = true;
        SaveSnapshot(State);
    }

    protected virtual DateTimeOffset Now => DateTimeOffset.UtcNow;

    /// <summary>False while the entity holds something that passivation would lose (e.g. attached sessions).</summary>
    protected virtual bool MayPassivate => true;

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
            sender.Tell(reply);
            return;
        }

        var remaining = events.Count;
        List<Task>? effects = null;
        PersistAll(events, e =>
        {
            State = State.Apply(e);
            if (OnPersisted(e) is { } effect)
                (effects ??= []).Add(effect);
            if (--remaining > 0)
                return;
            MaybeSnapshot();
            if (effects is null)
            {
                sender.Tell(reply);
                return;
            }
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

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        Log.Error(cause, "{0} rejected event {1} at {2}", PersistenceId, @event.GetType().Name, sequenceNr);
        base.OnPersistRejected(cause, @event, sequenceNr);
    }
}
