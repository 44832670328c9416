using Akka.Hosting;
using Akka.WhatsApp.Domain.Scheduling;

namespace Akka.WhatsApp.Cluster.Scheduling;

/// <summary>Registry key of the Schedule shard region.</summary>
public sealed class ScheduleRegion;

public static class ScheduleSharding
{
    public const string TypeName = "schedule";

    /// <summary>
    /// Schedules are remembered entities: one holding pending messages never passivates and restarts by itself after a
    /// crash, a hand-off or a full cluster restart. They are given the account, mailbox and group regions (registered before).
    /// </summary>
    public static AkkaConfigurationBuilder AddScheduleSharding(this AkkaConfigurationBuilder builder, EntitySettings settings, ScheduleOptions options) =>
        builder.WithEntity<ScheduleRegion>(TypeName, (_, registry) =>
            {
                var peers = new Lazy<SchedulePeers>(() => new SchedulePeers(registry.Get<Accounts.AccountRegion>(), registry.Get<Mailbox.MailboxRegion>(),
                    registry.Get<Groups.GroupRegion>(), options));
                return id => ScheduleActor.PropsFor(id, peers.Value);
            },
            m => (m as IScheduleCommand)?.Owner.Value, settings, rememberEntities: true);
}
