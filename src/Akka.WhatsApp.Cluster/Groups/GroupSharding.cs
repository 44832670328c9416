using Akka.Hosting;
using Akka.WhatsApp.Domain.Groups;

namespace Akka.WhatsApp.Cluster.Groups;

/// <summary>Registry key of the Group shard region.</summary>
public sealed class GroupRegion;

public static class GroupSharding
{
    public const string TypeName = "group";

    /// <summary>Groups are remembered entities: one that crashed in the middle of a fan-out restarts and finishes it.</summary>
    public static AkkaConfigurationBuilder AddGroupSharding(this AkkaConfigurationBuilder builder, EntitySettings settings, GroupOptions options) =>
        builder.WithEntity<GroupRegion>(TypeName, (_, registry) => id => GroupActor.PropsFor(id, options, registry.Get<Mailbox.MailboxRegion>()),
            m => (m as IGroupCommand)?.Group.Value, settings, rememberEntities: true);
}
