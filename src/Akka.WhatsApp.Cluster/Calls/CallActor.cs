using System.Collections.Immutable;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.WhatsApp.Domain.Accounts;
using Akka.WhatsApp.Domain.Calls;
using Akka.WhatsApp.Domain.Mailbox;
using Akka.WhatsApp.Domain.Notifications;
using Akka.WhatsApp.Domain.Presence;

namespace Akka.WhatsApp.Cluster.Calls;

/// <summary>What a call talks to: the mailboxes (missed calls, who is connected), the presence bus (signals) and the node's push queue.</summary>
public sealed record CallPeers(IActorRef Mailboxes, IActorRef PresenceBus, Notifications.PushQueue Push, CallOptions Options);

/// <summary>Settings of calls: how long devices ring, and how long an ended call still answers NOT_FOUND before its entity stops.</summary>
public sealed record CallOptions
{
    public TimeSpan RingTimeout { get; init; } = TimeSpan.FromSeconds(45);

    public TimeSpan Linger { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// The sharded entity of one call (PROTOCOL.md §15), keyed by call id, so that any node serves any device of it. It
/// keeps its state in memory only (<see cref="CallState"/> decides): signals go out on the users' inbox topics, which
/// the device sessions subscribe to, and only missed calls are persisted, as SYSTEM messages in the callees' mailboxes.
/// It watches the sessions of the devices in the call (a dropped connection leaves the call) and they watch it (a
/// call whose node died ends FAILED on the devices). The ring timeout runs on the node's clock.
/// </summary>
public sealed class CallActor : UntypedActor
{
    private sealed class RingTimedOut
    {
        public static readonly RingTimedOut Instance = new();
    }

    private sealed class Linger
    {
        public static readonly Linger Instance = new();
    }

    /// <summary>The callee's connected devices, for the VoIP pushes to the others.</summary>
    private sealed record ConnectedAre(ImmutableArray<uint> Devices);

    private readonly CallPeers _peers;
    private readonly TimeProvider _time;
    private readonly CallState _call;
    private readonly Dictionary<IActorRef, CallDevice> _sessions = new();

    /// <summary>
    /// The sessions of devices that sent this call something (or logged in while it rang them): signals for them go
    /// straight there. The rest go over the users' inbox topics, whose subscriptions reach other nodes' pub-sub
    /// registries by gossip, about a second after a login.
    /// </summary>
    private readonly Dictionary<CallDevice, IActorRef> _direct = new();
    private readonly List<ITimer> _timers = [];
    private string? _inbox;

    public CallActor(CallId id, CallPeers peers)
    {
        _peers = peers;
        _time = Entities.EntityClock.Of(Context.System);
        _call = new CallState(id, Self);
    }

    public static Props PropsFor(string entityId, CallPeers peers) => Props.Create(() => new CallActor(new CallId(entityId), peers));

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case CallCommands.Offer offer:
                var first = !_call.Started;
                Carry(_call.Offer(offer, _time.GetUtcNow()), offer.Session, new CallDevice(offer.From, offer.FromDevice));
                if (first && _call.Started)
                    Started(offer);
                break;
            case CallCommands.Signal signal:
                Carry(_call.Signal(signal, _time.GetUtcNow()), signal.Session, new CallDevice(signal.From, signal.FromDevice));
                break;
            case RingTimedOut:
                Carry(_call.RingTimeout(), null, default);
                break;
            case Terminated t when _sessions.Remove(t.ActorRef, out var device):
                _direct.Remove(device);
                Carry(_call.SessionGone(device), null, default);
                break;
            case DeviceAttached attached when _call.Ringing.Contains(new CallDevice(attached.User, attached.Device)):
                // A phone woken by the VoIP push logged in: it gets the offer it rings for.
                _direct[new CallDevice(attached.User, attached.Device)] = attached.Session;
                Ring(new CallDevice(attached.User, attached.Device));
                break;
            case ConnectedAre connected:
                foreach (var device in _call.Ringing.Where(d => !connected.Devices.Contains(d.Device.Value)))
                    _peers.Push.Offer(new PushRequest(device.User, device.Device, ChatId.User(_call.Caller.User), PushKind.Call, 0, _time.GetUtcNow()));
                break;
            case Linger:
                Context.Parent.Tell(new Akka.Cluster.Sharding.Passivate(PoisonPill.Instance));
                break;
            default:
                // Everything else on the callee's inbox topic (typing, other calls' signals) is not for this call.
                break;
        }
    }

