using System.Security.Cryptography;
using Akka.WhatsApp.Client.Calls;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;

namespace Akka.WhatsApp.Client;

/// <summary>
/// Call signalling (PROTOCOL.md §15). Each call this device takes part in is a <see cref="CallSession"/>; every change
/// of one is a <see cref="CallChanged"/> event, and what peers send for the media connection a <see cref="CallPeerMessage"/>.
/// The SDK rings back (CallRinging) on an incoming 1:1 offer by itself, and answers CallBusy by itself when this device is
/// connected to another call. With encryption on, session descriptions and ICE candidates travel end to end over the
/// devices' 1:1 sessions: an offer entry is a <see cref="DeviceCiphertext"/>, and the ciphertext of a CallAnswer or
/// IceCandidate (which has no type field) is a serialized <see cref="DeviceCiphertext"/>. Without encryption the bytes go
/// as the application gives them. Media itself is the application's (see <see cref="GetCallRelaysAsync"/>).
/// </summary>
public sealed partial class WhatsAppClient
{
    /// <summary>
    /// Beyond any ring timeout: a call that never connected and was not ended by then is forgotten (a safety net: the
    /// server ends every call it rang, but a hangup can be lost with a connection).
    /// </summary>
    private static readonly TimeSpan UnconnectedCallLifetime = TimeSpan.FromMinutes(2);

    private readonly Lock _callsGate = new();
    private readonly Dictionary<CallId, LiveCall> _calls = [];
    private readonly Dictionary<CallId, List<(CallSignal Signal, ByteString? Payload, DateTimeOffset At)>> _held = [];
    private WhatsAppConnection? _callsWatched;

    /// <summary>A call going on here, with the connection it lives on: the server ends a device's calls when its connection drops.</summary>
    private sealed record LiveCall(CallSession Session, WhatsAppConnection Connection);

    private CallDevice Me => new(Credentials.UserId, Credentials.DeviceId);

    /// <summary>The calls going on on this device (not ended), as they stand now.</summary>
    public IReadOnlyList<CallSession> ActiveCalls
    {
        get
        {
            lock (_callsGate)
                return [.. _calls.Values.Select(c => c.Session)];
        }
    }

    /// <summary>
    /// Calls <paramref name="toUser"/>: every device of theirs rings with <paramref name="sdpOffer"/> (encrypted for each
    /// device when encryption is on). Returns once the server took the call (BLOCKED / NOT_FOUND... throw
    /// <see cref="ServerErrorException"/>); what follows comes as <see cref="CallChanged"/> events.
    /// </summary>
    public async Task<CallSession> StartCallAsync(string toUser, CallMedia media, ReadOnlyMemory<byte> sdpOffer, CallId? callId = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(toUser);
        RequireOwnConnection();
        var session = CallSession.Start(callId ?? CallId.New(), Me, toUser, media, DateTimeOffset.UtcNow);
        var offer = new CallOffer { CallId = session.Id.Bytes, ToUserId = toUser, Media = media };
        offer.Offers.AddRange(await OffersForAsync(toUser, sdpOffer, cancellationToken));
        return await BeginAsync(session, new Frame { CallOffer = offer }, cancellationToken);
    }

    /// <summary>
    /// Starts a group call: the devices of <paramref name="ring"/> (default: every other member) ring with
    /// <paramref name="offer"/> (e.g. a call key; encrypted per device when encryption is on). A member none of whose
    /// devices can be encrypted for (no published keys) is not rung. This device is the first participant.
    /// </summary>
    public async Task<CallSession> StartGroupCallAsync(string groupId, CallMedia media, ReadOnlyMemory<byte> offer = default, IEnumerable<string>? ring = null,
        CallId? callId = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(groupId);
        RequireOwnConnection();
        var members = ring?.ToArray()
                      ?? [.. (await GetGroupInfoAsync(groupId, cancellationToken)).Members.Select(m => m.UserId).Where(u => u != Credentials.UserId)];
        var session = CallSession.StartGroup(callId ?? CallId.New(), Me, groupId, media, DateTimeOffset.UtcNow);
        var request = new CallOffer { CallId = session.Id.Bytes, GroupId = groupId, Media = media };
        foreach (var member in members.Distinct(StringComparer.Ordinal))
        {
            try
            {
                request.Offers.AddRange(await OffersForAsync(member, offer, cancellationToken));
            }
            catch (EncryptionException)
            {
                // Nothing can reach this member's devices secretly: they are not rung (and may still join).
            }
        }
        return await BeginAsync(session, new Frame { CallOffer = request }, cancellationToken);
    }

