using Akka.Actor.Setup;

namespace Akka.WhatsApp.Cluster.Entities;

/// <summary>The clock the node gives its entities (an <see cref="ActorSystemSetup"/> part); without one they use the system clock.</summary>
public sealed class EntityClockSetup(TimeProvider time) : Setup
{
    public TimeProvider Time { get; } = time;
}

/// <summary>
/// The time every entity decides with (code expiry and rate limits, message timestamps, last seen): the node's
/// <see cref="TimeProvider"/>, so that tests step over a 30-second rate limit instead of sleeping through it.
/// </summary>
public sealed class EntityClock : IExtension
{
    private EntityClock(TimeProvider time) => Time = time;

    public TimeProvider Time { get; }

    public static TimeProvider Of(ActorSystem system) => system.WithExtension<EntityClock, EntityClockExtension>().Time;

    public sealed class EntityClockExtension : ExtensionIdProvider<EntityClock>
    {
        public override EntityClock CreateExtension(ExtendedActorSystem system) =>
            new(system.Settings.Setup.Get<EntityClockSetup>() is { HasValue: true } setup ? setup.Value.Time : TimeProvider.System);
    }
}
