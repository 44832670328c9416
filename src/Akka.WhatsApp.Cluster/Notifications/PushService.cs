namespace Akka.WhatsApp.Cluster.Notifications;

/// <summary>
/// The node's push service: its providers and options, and the pipeline, started once with the actor system (when the
/// mailbox region starts its first entity, the account region it asks exists). Disposed with the node: the providers'
/// HTTP connections close.
/// </summary>
public sealed class PushService(IReadOnlyList<IPushProvider> providers, PushOptions options, PushMetrics metrics, TimeProvider time) : IDisposable
{
    private readonly Lock _gate = new();
    private PushQueue? _queue;

    public IReadOnlyList<IPushProvider> Providers { get; } = providers;

    public PushMetrics Metrics { get; } = metrics;

    public void Dispose()
    {
        foreach (var provider in Providers.OfType<IDisposable>())
            provider.Dispose();
    }

    public PushQueue QueueFor(ActorSystem system, IActorRef accounts)
    {
        lock (_gate)
            return _queue ??= PushPipeline.Start(system, accounts, Providers, options, Metrics, time);
    }
}
