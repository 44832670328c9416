using Akka.Cluster.Tools.PublishSubscribe;
using Akka.WhatsApp.Domain.Accounts;
using Akka.WhatsApp.Domain.Presence;

namespace Akka.WhatsApp.Cluster.Accounts;

/// <summary>
/// The sharded persistent entity of one user's account. After a change of the device list it tells every live
/// session of the user, on every node (the user's pub-sub topic), which devices and tokens may still act: a removed
/// device's connection closes at once instead of acting as the user until its next login. After a change of privacy,
/// contacts or blocks it tells the sessions following the user's presence to check again whether they may. After a
/// link or an unlink it stores device_list_changed in the user's mailbox, for every device (the reply waits for it).
/// </summary>
public sealed class AccountActor(string userId, IActorRef sessions, IActorRef mailboxes)
    : AggregateActor<AccountState, IAccountCommand, IAccountEvent, IAccountReply>("account-" + userId, AccountState.Empty)
{
    private readonly UserId _user = new(userId);

    public static Props PropsFor(string userId, IActorRef sessions, IActorRef mailboxes) => Props.Create(() => new AccountActor(userId, sessions, mailboxes));

    private static readonly TimeSpan MailboxTimeout = TimeSpan.FromSeconds(10);

    protected override bool IsAbsent => !State.Exists;

    protected override Task? OnPersisted(IAccountEvent @event)
    {
        if (AccountState.ChangesDevices(@event))
            sessions.Tell(new Publish(PresenceTopics.Inbox(_user), State.DevicesNotice(_user)));
        if (AccountState.ChangesPresenceAccess(@event, out var other))
        {
            // Privacy and blocks apply to subscriptions that exist already, not only to new ones.
            sessions.Tell(new Publish(PresenceTopics.Presence(_user), new PresenceAccessChanged(_user)));
            if (other is { } target)
                sessions.Tell(new Publish(PresenceTopics.Inbox(_user), new PresenceAccessChanged(target)));
        }
        if (State.DeviceListMessage(_user, @event) is { } notice)
            return mailboxes.Ask<Domain.Mailbox.IMailboxReply>(notice, MailboxTimeout);
        return null;
    }
}
