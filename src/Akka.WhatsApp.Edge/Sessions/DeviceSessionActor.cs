using Akka.Cluster.Tools.PublishSubscribe;
using Akka.WhatsApp.Domain.Mailbox;
using Akka.WhatsApp.Domain.Presence;
using Google.Protobuf;

namespace Akka.WhatsApp.Edge.Sessions;

/// <summary>
/// The actor side of one logged-in connection: attaches to the user's mailbox and turns what the mailbox,
/// presence and typing push into frames. The first push after attaching is answered with the login reply
/// (LoginOk / Registered), so that it precedes the backlog. If the mailbox entity stops (passivation,
/// rebalancing, a node crash) the session attaches again; the mailbox resumes after its last persisted ack.
/// An untyped actor: there is one per connection, and a ReceiveActor builds its handler table per instance
/// (about 1.5 KiB each, measured with 10,000 idle connections).
/// </summary>
public sealed class DeviceSessionActor : UntypedActor, IWithTimers
{
    /// <summary>Until the mailbox answers an Attach, it is sent again this long after the previous one (doubling).</summary>
    public static readonly TimeSpan FirstAttachRetry = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan MaxAttachRetry = TimeSpan.FromSeconds(30);

    private sealed class RetryAttach
    {
        public static readonly RetryAttach Instance = new();
    }

    /// <summary>Sent by the connection when it closes.</summary>
    public sealed class ConnectionClosed : INoSerializationVerificationNeeded
    {
        public static readonly ConnectionClosed Instance = new();
    }

    /// <summary>The connection's outbound buffer is below (true) or above (false) its water marks.</summary>
    public sealed record Writable(bool Yes) : INoSerializationVerificationNeeded;

    /// <summary>The app went to the background (false) or came back (true).</summary>
    public sealed record Available(bool Yes) : INoSerializationVerificationNeeded;

    /// <summary>Follow (or stop following) a user's presence; <paramref name="Visible"/>: the viewer may see it now.</summary>
    /// <summary>This device uploaded prekeys: the next time they run low it is told again (PreKeyLow).</summary>
    public sealed class PreKeysUploaded : INoSerializationVerificationNeeded
    {
        public static readonly PreKeysUploaded Instance = new();
    }

    public sealed record FollowPresence(UserId User, bool Follow, bool Visible = true) : INoSerializationVerificationNeeded;

    /// <summary>This device took part in a call (its packet was accepted): the session watches the call's entity.</summary>
    public sealed record InCall(Domain.Calls.CallId Call, IActorRef Entity) : INoSerializationVerificationNeeded;

    /// <summary>The calls this device rings for or is in, by their entity: one that stops before it ended ends FAILED here (§15).</summary>
    private readonly Dictionary<IActorRef, Domain.Calls.CallId> _calls = new();

    /// <summary>The answer of a check of whether this session may see a followed user's presence.</summary>
    private sealed record Looked(UserId User, int Check, Protocol.Presence Presence) : INoSerializationVerificationNeeded;

    /// <summary>
    /// A followed user: <see cref="Visible"/> while privacy and blocks let this session see them (changes are pushed
    /// only then); <see cref="Shown"/> when the client was last shown a state (online / offline), not "hidden".
    /// </summary>
    private sealed class Following(bool visible)
    {
        public bool Visible { get; set; } = visible;
        public bool Shown { get; set; } = visible;
        public int Check { get; set; }
    }

    private readonly Dictionary<UserId, Following> _following = new();