    /// <summary>Takes a 1:1 call that rings here: <paramref name="sdpAnswer"/> goes to the calling device; the callee's other devices stop ringing.</summary>
    public Task AnswerCallAsync(CallId call, ReadOnlyMemory<byte> sdpAnswer, CancellationToken cancellationToken = default) =>
        ActAsync(call, (s, now) => s.Answer(now), async s => new Frame
        {
            CallAnswer = new CallAnswer
            {
                CallId = call.Bytes, ToUserId = s.Caller.UserId, ToDeviceId = s.Caller.DeviceId,
                Ciphertext = await SealForAsync(s.Caller, sdpAnswer, cancellationToken),
            },
        }, cancellationToken);

    /// <summary>
    /// In a group call, this device's session description for one participant's device (a CallAnswer the server relays
    /// to it; a new participant sends one to each of the others).
    /// </summary>
    public Task SendDescriptionAsync(CallId call, CallDevice to, ReadOnlyMemory<byte> sdp, CancellationToken cancellationToken = default) =>
        ActAsync(call, (s, _) => s, async s =>
        {
            var target = s.DescriptionTargetFor(to);
            return new Frame
            {
                CallAnswer = new CallAnswer
                {
                    CallId = call.Bytes, ToUserId = target.UserId, ToDeviceId = target.DeviceId, Ciphertext = await SealForAsync(target, sdp, cancellationToken),
                },
            };
        }, cancellationToken);

    /// <summary>Declines a call that rings here; for a 1:1 call this ends it (no missed call), for a group call it stops this user's ringing.</summary>
    public Task RejectCallAsync(CallId call, CancellationToken cancellationToken = default) =>
        ActAsync(call, (s, now) => s.Reject(now), _ => Task.FromResult(new Frame { CallReject = new CallReject { CallId = call.Bytes } }), cancellationToken);

    /// <summary>
    /// Ends this device's part in the call: a 1:1 call ends for both sides (before the answer the callee gets a missed
    /// call), a group call goes on without this device. A call the server no longer has ends here quietly.
    /// </summary>
    public Task HangupAsync(CallId call, CallEndReason reason = CallEndReason.Normal, CancellationToken cancellationToken = default) =>
        ActAsync(call, (s, now) => s.HangUp(now), _ => Task.FromResult(new Frame { CallHangup = new CallHangup { CallId = call.Bytes, Reason = reason } }),
            cancellationToken, endsWhenUnknown: true);

    /// <summary>
    /// Joins a group call: one that rings here, or one this device knows the id of (also after its ringing stopped).
    /// CALL_FULL at 32 participants, or 8 with video when <paramref name="media"/> is video.
    /// </summary>
    public async Task<CallSession> JoinCallAsync(CallId call, string groupId, CallMedia media = CallMedia.Audio, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(groupId);
        var request = new Frame { JoinCall = new JoinCall { CallId = call.Bytes, Media = media } };
        CallSession? known;
        lock (_callsGate)
            known = _calls.GetValueOrDefault(call)?.Session;
        if (known is null)
            return await BeginAsync(CallSession.Joined(call, Me, groupId, media, DateTimeOffset.UtcNow), request, cancellationToken);
        if (known.GroupId != groupId)
            throw new ArgumentException($"call {call} is a call of {(known.IsGroup ? "group " + known.GroupId : known.OtherUser)}, not of group {groupId}", nameof(groupId));
        await ActAsync(call, (s, now) => s.Join(media, now), _ => Task.FromResult(request), cancellationToken);
        lock (_callsGate)
            return _calls.GetValueOrDefault(call)?.Session ?? known;
    }

