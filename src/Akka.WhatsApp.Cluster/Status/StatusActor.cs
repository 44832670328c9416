using Akka.Cluster.Tools.PublishSubscribe;
using Akka.WhatsApp.Domain.Media;
using Akka.WhatsApp.Domain.Presence;
using Akka.WhatsApp.Domain.Status;
using C = Akka.WhatsApp.Domain.Status.StatusCommands;
using E = Akka.WhatsApp.Domain.Status.StatusEvents;
using R = Akka.WhatsApp.Domain.Status.StatusReplies;

namespace Akka.WhatsApp.Cluster.Status;

/// <summary>How a Status entity fans out its posts to the viewers' feed indexes.</summary>
public sealed record StatusOptions
{
    /// <summary>Viewer entities asked at the same time by one poster (a post goes to at most 1,024 users).</summary>
    public int FanOutParallelism { get; init; } = 64;

    public TimeSpan IndexTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan RetryAfter { get; init; } = TimeSpan.FromSeconds(1);

    public int SnapshotEvery { get; init; } = 100;
}

/// <summary>
/// What a Status entity talks to: its own region (the viewers' entities), the presence bus (StatusUpdated hints to
/// sessions) and the media service (a post's media is kept exactly as long as the post; null: no media on this node).
/// </summary>
public sealed record StatusPeers(Func<IActorRef> Region, IActorRef PresenceBus, MediaService? Media, StatusOptions Options);

/// <summary>
/// The sharded persistent Status entity of one user (PROTOCOL.md §14): its own posts and its feed index, decided by
/// <see cref="StatusState"/>. Once a post is durable it is indexed in every audience user's entity through the fan-out
/// the groups use (<see cref="FanOutPump{TKey}"/>: bounded parallelism, retried until acknowledged, re-sent after a restart until <see cref="E.FannedOut"/> is recorded; the
/// index is idempotent), and each audience user's devices get a StatusUpdated hint once their index has it.
/// <para>
/// Expiry must survive restarts and moves: an entity that holds posts or index entries never passivates, and the
/// region remembers its entities, so it comes back by itself after a crash or a hand-off; it arms one timer on the
/// node's clock (<see cref="EntityClock"/>) for the next expiry and removes what is overdue as soon as it recovers. A
/// deleted or expired post's media is released, and a snapshot is saved right after so that the journal deletes the
/// events that held its ciphertexts: they are gone, not hidden. An empty entity stops and is forgotten.
/// </para>
/// </summary>
public sealed class StatusActor : AggregateActor<StatusState, IStatusCommand, IStatusEvent, IStatusReply>
{
    private sealed record IndexDone(StatusId Id, UserId Viewer, bool Ok) : INoSerializationVerificationNeeded;

    private sealed class ExpiryTick : INoSerializationVerificationNeeded
    {
        public static readonly ExpiryTick Instance = new();
    }

    private sealed class Rearm : INoSerializationVerificationNeeded
    {
        public static readonly Rearm Instance = new();
    }

    private sealed class Retry : INoSerializationVerificationNeeded
    {
        public static readonly Retry Instance = new();
    }

    private sealed class Purge : INoSerializationVerificationNeeded
    {
        public static readonly Purge Instance = new();
    }

    private readonly UserId _owner;
    private readonly StatusPeers _peers;
    private IActorRef? _region;

    // Fan-out progress lives in memory only: after a restart every post not yet FannedOut goes to all its audience again.
    private readonly FanOutPump<(StatusId Id, UserId Viewer)> _fanOut;
    private readonly Dictionary<StatusId, int> _remaining = new();

    /// <summary>Posts being removed (captured before the decision removes them from the state): whom to tell, what to release.</summary>
    private readonly Dictionary<StatusId, StatusPost> _removing = new();

    private DueTimer? _expiry;
    private bool _purgeWanted;

    public StatusActor(string userId, StatusPeers peers) : base(PersistenceIdFor(userId), StatusState.Empty)
    {
        _owner = new UserId(userId);
        _peers = peers;
        _fanOut = new FanOutPump<(StatusId, UserId)>(peers.Options.FanOutParallelism);
    }

    public static string PersistenceIdFor(string userId) => "status-" + userId;

    public static Props PropsFor(string userId, StatusPeers peers) => Props.Create(() => new StatusActor(userId, peers));

    protected override int SnapshotEvery => _peers.Options.SnapshotEvery;

    /// <summary>An entity holding posts or index entries has an expiry to keep: it stays (and stays remembered).</summary>
    protected override bool MayPassivate => State.IsEmpty && _remaining.Count == 0 && _fanOut.InFlight == 0;

    protected override bool IsAbsent => MayPassivate && !WritesPending;

    private IActorRef Region => _region ??= _peers.Region();

    protected override void OnRecovered()
    {
        foreach (var post in State.Posts.Values.Where(p => !p.FannedOut))
            Track(post);
        Pump();
        Reschedule();
    }

    protected override void OnStateChanged(StatusState state)
    {
        if (!IsRecovering)
            Reschedule();
    }

    protected override IStatusCommand Prepare(IStatusCommand command)
    {
        switch (command)
        {
            case C.Delete d when State.Posts.TryGetValue(d.Id, out var post):
                _removing[d.Id] = post;
                break;
            case C.ExpireDue:
                // A little ahead of now: the decision reads the clock again a moment later.
                var soon = Now + TimeSpan.FromMinutes(1);
                foreach (var post in State.Posts.Values.Where(p => p.ExpiresAt <= soon))
                    _removing[post.Id] = post;
                break;
        }
        return command;
    }

    protected override bool Intercept(IStatusCommand command)
    {
        if (command is C.ExpireDue)
            Self.Tell(Rearm.Instance); // after the decision: arm the timer for what remains, also when nothing was due
        return false;
    }