    private readonly UserId _user;
    private readonly DeviceId _device;
    private readonly DeviceToken _token;
    private readonly Action<Frame> _close;
    private long _generation;
    private readonly TimeProvider _time;
    private readonly IClientConnection _connection;
    private readonly EdgeBackend _backend;
    private readonly int _window;
    private readonly Func<long, Frame> _loginReply;
    private readonly Monitoring.EdgeMetrics? _metrics;
    private IActorRef? _mailbox;
    private bool _loggedIn;
    private bool _toldPreKeysLow;
    private long _attachAckedUpTo;
    private TimeSpan _attachRetry = FirstAttachRetry;

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="token">The device and the token it logged in with: a notice that no longer lists them removes the device.</param>
    /// <param name="generation">The account's device generation at login: older notices are ignored.</param>
    /// <param name="close">Ends the connection with a last frame (the session stops reading at once).</param>
    public DeviceSessionActor(UserId user, DeviceToken token, long generation, long ackedUpTo, int window, IClientConnection connection, EdgeBackend backend,
        Func<long, Frame> loginReply, Action<Frame> close, TimeProvider time, Monitoring.EdgeMetrics? metrics = null, bool hasKeys = false)
    {
        _hasKeys = hasKeys;
        _time = time;
        _metrics = metrics;
        _user = user;
        _device = token.Device;
        _token = token;
        _generation = generation;
        _close = close;
        _connection = connection;
        _backend = backend;
        _window = window;
        _loginReply = loginReply;
        _attachAckedUpTo = ackedUpTo;
        _loggedInAt = time.GetUtcNow().UtcTicks;
    }

    /// <summary>When this connection logged in: of two sessions of the device the mailbox keeps the later (Attach, remarks).</summary>
    private readonly long _loggedInAt;