    /// <summary>Leaves a group call; the others go on (the call ends with its last participant). A call the server no longer has ends here quietly.</summary>
    public Task LeaveCallAsync(CallId call, CancellationToken cancellationToken = default) =>
        ActAsync(call, (s, now) => s.Leave(now), _ => Task.FromResult(new Frame { LeaveCall = new LeaveCall { CallId = call.Bytes } }), cancellationToken,
            endsWhenUnknown: true);

    /// <summary>
    /// Sends an ICE candidate (or a batch) to one device of the call: <paramref name="to"/>, or by default in a 1:1 call
    /// the peer (the calling device for the callee, the answering device once the call is answered).
    /// </summary>
    public Task SendIceCandidateAsync(CallId call, ReadOnlyMemory<byte> candidate, CallDevice? to = null, CancellationToken cancellationToken = default) =>
        ActAsync(call, (s, _) => s, async s =>
        {
            var target = s.IceTargetFor(to);
            return new Frame
            {
                IceCandidate = new IceCandidate
                {
                    CallId = call.Bytes, ToUserId = target.UserId, ToDeviceId = target.DeviceId, Ciphertext = await SealForAsync(target, candidate, cancellationToken),
                },
            };
        }, cancellationToken);

    /// <summary>Tells the caller this device rings (the SDK does so by itself when a 1:1 offer arrives).</summary>
    public Task RingingAsync(CallId call, CancellationToken cancellationToken = default) =>
        ActAsync(call, (s, _) => s.Ring(), s => Task.FromResult(new Frame { CallRinging = new CallRinging { CallId = call.Bytes, ToUserId = s.Caller.UserId } }),
            cancellationToken);

    /// <summary>Tells the caller this device is in another call, and ends the call here (the SDK does so by itself while connected to another call).</summary>
    public Task BusyAsync(CallId call, CancellationToken cancellationToken = default) =>
        ActAsync(call, (s, now) => s.AnswerBusy(now), s => Task.FromResult(new Frame { CallBusy = new CallBusy { CallId = call.Bytes, ToUserId = s.Caller.UserId } }),
            cancellationToken);

    /// <summary>TURN relays with short-lived credentials for the media of calls.</summary>
    public async Task<CallRelays> GetCallRelaysAsync(CancellationToken cancellationToken = default)
    {
        var reply = await RequestAsync(new Frame { GetCallRelays = new GetCallRelays() }, cancellationToken);
        return Expect(reply, reply.CallRelays);
    }

    // ---- this device's actions ----

    private void RequireOwnConnection()
    {
        if (_options.EncryptedByRelay)
            throw new InvalidOperationException("calls need the device's own connection: a local relay passes no call signals on");
    }

    /// <summary>
    /// A call that starts here: tracked (and told) before its request leaves, so that nothing pushed for it is missed;
    /// ended as failed when the server refuses it. Signalling is real time: it is not retried on another connection.
    /// </summary>
    private async Task<CallSession> BeginAsync(CallSession session, Frame request, CancellationToken cancellationToken)
    {
        var connection = await ConnectionOtherThanAsync(lost: null, cancellationToken);
        lock (_callsGate)
        {
            if (_calls.ContainsKey(session.Id))
                throw new ArgumentException($"call {session.Id} is going on already", "callId");
            Track(session, connection);
        }
        try
        {
            await connection.RequestAsync(request, cancellationToken).WaitAsync(_options.RequestTimeout, cancellationToken);
        }
        catch
        {
            lock (_callsGate)
            {
                if (_calls.GetValueOrDefault(session.Id) is { } live && !live.Session.IsEnded)
                    Replace(live, live.Session.Fail(DateTimeOffset.UtcNow));
            }
            throw;
        }
        lock (_callsGate)
            return _calls.GetValueOrDefault(session.Id)?.Session ?? session;
    }

