using System.Security.Cryptography;
using Akka.Persistence;
using Akka.WhatsApp.Cluster.Mailbox;
using Akka.WhatsApp.Domain.Groups;
using Akka.WhatsApp.Domain.Mailbox;
using static Akka.WhatsApp.Domain.Groups.GroupCommands;

namespace Akka.WhatsApp.Cluster.Groups;

/// <summary>How a group entity fans out and how big a group may be.</summary>
public sealed record GroupOptions
{
    public int MaxMembers { get; init; } = GroupState.DefaultMaxMembers;

    /// <summary>
    /// Member mailboxes written to at the same time by one group. The default is a full group: measured on a
    /// 1,024-member group, 256 at a time made four rounds of journal writes (time to the last member p50 ~200 ms),
    /// all at once one round (~115 ms); the journal batches the writes either way.
    /// </summary>
    public int FanOutParallelism { get; init; } = GroupState.DefaultMaxMembers;

    /// <summary>Posts stored in one member's mailbox with one write.</summary>
    public int BatchSize { get; init; } = 64;

    public TimeSpan MailboxTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan RetryAfter { get; init; } = TimeSpan.FromSeconds(1);

    public int SnapshotEvery { get; init; } = 1000;
}

/// <summary>
/// The sharded persistent entity of one group. The aggregate decides (membership, rights, group seq,
/// idempotency); the sender gets its answer once the post is durable. Then this actor stores every post in
/// each recipient's mailbox, in group-seq order per member, at most one batch per member in flight and a
/// bounded number of members at once, without ever waiting inside a command. Progress is recorded with
/// <see cref="GroupEvents.FannedOut"/> once a prefix of the log reached every recipient. After a crash the
/// posts after that mark go out again: members' mailboxes drop the duplicates by message id. The region
/// remembers entities (event-sourced store), so a group with an unfinished fan-out restarts by itself; an
/// idle group with nothing left to fan out passivates and is forgotten.
/// </summary>
public sealed class GroupActor : AggregateActor<GroupState, IGroupCommand, IGroupEvent, IGroupReply>
{
    private sealed record BatchDone(UserId Member, long LastSeq, ImmutableArray<long> Seqs, bool Ok) : INoSerializationVerificationNeeded;

    private sealed class Retry : INoSerializationVerificationNeeded
    {
        public static readonly Retry Instance = new();
    }

    private readonly GroupId _id;
    private readonly GroupOptions _options;

    // Fan-out progress lives in memory only: after a restart everything after FannedOutUpTo is sent again.
    private readonly Dictionary<UserId, long> _sentUpTo = new();
    private readonly Dictionary<long, int> _remaining = new();
    private readonly FanOutPump<UserId> _fanOut;
    private bool _fannedOutWriteInFlight;

    /// <summary>The last post known durable: only those go out (later ones are still being written).</summary>
    private long _durableSeq;

    private readonly IActorRef _mailboxes;

    /// <param name="mailboxes">The mailbox region the posts are fanned out to.</param>
    public GroupActor(string groupId, GroupOptions options, IActorRef mailboxes) : base(PersistenceIdFor(groupId), GroupState.Empty)
    {
        _id = new GroupId(groupId);
        _options = options;
        _mailboxes = mailboxes;
        _fanOut = new FanOutPump<UserId>(options.FanOutParallelism);
    }

    protected override void OnRecovered()
    {
        _durableSeq = State.LastSeq;
        foreach (var post in State.Outbox)
            Track(post);
        Pump();
    }

    protected override bool HandleOther(object message)
    {
        switch (message)
        {
            case BatchDone done:
                OnBatchDone(done);
                return true;
            case Retry:
                _fanOut.RetryFailed();
                Pump();
                return true;
            default:
                return false;
        }
    }

    public static string PersistenceIdFor(string groupId) => "group-" + groupId;

    public static Props PropsFor(string groupId, GroupOptions options, IActorRef mailboxes) => Props.Create(() => new GroupActor(groupId, options, mailboxes));

    protected override int SnapshotEvery => _options.SnapshotEvery;

    /// <summary>A group id nobody created (a typo, a guess, a fuzzer): answered NOT_A_MEMBER, then the entity stops.</summary>
    protected override bool IsAbsent => !State.Exists && State.Outbox.IsEmpty && _fanOut.InFlight == 0;

    /// <summary>Only a group with nothing left to fan out may stop (and be forgotten by the remembering region).</summary>
    protected override bool MayPassivate => State.Outbox.IsEmpty && _fanOut.InFlight == 0;

    protected override IGroupCommand Prepare(IGroupCommand command) => command switch
    {
        Create c => c with { MaxMembers = _options.MaxMembers },
        ChangeMembers c => c with { MaxMembers = _options.MaxMembers },
        JoinByInvite j => j with { MaxMembers = _options.MaxMembers },
        CreateInvite c => c with { NewSecret = Convert.ToHexString(RandomNumberGenerator.GetBytes(12)).ToLowerInvariant() },
        _ => command,
    };