    /// <summary>The device published keys: after the login reply, a look at its one-time prekeys (PreKeyLow at login, §13).</summary>
    private readonly bool _hasKeys;

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case MailboxPushes.Deliver d:
                _connection.Send(WireMapping.Deliver(d.Entry, _device));
                _metrics?.Delivered();
                break;
            case MailboxPushes.Attached a:
                Timers.Cancel(RetryAttach.Instance);
                _attachRetry = FirstAttachRetry;
                if (_mailbox is not null && !_mailbox.Equals(Sender))
                    Context.Unwatch(_mailbox);
                _mailbox = Sender;
                Context.Watch(_mailbox);
                if (_loggedIn)
                    return;
                _loggedIn = true;
                _connection.Send(_loginReply(a.AckedSeq));
                if (_hasKeys)
                    CheckPreKeys();
                break;
            case MailboxPushes.QueueEmpty q:
                _connection.Send(new Frame { QueueEmpty = new QueueEmpty { LastSeq = (ulong)q.LastSeq } });
                break;
            case MailboxPushes.Replaced:
                End(ErrorCode.DeviceReplaced, "this device logged in on a newer connection");
                break;
            case MailboxPushes.Removed:
                End(ErrorCode.DeviceRemoved, "this device was removed from the account");
                break;
            case AccountNotices.DevicesChanged changed when changed.Generation >= _generation:
                _generation = changed.Generation;
                if (!changed.Allows(_token))
                    End(ErrorCode.DeviceRemoved, "this device was removed from the account");
                break;
            case AccountNotices.DevicesChanged:
                break;
            case Domain.Keys.KeyNotices.Low low when low.Device == _device && !_toldPreKeysLow:
                // Once until the device uploads again: every fetch below the watermark says so, the device needs it once.
                _toldPreKeysLow = true;
                _connection.Send(new Frame
                {
                    PreKeyLow = new PreKeyLow { Remaining = low.Remaining, RecommendedUpload = Domain.Keys.KeyState.RecommendedUpload },
                });
                break;
            case Domain.Keys.KeyNotices.Low:
                break;
            case PreKeysUploaded:
                _toldPreKeysLow = false;
                break;
            case Domain.Calls.CallPush push when push.IsFor(_device):
                _connection.Send(WireMapping.CallSignal(push));
                if (push.Ends || push.Kind == Domain.Calls.CallPushKind.Offer && push.Ciphertext.Length == 0 && push.From == _user)
                    Forget(push.Entity); // over, or only shown here (the call goes on on another device of this user)
                else
                    Watch(push.Call, push.Entity);
                break;
            case Domain.Calls.CallPush or Domain.Calls.DeviceAttached:
                break;
            case Domain.Sync.HistorySyncNotices.Progress progress when progress.Device == _device:
                _connection.Send(Handlers.SyncHandler.Progress(progress));
                break;
            case Domain.Sync.HistorySyncNotices.Progress:
                break;
            case Domain.Status.StatusHint hint when hint.IsFor(_device):
                _connection.Send(new Frame
                {
                    StatusUpdated = new StatusUpdated { OwnerUserId = hint.Owner.Value, StatusId = ByteString.CopyFrom(hint.Id.ToByteArray()), Deleted = hint.Deleted },
                });
                break;
            case Domain.Status.StatusHint:
                break;
            case InCall call:
                Watch(call.Call, call.Entity);
                break;
            case Terminated t when _calls.Remove(t.ActorRef, out var lost):
                // The call's entity is gone while the call was still on for this device: its node died.
                _connection.Send(new Frame
                {
                    CallSignal = new CallSignal
                    {
                        CallId = ByteString.CopyFrom(lost.ToBytes()), Timestamp = WireMapping.Ms(_time.GetUtcNow()),
                        Hangup = new CallHangup { CallId = ByteString.CopyFrom(lost.ToBytes()), Reason = Protocol.CallEndReason.Failed },
                    },
                });
                break;
            case Terminated t:
                if (t.ActorRef.Equals(_mailbox))
                {
                    _mailbox = null;
                    Attach(0);
                }
                break;
            case PresenceChanged p when _following.TryGetValue(p.User, out var followed) && followed.Visible:
                _connection.Send(new Frame
                {
                    Presence = new Protocol.Presence
                    {
                        UserId = p.User.Value,
                        State = p.Online ? PresenceState.Online : PresenceState.Offline,
                        LastSeen = p.LastSeen is { } seen ? WireMapping.Ms(seen) : 0,
                    },
                });
                break;
            case TypingSignal typing:
                _connection.Send(new Frame
                {
                    TypingNotification = new TypingNotification { FromUserId = typing.From.Value, GroupId = typing.Group?.Value ?? "", State = (TypingState)typing.State },
                });
                break;
            case PresenceChanged:
                break; // not followed (any more), or hidden by privacy or a block
            case FollowPresence { Follow: true } f:
                _following[f.User] = new Following(f.Visible);
                _backend.PresenceBus.Tell(new Subscribe(PresenceTopics.Presence(f.User), Self));
                break;
            case FollowPresence f when _following.Remove(f.User):
                _backend.PresenceBus.Tell(new Unsubscribe(PresenceTopics.Presence(f.User), Self));
                break;
            case FollowPresence:
                // Never followed: nothing to tell the mediator, which keeps a key for every topic it is told about for good
                // (a client unsubscribing from made-up ids grew it by 160,000 topics, 20 MB, in one burst).
                break;
            case PresenceAccessChanged changed when _following.TryGetValue(changed.Of, out var followed):
                // Hidden until the check says otherwise: a change that hides the user hides it from the next push on.
                followed.Visible = false;
                var check = ++followed.Check;
                var (of, viewer, backend) = (changed.Of, _user, _backend);
                PresenceLook.OfAsync(backend, viewer, of).ContinueWith(
                        t => new Looked(of, check, t.IsCompletedSuccessfully ? t.Result : new Protocol.Presence { UserId = of.Value }), TaskScheduler.Default)
                    .PipeTo(Self);
                break;
            case PresenceAccessChanged:
                break;
            case Looked looked when _following.TryGetValue(looked.User, out var followed) && followed.Check == looked.Check:
                var visible = looked.Presence.State != PresenceState.Unspecified;
                followed.Visible = visible;
                // The current state when visible; "hidden" (UNSPECIFIED) once when a shown user became hidden.
                if (visible || followed.Shown)
                    _connection.Send(new Frame { Presence = looked.Presence });
                followed.Shown = visible;
                break;
            case Looked:
                break;
            case Writable w:
                _backend.Mailboxes.Tell(new MailboxCommands.Throttle(_user, _device, Self, Paused: !w.Yes), Self);
                break;
            case Available a:
                _backend.Mailboxes.Tell(new MailboxCommands.SetAvailable(_user, _device, Self, a.Yes), Self);
                break;
            case RetryAttach when _mailbox is null:
                _attachRetry = TimeSpan.FromTicks(Math.Min(_attachRetry.Ticks * 2, MaxAttachRetry.Ticks));
                Attach(_attachAckedUpTo, repeat: true);
                break;
            case SubscribeAck or UnsubscribeAck or RetryAttach or Status.Success:
                break;
            case ConnectionClosed:
                Context.Stop(Self);
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    /// <summary>
    /// Asks the key directory how many one-time prekeys the device has left; below the watermark the answer comes back
    /// as <see cref="Domain.Keys.KeyNotices.Low"/>, which pushes PreKeyLow (once, as after a fetch). A failed look is
    /// not retried: the next fetch that leaves the device low tells it, and a device also checks GetPreKeyCount itself.
    /// </summary>
    private void CheckPreKeys()
    {
        var (user, device) = (_user, _device);
        _backend.Keys.Ask<Domain.Keys.IKeyReply>(new Domain.Keys.KeyCommands.GetCount(user, device), TimeSpan.FromSeconds(10))
            .ContinueWith(t => t.IsCompletedSuccessfully && t.Result is Domain.Keys.KeyReplies.Count { } count && count.OneTime < Domain.Keys.KeyState.LowWatermark
                ? new Domain.Keys.KeyNotices.Low(user, device, count.OneTime)
                : (object)Status.Success.Instance, TaskScheduler.Default)
            .PipeTo(Self);
    }

