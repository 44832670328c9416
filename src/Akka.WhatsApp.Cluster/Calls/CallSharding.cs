using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Hosting;
using Akka.WhatsApp.Domain.Calls;

namespace Akka.WhatsApp.Cluster.Calls;

/// <summary>Registry key of the Call shard region.</summary>
public sealed class CallRegion;

public static class CallSharding
{
    public const string TypeName = "call";

    /// <summary>Calls are given the mailbox region (registered before), the presence bus and the node's push queue (none: no VoIP pushes).</summary>
    public static AkkaConfigurationBuilder AddCallSharding(this AkkaConfigurationBuilder builder, EntitySettings settings, CallOptions options,
        Notifications.PushService? push = null) =>
        builder.WithEntity<CallRegion>(TypeName, (system, registry) =>
        {
            var bus = DistributedPubSub.Get(system).Mediator;
            var peers = new Lazy<CallPeers>(() =>
            {
                var mailboxes = registry.Get<Mailbox.MailboxRegion>();
                return new CallPeers(mailboxes, bus, push?.QueueFor(system, registry.Get<Accounts.AccountRegion>()) ?? Notifications.PushQueue.Off, options);
            });
            return id => CallActor.PropsFor(id, peers.Value);
        }, m => (m as ICallCommand)?.Call.Value, settings);
}
