using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Akka.WhatsApp.Domain;

namespace Akka.WhatsApp.Cluster.Entities;

/// <summary>
/// A persistent entity around a pure aggregate: recover by applying events; for each command, decide,
/// persist the events, apply them, and reply only after the persist completed.
/// </summary>
public abstract class AggregateActor<TState, TCommand, TEvent, TReply> : ReceivePersistentActor
    where TState : class, IAggregate<TState, TCommand, TEvent, TReply>
    where TCommand : notnull
    where TEvent : notnull
    where TReply : notnull
{
    protected AggregateActor(string persistenceId, TState initial)
    {
        PersistenceId = persistenceId;
        State = initial;
        Recover<TEvent>(e => State = State.Apply(e));
        Command<TCommand>(Handle);
    }

    public override string PersistenceId { get; }

    protected TState State { get; private set; }

    protected virtual DateTimeOffset Now => DateTimeOffset.UtcNow;

    private void Handle(TCommand command)
    {
        var (reply, events) = State.Decide(command, Now);
        var sender = Sender;
        if (events.Count == 0)
        {
            sender.Tell(reply);
            return;
        }

        var remaining = events.Count;
        PersistAll(events, e =>
        {
            State = State.Apply(e);
            OnPersisted(e);
            if (--remaining == 0)
                sender.Tell(reply);
        });
    }

    /// <summary>Side effects of an event once it is durable (notifications, read models).</summary>
    protected virtual void OnPersisted(TEvent @event)
    {
    }

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        Log.Error(cause, "{0} rejected event {1} at {2}", PersistenceId, @event.GetType().Name, sequenceNr);
        base.OnPersistRejected(cause, @event, sequenceNr);
    }
}
