using Akka.Hosting;
using Akka.WhatsApp.Cluster.Entities;
using Akka.WhatsApp.Domain.Mailbox;

namespace Akka.WhatsApp.Cluster.Mailbox;

/// <summary>Registry key of the Mailbox shard region.</summary>
public sealed class MailboxRegion;

public static class MailboxSharding
{
    public const string TypeName = "mailbox";

    public static AkkaConfigurationBuilder AddMailboxSharding(this AkkaConfigurationBuilder builder, EntitySettings settings) =>
        builder.WithEntity<MailboxRegion>(TypeName, owner => MailboxActor.PropsFor(owner, settings.SnapshotEvery), m => (m as IMailboxCommand)?.Owner.Value, settings);
}