    protected override Task? OnPersisted(IGroupEvent @event)
    {
        var seq = @event switch
        {
            GroupEvents.MessagePosted m => m.Seq,
            GroupEvents.Changed c => c.Seq,
            _ => 0,
        };
        if (seq > _durableSeq)
        {
            _durableSeq = seq;
            // The state may already hold later posts (decided, still being written): pick this one by its seq.
            if (State.Outbox.FindLast(p => p.Seq == seq) is { } post)
                Track(post);
            Pump();
        }
        return null;
    }

    /// <summary>Counts the recipients a post still has to reach and lines them up.</summary>
    private void Track(GroupPost post)
    {
        if (_remaining.ContainsKey(post.Seq))
            return;
        _remaining[post.Seq] = post.Recipients.Count;
        foreach (var member in post.Recipients)
            Ready(member);
        if (post.Recipients.Count == 0)
            AdvanceFannedOut();
    }

    private void Ready(UserId member) => _fanOut.Ready(member);

    private void Pump()
    {
        var (mailboxes, self) = (_mailboxes, Self);
        _fanOut.Pump(member =>
        {
            var after = _sentUpTo.GetValueOrDefault(member);
            var posts = State.Outbox.Where(p => p.Seq > after && p.Seq <= _durableSeq && p.Recipients.Contains(member)).Take(_options.BatchSize).ToList();
            if (posts.Count == 0)
                return false;
            var items = posts.Select(p => ToEnqueue(p, member)).OfType<MailboxCommands.Enqueue>().ToImmutableArray();
            var seqs = posts.Select(p => p.Seq).ToImmutableArray();
            var last = seqs[^1];
            if (items.IsEmpty)
            {
                // Nothing in these posts for this member (no ciphertext addressed to them): done with them.
                self.Tell(new BatchDone(member, last, seqs, Ok: true));
                return true;
            }
            mailboxes.Ask<IMailboxReply>(new MailboxCommands.EnqueueBatch(member, items), _options.MailboxTimeout)
                .ContinueWith(t => new BatchDone(member, last, seqs, t.IsCompletedSuccessfully && t.Result is MailboxReplies.BatchEnqueued),
                    TaskScheduler.Default)
                .PipeTo(self);
            return true;
        });
    }

    private void OnBatchDone(BatchDone done)
    {
        if (_fanOut.Completed(done.Member, done.Ok))
            Timers.StartSingleTimer("retry", Retry.Instance, _options.RetryAfter);
        if (!done.Ok)
        {
            // The member's mailbox did not answer (its node may be moving): try again shortly, from the same seq.
            Pump();
            return;
        }
        _sentUpTo[done.Member] = Math.Max(_sentUpTo.GetValueOrDefault(done.Member), done.LastSeq);
        foreach (var seq in done.Seqs)
            if (_remaining.TryGetValue(seq, out var left))
                _remaining[seq] = left - 1;
        if (State.Outbox.Any(p => p.Seq > done.LastSeq && p.Seq <= _durableSeq && p.Recipients.Contains(done.Member)))
            Ready(done.Member);
        Pump();
        AdvanceFannedOut();
    }

    /// <summary>Records (one write at a time) how far the log has reached all its recipients.</summary>
    private void AdvanceFannedOut()
    {
        if (_fannedOutWriteInFlight)
            return;
        var upTo = State.FannedOutUpTo;
        foreach (var post in State.Outbox)
        {
            if (_remaining.GetValueOrDefault(post.Seq, 1) > 0)
                break;
            upTo = post.Seq;
        }
        if (upTo <= State.FannedOutUpTo)
            return;
        _fannedOutWriteInFlight = true;
        PersistAsync(new GroupEvents.FannedOut(upTo), e =>
        {
            ApplyPersisted(e);
            foreach (var seq in _remaining.Keys.Where(s => s <= upTo).ToList())
                _remaining.Remove(seq);
            _fannedOutWriteInFlight = false;
            AdvanceFannedOut();
        });
    }

    /// <summary>The mailbox entry of one post for one member; null when the post carries nothing for them.</summary>
    private MailboxCommands.Enqueue? ToEnqueue(GroupPost post, UserId member)
    {
        var meta = post.Meta with { Group = _id, GroupSeq = post.Seq };
        var ownCopy = member == post.From && post.Change is null;
        ImmutableSortedDictionary<uint, DeviceCiphertext> ciphertexts;
        switch (post.Payload)
        {
            case SenderKeyPayload s:
                ciphertexts = ImmutableSortedDictionary<uint, DeviceCiphertext>.Empty.Add(StoredMessage.AllDevices, s.Ciphertext);
                break;
            case PerDevicePayload p:
                if (!p.Ciphertexts.TryGetValue(member, out var own))
                    return null;
                ciphertexts = own;
                break;
            default:
                // A change: a SYSTEM message for every device, no ciphertext.
                ciphertexts = ImmutableSortedDictionary<uint, DeviceCiphertext>.Empty.Add(StoredMessage.AllDevices, SystemCiphertext);
                break;
        }
        return new MailboxCommands.Enqueue(member, post.MessageId, post.From, post.FromDevice, meta, ciphertexts,
            ExceptDevice: ownCopy ? post.FromDevice.Value : 0, At: post.At);
    }

    private static readonly DeviceCiphertext SystemCiphertext = new([], 0);
}