    /// <summary>
    /// One action on a call going on here: <paramref name="transition"/> checks it first (nothing is sent when it throws),
    /// then the request goes on the call's connection, and the transition is applied once the server took it. Signals
    /// pushed for the call meanwhile wait until then: the reply and the pushes after it travel apart inside the client,
    /// and a remote hangup that follows the answer's Ok must not overtake it (nor one that made the answer NOT_FOUND be
    /// taken for a hangup after it).
    /// </summary>
    private async Task ActAsync(CallId call, Func<CallSession, DateTimeOffset, CallSession> transition, Func<CallSession, Task<Frame>> request,
        CancellationToken cancellationToken, bool endsWhenUnknown = false)
    {
        LiveCall live;
        bool holding;
        lock (_callsGate)
        {
            live = _calls.GetValueOrDefault(call) ?? throw new InvalidOperationException($"call {call} is not going on on this device (it ended, or never reached it)");
            holding = !ReferenceEquals(transition(live.Session, DateTimeOffset.UtcNow), live.Session) && _held.TryAdd(call, []);
        }
        var taken = false;
        try
        {
            var frame = await request(live.Session);
            try
            {
                await live.Connection.RequestAsync(frame, cancellationToken).WaitAsync(_options.RequestTimeout, cancellationToken);
            }
            catch (ServerErrorException e) when (endsWhenUnknown && e.Code == ErrorCode.NotFound)
            {
                // The server ended the call already (its hangup may still be on the way): it is over here too.
            }
            taken = true;
        }
        finally
        {
            lock (_callsGate)
            {
                if (taken && _calls.GetValueOrDefault(call) is { } current)
                {
                    try
                    {
                        Replace(current, transition(current.Session, DateTimeOffset.UtcNow));
                    }
                    catch (InvalidOperationException)
                    {
                        // Another action of the application ended or moved the call meanwhile: that stands.
                    }
                }
                if (holding && _held.Remove(call, out var held))
                {
                    foreach (var (signal, payload, at) in held)
                        if (_calls.GetValueOrDefault(call) is { } latest)
                            Apply(latest, signal, payload, at);
                }
            }
        }
    }

    // ---- what the server pushes ----

    /// <summary>A CallSignal push (from the receive pump): the call's next state, and what the SDK answers by itself.</summary>
    /// <remarks>
    /// The connection comes from the pump, not from <c>_connected</c>: a push can arrive right after the login, before
    /// the login's continuation completes that (a ringing device that logs in gets its offer then, PROTOCOL.md §15).
    /// </remarks>
    private void OnCallSignal(CallSignal signal, WhatsAppConnection connection)
    {
        if (signal.CallId.Length != CallId.Length)
            return;
        var id = CallId.Of(signal.CallId);
        var now = DateTimeOffset.UtcNow;
        lock (_callsGate)
        {
            if (signal.SignalCase == CallSignal.SignalOneofCase.Offer)
            {
                OnOffer(id, signal, connection, now);
                return;
            }
            // Unknown: ended here already, from before this process started, or for another device's part of it.
            if (!_calls.TryGetValue(id, out var live))
                return;
            // Decrypted as it arrives, so that the ratchet steps are committed with this batch.
            var from = new CallDevice(signal.FromUserId, signal.FromDeviceId);
            var payload = signal.SignalCase switch
            {
                CallSignal.SignalOneofCase.Answer => OpenCallPayload(from, signal.Answer.Ciphertext),
                CallSignal.SignalOneofCase.IceCandidate => OpenCallPayload(from, signal.IceCandidate.Ciphertext),
                _ => null,
            };
            if (_held.TryGetValue(id, out var held))
                held.Add((signal, payload, now));
            else
                Apply(live, signal, payload, now);
        }
    }