    private void Started(CallCommands.Offer offer)
    {
        var self = Self;
        _timers.Add(_time.CreateTimer(_ => self.Tell(RingTimedOut.Instance), null, _peers.Options.RingTimeout, Timeout.InfiniteTimeSpan));
        if (_call.Ringing.Count == 0)
            return;
        // While it rings, a device of the callee that logs in is offered the call (DeviceAttached on the callee's inbox).
        if (offer.To is { } callee)
        {
            _inbox = PresenceTopics.Inbox(callee);
            _peers.PresenceBus.Tell(new Subscribe(_inbox, Self));
        }
        if (_peers.Push.Enabled && offer.To is { } user)
        {
            _peers.Mailboxes.Ask<IMailboxReply>(new MailboxCommands.GetPresence(user), TimeSpan.FromSeconds(5))
                .ContinueWith(t => new ConnectedAre(t.IsCompletedSuccessfully && t.Result is MailboxReplies.PresenceIs p ? p.Devices : []), TaskScheduler.Default)
                .PipeTo(Self);
        }
    }

    /// <summary>Answers the device (the sender), watches its session, publishes the signals, records missed calls, and winds down once ended.</summary>
    private void Carry(CallOutcome outcome, IActorRef? session, CallDevice device)
    {
        if (session is not null)
        {
            Sender.Tell(outcome.Reply);
            if (outcome.Reply is CallReplies.Accepted && !session.IsNobody() && _call.Involves(device) && !_sessions.ContainsKey(session))
            {
                _sessions[session] = device;
                _direct[device] = session;
                Context.Watch(session);
            }
        }
        foreach (var push in outcome.Pushes)
        {
            if (push.Device != 0 && _direct.TryGetValue(new CallDevice(push.To, new DeviceId(push.Device)), out var known))
                known.Tell(push);
            else
                _peers.PresenceBus.Tell(new Publish(PresenceTopics.Inbox(push.To), push));
        }
        foreach (var missed in outcome.Missed)
            Record(missed);
        if (outcome.Ended && _call.Ended)
            WindDown();
        else if (_call.Ringing.Count == 0 && _inbox is not null)
            StopListening();
    }

    private void Ring(CallDevice device) => Carry(_call.Reoffer(device), null, default);

    /// <summary>A missed call as a SYSTEM message of the callee's mailbox: every device gets it, once (its id follows from the call).</summary>
    private void Record(MissedCall missed)
    {
        var meta = new MessageMeta(ContentKinds.System, MissedCall: missed);
        var everyDevice = ImmutableSortedDictionary<uint, DeviceCiphertext>.Empty.Add(StoredMessage.AllDevices, new DeviceCiphertext([], 0));
        _peers.Mailboxes.Tell(new MailboxCommands.Enqueue(missed.Callee, missed.MessageId, missed.Caller, new DeviceId(0), meta, everyDevice, At: missed.OfferedAt));
    }

    private void WindDown()
    {
        StopListening();
        foreach (var session in _sessions.Keys)
            Context.Unwatch(session);
        _sessions.Clear();
        // Still answers NOT_FOUND for a while (late ICE candidates, a hangup crossing the other side's), then stops.
        var self = Self;
        _timers.Add(_time.CreateTimer(_ => self.Tell(Linger.Instance), null, _peers.Options.Linger, Timeout.InfiniteTimeSpan));
    }

    private void StopListening()
    {
        if (_inbox is null)
            return;
        _peers.PresenceBus.Tell(new Unsubscribe(_inbox, Self));
        _inbox = null;
    }

    protected override void PostStop()
    {
        foreach (var timer in _timers)
            timer.Dispose();
        StopListening();
    }
}
