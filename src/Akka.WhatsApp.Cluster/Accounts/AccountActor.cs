using Akka.Cluster.Tools.PublishSubscribe;
using Akka.WhatsApp.Domain.Accounts;
using Akka.WhatsApp.Domain.Presence;

namespace Akka.WhatsApp.Cluster.Accounts;

/// <summary>
/// The sharded persistent entity of one user's account. After a change of the device list it tells every live
/// session of the user, on every node (the user's pub-sub topic), which devices and tokens may still act: a removed
/// device's connection closes at once instead of acting as the user until its next login. After a change of privacy,
/// contacts or blocks it tells the sessions following the user's presence to check again whether they may.
/// </summary>
public sealed class AccountActor(string userId, IActorRef sessions)
    : AggregateActor<AccountState, IAccountCommand, IAccountEvent, IAccountReply>("account-" + userId, AccountState.Empty)
{
    private readonly UserId _user = new(userId);

    public static Props PropsFor(string userId, IActorRef sessions) => Props.Create(() => new AccountActor(userId, sessions));

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
        return null;
    }
}