    private void Watch(Domain.Calls.CallId call, IActorRef entity)
    {
        if (entity.IsNobody() || !_calls.TryAdd(entity, call))
            return;
        Context.Watch(entity);
    }

    private void Forget(IActorRef entity)
    {
        if (_calls.Remove(entity))
            Context.Unwatch(entity);
    }

    /// <summary>The device lost this connection (replaced or removed): a last error, then close; nothing more is pushed.</summary>
    private void End(ErrorCode code, string message)
    {
        _close(new Frame { Error = new Error { Code = code, Message = message } });
        Context.Stop(Self);
    }

    /// <summary>
    /// Asks the mailbox to push to this session, and again until it answers: an Attach can be lost, e.g. when
    /// the mailbox's node died and the local shard region, not yet aware of it, still routes there (seen in the
    /// kill -9 test: the session then waited forever while its mailbox, started elsewhere, stored its messages).
    /// The mailbox takes a repeated Attach as the same session attaching again, and never lets a repeat take the
    /// device from another session (a newer connection of the same device).
    /// </summary>
    private void Attach(long ackedUpTo, bool repeat = false)
    {
        _attachAckedUpTo = ackedUpTo;
        _backend.Mailboxes.Tell(new MailboxCommands.Attach(_user, _device, ackedUpTo, Self, _window, repeat, _loggedInAt), Self);
        Timers.StartSingleTimer(RetryAttach.Instance, RetryAttach.Instance, _attachRetry);
    }

    protected override void PreStart()
    {
        Attach(_attachAckedUpTo);
        _backend.PresenceBus.Tell(new Subscribe(PresenceTopics.Inbox(_user), Self));
        // A call ringing this device (a phone woken by a VoIP push) offers it again (§15).
        _backend.PresenceBus.Tell(new Publish(PresenceTopics.Inbox(_user), new Domain.Calls.DeviceAttached(_user, _device, Self)));
    }

    protected override void PostStop()
    {
        _backend.Mailboxes.Tell(new MailboxCommands.Detach(_user, _device, Self), ActorRefs.NoSender);
        // The device list shows when each device was last connected.
        _backend.Accounts.Tell(new AccountCommands.RecordDeviceSeen(_user, _device, _time.GetUtcNow()), ActorRefs.NoSender);
        _backend.PresenceBus.Tell(new Unsubscribe(PresenceTopics.Inbox(_user), Self));
    }
}
