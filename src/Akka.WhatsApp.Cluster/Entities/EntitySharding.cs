using Akka.Cluster.Hosting;
using Akka.Cluster.Sharding;
using Akka.Hosting;

namespace Akka.WhatsApp.Cluster.Entities;

/// <summary>Sharding settings shared by the entity types.</summary>
public sealed record EntitySettings(int NumberOfShards = 100, string? Role = null)
{
    /// <summary>Events between snapshots of a mailbox (recovery replays at most this many after its snapshot).</summary>
    public int SnapshotEvery { get; init; } = Mailbox.MailboxActor.DefaultSnapshotEvery;
}

/// <summary>Routes a message to the entity its <paramref name="entityId"/> function names.</summary>
public sealed class EntityMessageExtractor(int maxNumberOfShards, Func<object, string?> entityId) : HashCodeMessageExtractor(maxNumberOfShards)
{
    public override string? EntityId(object message) => entityId(message);
}

public static class EntitySharding
{
    /// <summary>
    /// Registers one entity type's shard region. Per-user entities are not remembered (they passivate when
    /// idle and come back on their next message). <paramref name="rememberEntities"/> makes the shard restart
    /// its running entities after a crash or a hand-off, for entities with work of their own (a group's
    /// unfinished fan-out); they are remembered in the journal (the event-sourced store: the durable DData
    /// store needs LightningDB, whose resolvable version is broken) and forgotten when they passivate. The
    /// coordinator of such a region keeps its state in the journal too: with DData and no durable keys it
    /// would forget after a full restart which shards to start, and the remembered entities with them.
    /// </summary>
    public static AkkaConfigurationBuilder WithEntity<TRegion>(this AkkaConfigurationBuilder builder, string typeName,
        Func<string, Props> props, Func<object, string?> entityId, EntitySettings settings, bool rememberEntities = false) =>
        builder.WithEntity<TRegion>(typeName, (_, _) => props, entityId, settings, rememberEntities);

    /// <summary>
    /// As above, for entities that are given collaborators when the region starts (<paramref name="props"/> gets the
    /// actor system and the registry of the regions registered before): a missing collaborator fails the start, not a message.
    /// </summary>
    public static AkkaConfigurationBuilder WithEntity<TRegion>(this AkkaConfigurationBuilder builder, string typeName,
        Func<ActorSystem, IActorRegistry, Func<string, Props>> props, Func<object, string?> entityId, EntitySettings settings,
        bool rememberEntities = false) =>
        builder
            .AddHocon(ClusterSerialization.Config, HoconAddMode.Prepend)
            .WithShardRegion<TRegion>(typeName, props, new EntityMessageExtractor(settings.NumberOfShards, entityId), new ShardOptions
            {
                Role = settings.Role,
                StateStoreMode = rememberEntities ? StateStoreMode.Persistence : StateStoreMode.DData,
                RememberEntities = rememberEntities,
                RememberEntitiesStore = RememberEntitiesStore.Eventsourced,
            });
}
