using Akka.WhatsApp.Domain.Keys;

namespace Akka.WhatsApp.Cluster.Keys;

/// <summary>
/// The sharded persistent entity of one user's public keys. One entity per user serializes every fetch of that
/// user's bundles, whichever node the requests come through, and a one-time prekey is recorded as taken before
/// the bundle carrying it leaves: each is handed out at most once, even to concurrent senders.
/// </summary>
public sealed class KeysActor(string userId) : AggregateActor<KeyState, IKeyCommand, IKeyEvent, IKeyReply>("keys-" + userId, KeyState.Empty)
{
    /// <summary>Events between snapshots; a snapshot holds every device's keys (at most ~60 kB per device).</summary>
    public const int SnapshotAfter = 200;

    public static Props PropsFor(string userId) => Props.Create(() => new KeysActor(userId));

    protected override int SnapshotEvery => SnapshotAfter;

    /// <summary>A user who published nothing (or a made-up id) does not keep an entity.</summary>
    protected override bool IsAbsent => State.Devices.IsEmpty;
}