    private void Apply(LiveCall live, CallSignal signal, ByteString? payload, DateTimeOffset now)
    {
        CallSession next;
        try
        {
            next = live.Session.Apply(signal, now);
        }
        catch (InvalidOperationException)
        {
            return; // late or repeated (an answer after the call ended): nothing to do
        }
        Replace(live, next);
        var from = new CallDevice(signal.FromUserId, signal.FromDeviceId);
        if (signal.SignalCase == CallSignal.SignalOneofCase.Answer)
            _events.Writer.TryWrite(new CallPeerMessage(live.Session.Id, from, CallPeerMessageKind.Description, payload));
        else if (signal.SignalCase == CallSignal.SignalOneofCase.IceCandidate)
            _events.Writer.TryWrite(new CallPeerMessage(live.Session.Id, from, CallPeerMessageKind.IceCandidate, payload));
    }

    /// <summary>An offer: a new call rings here (rung back, or answered busy while another call is connected), or another own device calls.</summary>
    private void OnOffer(CallId id, CallSignal signal, WhatsAppConnection connection, DateTimeOffset now)
    {
        if (_calls.ContainsKey(id))
            return;
        var me = Me;
        var from = new CallDevice(signal.FromUserId, signal.FromDeviceId);
        var entry = signal.Offer.Offers.FirstOrDefault(o => o.Device?.DeviceId == me.DeviceId);
        CallSession session;
        try
        {
            session = CallSession.Offered(me, signal, now, entry is null ? null : OpenCallPayload(from, entry.Device.Type, entry.Device.Ciphertext));
        }
        catch (InvalidOperationException)
        {
            return; // an offer that rings no device here
        }
        ForgetUnconnected(now);
        if (session is { State: CallState.Incoming, IsGroup: false })
        {
            if (_calls.Values.Any(c => c.Session.State == CallState.Connected))
            {
                SendQuietly(connection, new Frame { CallBusy = new CallBusy { CallId = id.Bytes, ToUserId = from.UserId } });
                _events.Writer.TryWrite(new CallChanged(session.AnswerBusy(now)));
                return;
            }
            SendQuietly(connection, new Frame { CallRinging = new CallRinging { CallId = id.Bytes, ToUserId = from.UserId } });
        }
        Track(session, connection);
    }

    private void ForgetUnconnected(DateTimeOffset now)
    {
        foreach (var stale in _calls.Values.Where(c => c.Session.State != CallState.Connected && now - c.Session.StartedAt > UnconnectedCallLifetime).ToList())
            _calls.Remove(stale.Session.Id);
    }

    // ---- the table of calls (under _callsGate) ----

