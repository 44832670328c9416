namespace Akka.WhatsApp.Domain;

/// <summary>
/// The shape of every aggregate's state: a pure decision (command → reply and events) and a pure fold
/// (event → next state). The persistent actor around it persists the events before it replies.
/// </summary>
public interface IAggregate<TSelf, in TCommand, TEvent, TReply>
    where TSelf : IAggregate<TSelf, TCommand, TEvent, TReply>
{
    (TReply Reply, IReadOnlyList<TEvent> Events) Decide(TCommand command, DateTimeOffset now);

    TSelf Apply(TEvent @event);
}
