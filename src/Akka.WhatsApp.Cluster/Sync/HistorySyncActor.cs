using Akka.WhatsApp.Domain.Sync;

namespace Akka.WhatsApp.Cluster.Sync;

/// <summary>
/// The sharded persistent entity of one account's history syncs (PROTOCOL.md §17), around <see cref="HistorySyncState"/>.
/// One entity per account rather than per sync: the rules are about the account's devices (only its primary uploads, only
/// the asking companion fetches), so a device of another account, asking its own account's entity, never finds the sync.
/// <para>
/// Retention runs on the node's clock (<see cref="EntityClock"/>): a timer at the next expiry forgets the syncs whose 7
/// days are up, and then the journal is compacted (snapshot and delete, or delete everything once no sync is left), so
/// that the ciphertext does not outlive its retention in the database either. The entity is remembered while it holds
/// syncs (it does not passivate, and is restarted after a restart or a hand-off) so that the timer is always armed.
/// </para>
/// </summary>
public sealed class HistorySyncActor : AggregateActor<HistorySyncState, IHistorySyncCommand, IHistorySyncEvent, IHistorySyncReply>
{
    /// <summary>Told to itself once writes are done, to take what was forgotten out of the journal.</summary>
    private sealed class Compact : INoSerializationVerificationNeeded
    {
        public static readonly Compact Instance = new();
    }

    private readonly UserId _user;
    private readonly DueTimer _expiry;

    public HistorySyncActor(string userId) : base("history-sync-" + userId, HistorySyncState.Empty)
    {
        _user = new UserId(userId);
        _expiry = new DueTimer(EntityClock.Of(Context.System));
    }

    public static Props PropsFor(string userId) => Props.Create(() => new HistorySyncActor(userId));

    /// <summary>Chunks are up to 128 KiB each: a snapshot every few events keeps recovery short.</summary>
    protected override int SnapshotEvery => 32;

    protected override bool MayPassivate => State.Syncs.IsEmpty && !WritesPending;

    protected override IHistorySyncCommand Prepare(IHistorySyncCommand command) =>
        command is HistorySyncCommands.Request { NewId.Value: null } r ? r with { NewId = SyncId.New() } : command;

    /// <summary>Also when the retention passed while the entity was not running (a node down for days): the timer is then due at once.</summary>
    protected override void OnRecovered() => Arm();

    protected override Task? OnPersisted(IHistorySyncEvent @event)
    {
        Arm();
        if (@event is HistorySyncEvents.Removed)
            Self.Tell(Compact.Instance);
        return null;
    }

    protected override bool HandleOther(object message)
    {
        switch (message)
        {
            case Compact when WritesPending:
                Self.Tell(Compact.Instance);
                return true;
            case Compact when State.Syncs.IsEmpty:
                // The empty state is the initial one: nothing needs to survive, not even a snapshot.
                DeleteMessages(LastSequenceNr);
                DeleteSnapshots(new Akka.Persistence.SnapshotSelectionCriteria(LastSequenceNr));
                return true;
            case Compact:
                SaveSnapshot(State); // the base deletes the events and older snapshots once it is saved
                return true;
            case HistorySyncReplies.Expired:
                // The answer to the timer's Expire: armed again for what is left (also when the timer ran a moment early).
                _expiry.Fired();
                Arm();
                return true;
            case IHistorySyncReply:
                return true;
            default:
                return false;
        }
    }

    /// <summary>(Re)arms the retention timer for the next expiry, on the entity clock.</summary>
    private void Arm()
    {
        var (self, user) = (Self, _user);
        _expiry.Arm(State.NextExpiry, () => self.Tell(new HistorySyncCommands.Expire(user), self));
    }

    protected override void PostStop()
    {
        _expiry.Dispose();
        base.PostStop();
    }
}
