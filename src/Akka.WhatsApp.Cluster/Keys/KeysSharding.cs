using Akka.Hosting;
using Akka.WhatsApp.Domain.Keys;

namespace Akka.WhatsApp.Cluster.Keys;

/// <summary>Registry key of the key directory's shard region.</summary>
public sealed class KeysRegion;

public static class KeysSharding
{
    public const string TypeName = "keys";

    public static AkkaConfigurationBuilder AddKeysSharding(this AkkaConfigurationBuilder builder, EntitySettings settings) =>
        builder.WithEntity<KeysRegion>(TypeName, KeysActor.PropsFor, m => (m as IKeyCommand)?.User.Value, settings);
}
