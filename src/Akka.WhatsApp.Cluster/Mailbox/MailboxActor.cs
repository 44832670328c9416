using Akka.Actor;
using Akka.WhatsApp.Cluster.Entities;
using Akka.WhatsApp.Domain.Mailbox;

namespace Akka.WhatsApp.Cluster.Mailbox;

/// <summary>The sharded persistent entity of one user's mailbox.</summary>
public sealed class MailboxActor(string ownerId)
    : AggregateActor<MailboxState, IMailboxCommand, IMailboxEvent, IMailboxReply>(PersistenceIdFor(ownerId), MailboxState.Empty)
{
    public static string PersistenceIdFor(string ownerId) => "mailbox-" + ownerId;

    public static Props PropsFor(string ownerId) => Props.Create(() => new MailboxActor(ownerId));
}
