using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Hosting;
using Akka.WhatsApp.Domain.Mailbox;

namespace Akka.WhatsApp.Cluster.Mailbox;

/// <summary>Registry key of the Mailbox shard region.</summary>
public sealed class MailboxRegion;

public static class MailboxSharding
{
    public const string TypeName = "mailbox";

    /// <summary>
    /// Mailboxes are given their peers when they start (the mailbox and account regions, registered by then; a missing
    /// one fails the entity's start loudly), the presence bus and the node's push pipeline (<paramref name="push"/>; none: off).
    /// </summary>
    public static AkkaConfigurationBuilder AddMailboxSharding(this AkkaConfigurationBuilder builder, EntitySettings settings,
        Notifications.PushService? push = null) =>
        builder.WithEntity<MailboxRegion>(TypeName, (system, registry) =>
        {
            var bus = DistributedPubSub.Get(system).Mediator;
            // Resolved with the first entity: the regions are registered only after every region has started.
            var peers = new Lazy<MailboxPeers>(() =>
            {
                var accounts = registry.Get<Accounts.AccountRegion>();
                return new MailboxPeers(registry.Get<MailboxRegion>(), accounts, bus, push?.QueueFor(system, accounts));
            });
            return owner => MailboxActor.PropsFor(owner, peers.Value, settings.SnapshotEvery);
        }, m => (m as IMailboxCommand)?.Owner.Value, settings);
}
