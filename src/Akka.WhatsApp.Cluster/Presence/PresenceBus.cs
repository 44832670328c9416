using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Hosting;

namespace Akka.WhatsApp.Cluster.Presence;

/// <summary>
/// Registry key of the distributed pub-sub mediator that carries presence and typing between nodes.
/// Ephemeral by design: nothing on it is persisted and nothing on the message path waits for it.
/// </summary>
public sealed class PresenceBus;

public static class PresenceRegistration
{
    /// <summary>Registers the pub-sub mediator as the <see cref="PresenceBus"/>.</summary>
    public static AkkaConfigurationBuilder AddPresenceBus(this AkkaConfigurationBuilder builder) =>
        builder.AddStartup((system, registry) => registry.Register<PresenceBus>(DistributedPubSub.Get(system).Mediator));
}