    private void Track(CallSession session, WhatsAppConnection connection)
    {
        _calls[session.Id] = new LiveCall(session, connection);
        _events.Writer.TryWrite(new CallChanged(session));
        if (ReferenceEquals(_callsWatched, connection))
            return;
        _callsWatched = connection;
        _ = connection.Closed.ContinueWith(_ => FailCallsOn(connection), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
    }

    /// <summary>The session's next state: kept (or, ended, dropped) and told; nothing when it did not change.</summary>
    private void Replace(LiveCall live, CallSession next)
    {
        if (ReferenceEquals(next, live.Session))
            return;
        if (next.IsEnded)
            _calls.Remove(next.Id);
        else
            _calls[next.Id] = live with { Session = next };
        _events.Writer.TryWrite(new CallChanged(next));
    }

    /// <summary>The server ends the calls of a device whose connection dropped (PROTOCOL.md §15): so does this device.</summary>
    private void FailCallsOn(WhatsAppConnection connection)
    {
        lock (_callsGate)
        {
            var now = DateTimeOffset.UtcNow;
            foreach (var live in _calls.Values.Where(c => ReferenceEquals(c.Connection, connection)).ToList())
                Replace(live, live.Session.Fail(now));
        }
    }

    /// <summary>What the SDK sends by itself (ringing, busy): a refusal or a lost connection changes nothing here.</summary>
    private void SendQuietly(WhatsAppConnection connection, Frame request) => _ = Task.Run(async () =>
    {
        try
        {
            await connection.RequestAsync(request, _closing.Token).WaitAsync(_options.RequestTimeout, _closing.Token);
        }
        catch (Exception e) when (e is IOException or TimeoutException or ServerErrorException or OperationCanceledException or ObjectDisposedException)
        {
        }
    });

    // ---- payloads ----

    /// <summary>One offer entry per device of <paramref name="user"/> (this device excluded): encrypted over their sessions, or the bytes as they are.</summary>
    private async Task<RecipientCiphertext[]> OffersForAsync(string user, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        if (_e2e is not { } e2e)
            return [.. DevicesOf(user, [1]).Select(d => new RecipientCiphertext { UserId = user, Device = Ciphertext(d, payload) })];
        var content = new E2eContent { Body = ByteString.CopyFrom(payload.Span) };
        for (var attempt = 1; ; attempt++)
        {
            var devices = await SessionsForAsync(user, cancellationToken);
            var sealedOffers = devices.Select(d => e2e.TryEncrypt(user, d, content)).ToArray();
            if (sealedOffers.All(c => c is not null))
                return [.. sealedOffers.Select(c => new RecipientCiphertext { UserId = user, Device = c })];
            if (attempt == 3)
                throw new EncryptionException($"the sessions with {user}'s devices kept changing while the call offer was encrypted: try again");
        }
    }

    /// <summary>A description or candidate for one device: a serialized <see cref="DeviceCiphertext"/> with encryption on, else the bytes as they are.</summary>
    private async Task<ByteString> SealForAsync(CallDevice to, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        if (_e2e is not { } e2e)
            return ByteString.CopyFrom(payload.Span);
        var content = new E2eContent { Body = ByteString.CopyFrom(payload.Span) };
        for (var attempt = 1; ; attempt++)
        {
            if (e2e.TryEncrypt(to.UserId, to.DeviceId, content) is { } ciphertext)
                return ciphertext.ToByteString();
            if (attempt == 3)
                throw new EncryptionException($"no session with {to.UserId} device {to.DeviceId} could be set up for the call");
            await SessionsForAsync(to.UserId, cancellationToken);
        }
    }

    /// <summary>The CallAnswer / IceCandidate payload from <paramref name="from"/>: decrypted with encryption on (null when it cannot be).</summary>
    private ByteString? OpenCallPayload(CallDevice from, ByteString ciphertext)
    {
        if (_e2e is null)
            return ciphertext;
        try
        {
            var wrapped = DeviceCiphertext.Parser.ParseFrom(ciphertext);
            return OpenCallPayload(from, wrapped.Type, wrapped.Ciphertext);
        }
        catch (InvalidProtocolBufferException)
        {
            return null;
        }
    }

    private ByteString? OpenCallPayload(CallDevice from, CiphertextType type, ByteString ciphertext)
    {
        if (_e2e is not { } e2e)
            return ciphertext;
        if (type is not (CiphertextType.PrekeyMessage or CiphertextType.SignalMessage))
            return null;
        try
        {
            // Kept in memory until the pump's next commit, as for messages (nothing of a call is stored).
            var decrypted = e2e.Decrypt(from.UserId, from.DeviceId, type, ciphertext);
            if (decrypted.IdentityChanged)
                _events.Writer.TryWrite(new SecurityCodeChanged(from.UserId, from.DeviceId));
            return decrypted.Content.Body;
        }
        catch (CryptographicException)
        {
            return null;
        }
    }
}
