using Akka.Hosting;
using Akka.WhatsApp.Domain.Sync;

namespace Akka.WhatsApp.Cluster.Sync;

/// <summary>Registry key of the history sync shard region.</summary>
public sealed class HistorySyncRegion;

public static class HistorySyncSharding
{
    public const string TypeName = "history-sync";

    /// <summary>
    /// Remembered entities: an account with syncs keeps its entity running (and restarted after a crash or a hand-off) so that
    /// its retention timer deletes the chunks on time; it passivates, and is forgotten, once it holds none.
    /// </summary>
    public static AkkaConfigurationBuilder AddHistorySyncSharding(this AkkaConfigurationBuilder builder, EntitySettings settings) =>
        builder.WithEntity<HistorySyncRegion>(TypeName, HistorySyncActor.PropsFor, m => (m as IHistorySyncCommand)?.User.Value, settings, rememberEntities: true);
}
