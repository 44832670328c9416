using Akka.Event;
using Akka.WhatsApp.Cluster.Entities;
using Akka.WhatsApp.Domain.Mailbox;
using Akka.WhatsApp.Domain.Scheduling;
using static Akka.WhatsApp.Domain.Scheduling.ScheduleCommands;
using R = Akka.WhatsApp.Domain.Scheduling.ScheduleReplies;

namespace Akka.WhatsApp.Cluster.Scheduling;

/// <summary>How a Schedule entity hands its due messages over.</summary>
public sealed record ScheduleOptions
{
    /// <summary>
    /// Due messages of one sender handed over at the same time (never two for the same recipient or group, so they
    /// arrive in the order they were due): 10,000 messages due in one second must not wait for each other's journal write.
    /// </summary>
    public int Parallelism { get; init; } = 64;

    public TimeSpan AskTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A hand-over that found an entity unreachable (a node moving) is tried again after this long.</summary>
    public TimeSpan RetryAfter { get; init; } = TimeSpan.FromSeconds(1);

    public int SnapshotEvery { get; init; } = 200;
}

/// <summary>The regions a Schedule entity sends through, given when the region starts.</summary>
public sealed record SchedulePeers(IActorRef Accounts, IActorRef Mailboxes, IActorRef Groups, ScheduleOptions Options);

/// <summary>
/// The sharded persistent entity of one sender's scheduled messages (PROTOCOL.md §8.8). The aggregate decides what is
/// pending; this actor keeps one timer on the node's clock for the earliest due message and, when it fires, hands the
/// due messages to <see cref="ScheduledSender"/>, tells the sender's devices when one needs re-encrypting for some devices
/// or failed (SYSTEM scheduled_update), and only then records it as completed. A crash anywhere in between sends
/// it again: mailboxes and groups drop the duplicate by message id, and the update's id is derived from the message, so
/// it is stored once too. The region remembers entities, and an entity holding pending messages never passivates, so
/// after a restart, a hand-off or a full cluster restart it comes back by itself and sends what became due meanwhile.
/// </summary>
public sealed class ScheduleActor : AggregateActor<ScheduleState, IScheduleCommand, IScheduleEvent, IScheduleReply>
{
    private sealed record HandedOver(ScheduledMessage Message, ScheduledUpdate? Update, Exception? Failure) : INoSerializationVerificationNeeded;

    private sealed class Due : INoSerializationVerificationNeeded
    {
        public static readonly Due Instance = new();
    }

    private readonly UserId _owner;
    private readonly SchedulePeers _peers;
    private readonly ScheduledSender _sender;

    /// <summary>Messages being handed over, until their completion is durable (so the timer never picks them twice).</summary>
    private readonly Dictionary<MessageId, ScheduledMessage> _inFlight = new();

    /// <summary>Recipients and groups with a hand-over in flight: their next message waits, so order is kept per chat.</summary>
    private readonly HashSet<string> _busyChats = new();

    private readonly Dictionary<MessageId, ScheduledUpdate> _completing = new();
    private readonly Dictionary<MessageId, ScheduledMessage> _cancelling = new();

    private readonly DueTimer _due;

    public ScheduleActor(string owner, SchedulePeers peers) : base(PersistenceIdFor(owner), ScheduleState.Empty)
    {
        _owner = new UserId(owner);
        _peers = peers;
        _sender = new ScheduledSender(peers.Accounts, peers.Mailboxes, peers.Groups, peers.Options.AskTimeout);
        _due = new DueTimer(EntityClock.Of(Context.System));
    }

    public static string PersistenceIdFor(string owner) => "schedule-" + owner;

    public static Props PropsFor(string owner, SchedulePeers peers) => Props.Create(() => new ScheduleActor(owner, peers));

    protected override int SnapshotEvery => _peers.Options.SnapshotEvery;

    protected override bool MayPassivate => State.Pending.IsEmpty && _inFlight.Count == 0;

    /// <summary>A sender who never scheduled anything (a List, a Cancel of nothing): answered, then the entity stops.</summary>
    protected override bool IsAbsent => State.Pending.IsEmpty && State.RecentCount == 0 && _inFlight.Count == 0;

    protected override void OnRecovered() => Arm();

    protected override bool Intercept(IScheduleCommand command)
    {
        switch (command)
        {
            case Cancel or Reschedule when _inFlight.ContainsKey(MessageOf(command)):
                Sender.Tell(new R.Rejected(ScheduleError.NotFound, "this message is being sent now"));
                return true;
            case Cancel c when State.Pending.TryGetValue(c.Message, out var pending):
                _cancelling[c.Message] = pending;
                return false;
            default:
                return false;
        }
    }

    private static MessageId MessageOf(IScheduleCommand command) => command switch
    {
        Cancel c => c.Message,
        Reschedule r => r.Message,
        _ => default,
    };

