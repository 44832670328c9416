using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using Akka.WhatsApp.Cluster.Serialization;
using Akka.WhatsApp.Domain.Mailbox;

namespace Akka.WhatsApp.Cluster.Mailbox;

/// <summary>Registry key of the Mailbox shard region.</summary>
public sealed class MailboxRegion;

/// <summary>Routes every <see cref="IMailboxCommand"/> to the entity of its owner.</summary>
public sealed class MailboxMessageExtractor(int maxNumberOfShards) : HashCodeMessageExtractor(maxNumberOfShards)
{
    public override string? EntityId(object message) => message switch
    {
        IMailboxCommand c => c.Owner.Value,
        _ => null,
    };
}

public static class MailboxSharding
{
    public const string TypeName = "mailbox";

    /// <summary>Registers the storage serializers and the Mailbox shard region.</summary>
    public static AkkaConfigurationBuilder AddMailboxSharding(this AkkaConfigurationBuilder builder, EntitySettings settings)
    {
        builder.AddHocon(ClusterSerialization.Config, HoconAddMode.Prepend);

        return builder.WithShardRegion<MailboxRegion>(
            TypeName,
            MailboxActor.PropsFor,
            new MailboxMessageExtractor(settings.NumberOfShards),
            new ShardOptions
            {
                Role = settings.Role,
                StateStoreMode = StateStoreMode.DData,
                RememberEntities = false,
            });
    }
}

/// <summary>Sharding settings shared by the entity types.</summary>
public sealed record EntitySettings(int NumberOfShards = 100, string? Role = null);
