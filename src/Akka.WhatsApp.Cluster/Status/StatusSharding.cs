using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Hosting;
using Akka.WhatsApp.Domain.Media;
using Akka.WhatsApp.Domain.Status;

namespace Akka.WhatsApp.Cluster.Status;

/// <summary>Registry key of the Status shard region.</summary>
public sealed class StatusRegion;

public static class StatusSharding
{
    public const string TypeName = "status";

    /// <summary>
    /// Status entities are remembered: one holding posts or feed entries never passivates, so after a crash or a move
    /// it restarts by itself and keeps its expiry (and its unfinished fan-out). <paramref name="media"/> gives the node's
    /// media service when an entity starts (null: posts carry no media here).
    /// </summary>
    public static AkkaConfigurationBuilder AddStatusSharding(this AkkaConfigurationBuilder builder, EntitySettings settings, StatusOptions options,
        Func<MediaService?> media) =>
        builder.WithEntity<StatusRegion>(TypeName, (system, registry) =>
        {
            var peers = new Lazy<StatusPeers>(() => new StatusPeers(() => registry.Get<StatusRegion>(), DistributedPubSub.Get(system).Mediator, media(), options));
            return id => StatusActor.PropsFor(id, peers.Value);
        }, m => (m as IStatusCommand)?.Owner.Value, settings, rememberEntities: true);
}