    protected override Task? OnPersisted(IStatusEvent @event)
    {
        switch (@event)
        {
            case E.Posted posted:
                Track(posted.Post);
                Pump();
                // The upload's own retention (24 h from its completion) becomes the post's: kept exactly as long.
                return posted.Post.MediaId.Length > 0 && _peers.Media is { } media
                    ? media.KeepUntilAsync(posted.Post.MediaId, posted.Post.ExpiresAt, CancellationToken.None)
                    : null;
            case E.Deleted deleted when _removing.Remove(deleted.Id, out var post):
                foreach (var viewer in post.Ciphertexts.Keys)
                    Hint(post, viewer, deleted: true);
                PurgeJournal();
                return Release([post], deleted.At);
            case E.Expired expired:
                var gone = expired.Ids.Select(id => _removing.Remove(id, out var p) ? p : null).OfType<StatusPost>().ToList();
                _removing.Clear();
                PurgeJournal();
                return Release(gone, expired.At);
            default:
                return null;
        }
    }

    protected override bool HandleOther(object message)
    {
        switch (message)
        {
            case IndexDone done:
                OnIndexDone(done);
                return true;
            case Retry:
                _fanOut.RetryFailed();
                Pump();
                return true;
            case ExpiryTick:
                _expiry?.Fired();
                Run(new C.ExpireDue(_owner));
                return true;
            case Rearm:
                _expiry?.Fired();
                Reschedule();
                return true;
            case Purge when WritesPending:
                Timers.StartSingleTimer("purge", Purge.Instance, TimeSpan.FromMilliseconds(50));
                return true;
            case Purge:
                if (_purgeWanted)
                {
                    // Only a state without pending writes may be a snapshot; once saved, the base deletes the events before it.
                    _purgeWanted = false;
                    SaveSnapshot(State);
                }
                return true;
            case R.Done:
                return true; // the answer to this entity's own ExpireDue
            default:
                return false;
        }
    }

    /// <summary>Runs a command of this entity's own through the same path as any other (decide, persist, apply).</summary>
    private void Run(IStatusCommand command) => Self.Tell(command, Self);

    private void Track(StatusPost post)
    {
        if (_remaining.ContainsKey(post.Id))
            return;
        var audience = post.AudienceOf(_owner).ToList();
        _remaining[post.Id] = audience.Count;
        foreach (var viewer in audience)
            _fanOut.Ready((post.Id, viewer));
        // The poster's other devices are told at once: their own entity needs no index.
        Hint(post, _owner, deleted: false);
        if (audience.Count == 0)
            MarkFannedOut(post.Id);
    }

    private void Pump()
    {
        var (timeout, self) = (_peers.Options.IndexTimeout, Self);
        _fanOut.Pump(next =>
        {
            if (!State.Posts.TryGetValue(next.Id, out var post))
            {
                _remaining.Remove(next.Id); // deleted or expired meanwhile: nothing more to index
                return false;
            }
            var (id, viewer) = next;
            Region.Ask<IStatusReply>(new C.Index(viewer, _owner, id, post.ExpiresAt), timeout)
                .ContinueWith(t => new IndexDone(id, viewer, t.IsCompletedSuccessfully && t.Result is R.Done), TaskScheduler.Default)
                .PipeTo(self);
            return true;
        });
    }

    private void OnIndexDone(IndexDone done)
    {
        if (_fanOut.Completed((done.Id, done.Viewer), done.Ok))
            Timers.StartSingleTimer("retry", Retry.Instance, _peers.Options.RetryAfter);
        if (!done.Ok)
        {
            // The viewer's entity did not answer (its node may be moving): again shortly.
            Pump();
            return;
        }
        if (State.Posts.TryGetValue(done.Id, out var post))
            Hint(post, done.Viewer, deleted: false); // now the viewer's feed has it
        if (_remaining.TryGetValue(done.Id, out var left))
        {
            if (left <= 1)
                MarkFannedOut(done.Id);
            else
                _remaining[done.Id] = left - 1;
        }
        Pump();
    }

    private void MarkFannedOut(StatusId id)
    {
        _remaining.Remove(id);
        if (!State.Posts.ContainsKey(id))
            return;
        PersistAsync(new E.FannedOut(id), ApplyPersisted);
    }

    /// <summary>The StatusUpdated hint to <paramref name="to"/>'s devices the post was encrypted for (the owner: its other devices).</summary>
    private void Hint(StatusPost post, UserId to, bool deleted)
    {
        var devices = post.Ciphertexts.TryGetValue(to, out var own) ? own.Keys.ToImmutableArray() : [];
        if (devices.IsEmpty)
            return;
        _peers.PresenceBus.Tell(new Publish(PresenceTopics.Inbox(to), new StatusHint(to, devices, _owner, post.Id, deleted)));
    }

    private Task? Release(IReadOnlyCollection<StatusPost> posts, DateTimeOffset at) =>
        _peers.Media is { } media && posts.Any(p => p.MediaId.Length > 0)
            ? Task.WhenAll(posts.Where(p => p.MediaId.Length > 0).Select(p => media.KeepUntilAsync(p.MediaId, at, CancellationToken.None)))
            : null;

    private void PurgeJournal()
    {
        _purgeWanted = true;
        Self.Tell(Purge.Instance);
    }

    /// <summary>Arms the one timer for the next expiry on the node's clock; an overdue one is handled at once.</summary>
    private void Reschedule()
    {
        var self = Self;
        (_expiry ??= new DueTimer(EntityClock.Of(Context.System))).Arm(State.NextExpiry, () => self.Tell(ExpiryTick.Instance));
    }

    protected override void PostStop()
    {
        _expiry?.Dispose();
        base.PostStop();
    }
}
