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
    /// one fails the entity's start loudly) and the presence bus.
    /// </summary>
    public static AkkaConfigurationBuilder AddMailboxSharding(this AkkaConfigurationBuilder builder, EntitySettings settings) =>
        builder.WithEntity<MailboxRegion>(TypeName, (system, registry) =>
        {
            var bus = DistributedPubSub.Get(system).Mediator;
            return owner => MailboxActor.PropsFor(owner, new MailboxPeers(registry.Get<MailboxRegion>(), registry.Get<Accounts.AccountRegion>(), bus),
                settings.SnapshotEvery);
        }, m => (m as IMailboxCommand)?.Owner.Value, settings);
}