    protected override Task? OnPersisted(IScheduleEvent @event)
    {
        switch (@event)
        {
            case ScheduleEvents.Completed c:
                _inFlight.Remove(c.Message);
                _completing.Remove(c.Message);
                break;
            case ScheduleEvents.Cancelled c when _cancelling.Remove(c.Message, out var cancelled):
                Tell(Update(cancelled, ScheduledOutcome.Cancelled));
                break;
            case ScheduleEvents.Rescheduled r when State.Pending.TryGetValue(r.Message, out var moved):
                Tell(Update(moved, ScheduledOutcome.Rescheduled));
                break;
        }
        Arm();
        Pump();
        return null;
    }

    protected override bool HandleOther(object message)
    {
        switch (message)
        {
            case Due:
                _due.Fired();
                Pump();
                Arm();
                return true;
            case HandedOver done:
                OnHandedOver(done);
                return true;
            case IScheduleReply:
                return true; // the answer to this entity's own Complete
            default:
                return false;
        }
    }

    /// <summary>One timer, for the earliest pending message not already on its way.</summary>
    private void Arm()
    {
        var self = Self;
        _due.Arm(State.Pending.Values.Where(m => !_inFlight.ContainsKey(m.Id)).Select(m => (DateTimeOffset?)m.SendAt).Min(), () => self.Tell(Due.Instance));
    }

    private void Pump()
    {
        foreach (var m in State.DueAt(Now))
        {
            if (_inFlight.Count >= _peers.Options.Parallelism)
                return;
            if (_inFlight.ContainsKey(m.Id) || !_busyChats.Add(ChatOf(m)))
                continue;
            _inFlight[m.Id] = m;
            var (owner, sender, mailboxes) = (_owner, _sender, _peers.Mailboxes);
            var timeout = _peers.Options.AskTimeout;
            Task.Run(async () =>
            {
                var update = await sender.SendAsync(owner, m);
                // A message that went out whole needs no word to the sender's devices: they showed it as scheduled for its
                // time, and its receipts come as for any message (a store and a push per message fewer: measured, the
                // notices halved the rate of messages due together). Devices to re-encrypt for, and failures, are told
                // before the message counts as completed: a crash in between tells them again, under the same derived id.
                if ((update.Outcome != ScheduledOutcome.Sent || !update.Resend.IsEmpty)
                    && await mailboxes.Ask<IMailboxReply>(Notice(update), timeout) is not MailboxReplies.Enqueued)
                    throw new InvalidOperationException("the sender's mailbox did not store the scheduled_update");
                return update;
            }).ContinueWith(t => new HandedOver(m, t.IsCompletedSuccessfully ? t.Result : null, t.Exception?.GetBaseException()), TaskScheduler.Default)
            .PipeTo(Self);
        }
    }

    private void OnHandedOver(HandedOver done)
    {
        var m = done.Message;
        _busyChats.Remove(ChatOf(m));
        if (done.Update is not { } update)
        {
            // An entity did not answer (a node moving, the journal slow): the message stays pending and goes again shortly.
            Log.Warning("{0}: scheduled message {1} could not be handed over yet: {2}", PersistenceId, m.Id, done.Failure?.Message);
            _inFlight.Remove(m.Id);
            Timers.StartSingleTimer("retry", Due.Instance, _peers.Options.RetryAfter);
            Pump();
            return;
        }
        _completing[m.Id] = update;
        Self.Tell(new Complete(_owner, m.Id, m.SendAt, update.Outcome));
        Pump();
    }

    private static string ChatOf(ScheduledMessage m) => m.Group is { } g ? "g:" + g.Value : "u:" + m.To?.Value;

    private ScheduledUpdate Update(ScheduledMessage m, ScheduledOutcome outcome) => new(m.Id, m.To, m.Group, outcome, m.SendAt, m.FromDevice);

    /// <summary>The SYSTEM scheduled_update for every device of the sender; its id follows from the message, the outcome and the time.</summary>
    private MailboxCommands.Enqueue Notice(ScheduledUpdate update)
    {
        var meta = new MessageMeta(ContentKinds.System, Scheduled: update, Silent: true);
        var everyDevice = ImmutableSortedDictionary<uint, DeviceCiphertext>.Empty.Add(StoredMessage.AllDevices, new DeviceCiphertext([], 0));
        var id = MessageId.Derived($"scheduled\0{update.Message}\0{(int)update.Outcome}\0{update.SendAt.ToUnixTimeMilliseconds()}");
        return new MailboxCommands.Enqueue(_owner, id, _owner, new DeviceId(0), meta, everyDevice);
    }

    /// <summary>Cancellations and new times are told best effort: the devices can always list what is pending.</summary>
    private void Tell(ScheduledUpdate update) => _peers.Mailboxes.Tell(Notice(update), ActorRefs.Nobody);

    protected override void PostStop()
    {
        _due.Dispose();
        base.PostStop();
    }
}
