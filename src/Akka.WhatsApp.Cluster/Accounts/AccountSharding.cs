using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Hosting;
using Akka.WhatsApp.Domain.Accounts;

namespace Akka.WhatsApp.Cluster.Accounts;

/// <summary>Registry key of the Account shard region.</summary>
public sealed class AccountRegion;

public static class AccountSharding
{
    public const string TypeName = "account";

    /// <summary>
    /// Accounts publish their device changes on the distributed pub-sub mediator (the presence bus) and store them in
    /// the user's mailbox (the mailbox region, looked up when an entity starts).
    /// </summary>
    public static AkkaConfigurationBuilder AddAccountSharding(this AkkaConfigurationBuilder builder, EntitySettings settings) =>
        builder.WithEntity<AccountRegion>(TypeName, (system, registry) =>
        {
            var mediator = DistributedPubSub.Get(system).Mediator;
            return id => AccountActor.PropsFor(id, mediator, registry.Get<Mailbox.MailboxRegion>());
        }, m => (m as IAccountCommand)?.User.Value, settings);
}
