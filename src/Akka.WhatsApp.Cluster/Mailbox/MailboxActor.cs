using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Akka.WhatsApp.Domain.Mailbox;

namespace Akka.WhatsApp.Cluster.Mailbox;

/// <summary>
/// The sharded persistent entity around <see cref="MailboxState"/>: decides, persists, applies,
/// and replies only after the persist completed, so an acknowledged send is durable.
/// </summary>
public sealed class MailboxActor : ReceivePersistentActor
{
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private MailboxState _state = MailboxState.Empty;

    public MailboxActor(string ownerId)
    {
        PersistenceId = PersistenceIdFor(ownerId);

        Recover<IMailboxEvent>(e => _state = _state.Apply(e));
        Command<IMailboxCommand>(Handle);
    }

    public override string PersistenceId { get; }

    public static string PersistenceIdFor(string ownerId) => "mailbox-" + ownerId;

    public static Props PropsFor(string ownerId) => Props.Create(() => new MailboxActor(ownerId));

    private void Handle(IMailboxCommand command)
    {
        var (reply, events) = _state.Decide(command, DateTimeOffset.UtcNow);
        if (events.Count == 0)
        {
            Sender.Tell(reply);
            return;
        }

        var sender = Sender;
        var remaining = events.Count;
        PersistAll(events, e =>
        {
            _state = _state.Apply(e);
            if (--remaining == 0)
                sender.Tell(reply);
        });
    }

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        _log.Error(cause, "Mailbox {0} rejected event {1} at {2}", PersistenceId, @event.GetType().Name, sequenceNr);
        base.OnPersistRejected(cause, @event, sequenceNr);
    }
}
