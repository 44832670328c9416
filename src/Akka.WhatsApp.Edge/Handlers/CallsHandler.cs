using System.Collections.Immutable;
using Akka.WhatsApp.Domain.Calls;
using Akka.WhatsApp.Domain.Groups;
using Google.Protobuf;
using CallMedia = Akka.WhatsApp.Domain.Calls.CallMedia;
using CallEndReason = Akka.WhatsApp.Domain.Calls.CallEndReason;

namespace Akka.WhatsApp.Edge.Handlers;

/// <summary>
/// Call signalling (PROTOCOL.md §15): the packets are checked here (ids, sizes, membership, blocks) and handed to the
/// Call entity of their call id, which decides and pushes CallSignals; relays get coturn REST credentials.
/// </summary>
public sealed class CallsHandler : IPacketHandler
{
    /// <summary>An encrypted offer, answer or ICE batch: SDPs are a few KB; the frame limit bounds a whole offer.</summary>
    public const int MaxCiphertext = 16 * 1024;

    public void Register(PacketTable table) => table
        .Request(Frame.PacketOneofCase.CallOffer, OfferAsync)
        .Request(Frame.PacketOneofCase.CallAnswer, Signal(f => f.CallAnswer.CallId,
            f => Addressed(CallSignalKind.Answer, f.CallAnswer.ToUserId, f.CallAnswer.ToDeviceId, f.CallAnswer.Ciphertext)))
        .Request(Frame.PacketOneofCase.IceCandidate, Signal(f => f.IceCandidate.CallId,
            f => Addressed(CallSignalKind.IceCandidate, f.IceCandidate.ToUserId, f.IceCandidate.ToDeviceId, f.IceCandidate.Ciphertext)))
        .Request(Frame.PacketOneofCase.CallRinging, Signal(f => f.CallRinging.CallId, f => Addressed(CallSignalKind.Ringing, f.CallRinging.ToUserId, 0, ByteString.Empty)))
        .Request(Frame.PacketOneofCase.CallBusy, Signal(f => f.CallBusy.CallId, f => Addressed(CallSignalKind.Busy, f.CallBusy.ToUserId, 0, ByteString.Empty)))
        .Request(Frame.PacketOneofCase.CallHangup, Signal(f => f.CallHangup.CallId, f => new Parts(CallSignalKind.Hangup, Reason: ReasonOf(f.CallHangup.Reason))))
        .Request(Frame.PacketOneofCase.CallReject, Signal(f => f.CallReject.CallId, _ => new Parts(CallSignalKind.Reject)))
        .Request(Frame.PacketOneofCase.JoinCall, Signal(f => f.JoinCall.CallId, f => new Parts(CallSignalKind.Join, Media: MediaOf(f.JoinCall.Media))))
        .Request(Frame.PacketOneofCase.LeaveCall, Signal(f => f.LeaveCall.CallId, _ => new Parts(CallSignalKind.Leave)))
        .Request(Frame.PacketOneofCase.GetCallRelays, RelaysAsync);

    /// <summary>A signal packet's handler: its call id and what else it says, for the call's entity.</summary>
    private static RequestHandler Signal(Func<Frame, ByteString> callId, Func<Frame, Parts> parts) =>
        (frame, session) => SignalAsync(session, callId(frame), parts(frame));

    /// <summary>What a signal packet says besides its call id.</summary>
    private sealed record Parts(CallSignalKind Kind, UserId? ToUser = null, uint ToDevice = 0, byte[]? Ciphertext = null,
        CallEndReason Reason = CallEndReason.Normal, CallMedia Media = CallMedia.Audio);

    private static Parts Addressed(CallSignalKind kind, string toUser, uint toDevice, ByteString ciphertext)
    {
        if (toUser.Length == 0)
            throw new RequestException(ErrorCode.InvalidArgument, "to_user_id is required");
        if ((kind is CallSignalKind.Answer or CallSignalKind.IceCandidate) && toDevice == 0)
            throw new RequestException(ErrorCode.InvalidArgument, "to_device_id is required");
        if (ciphertext.Length > MaxCiphertext)
            throw new RequestException(ErrorCode.InvalidArgument, $"ciphertext has at most {MaxCiphertext} bytes");
        return new Parts(kind, new UserId(toUser), toDevice, ciphertext.ToByteArray());
    }

    private static async Task<Frame?> OfferAsync(Frame frame, IEdgeSession session)
    {
        var offer = frame.CallOffer;
        var call = CallIdOf(offer.CallId);
        if ((offer.ToUserId.Length == 0) == (offer.GroupId.Length == 0))
            throw new RequestException(ErrorCode.InvalidArgument, "a call goes to_user_id (1:1) or to group_id, not both or neither");
        if (offer.Offers.Count > CallState.MaxRings)
            throw new RequestException(ErrorCode.InvalidArgument, $"at most {CallState.MaxRings} offers per call");
        var rings = new List<CallRing>(offer.Offers.Count);
        foreach (var o in offer.Offers)
        {
            if (o.UserId.Length == 0 || o.Device is not { DeviceId: > 0 } device)
                throw new RequestException(ErrorCode.InvalidArgument, "every offer names a user and a device");
            if (device.Ciphertext.Length > MaxCiphertext)
                throw new RequestException(ErrorCode.InvalidArgument, $"an offer has at most {MaxCiphertext} bytes");
            rings.Add(new CallRing(new UserId(o.UserId), new DeviceId(device.DeviceId), device.Ciphertext.ToByteArray()));
        }

        UserId? to = null;
        GroupId? group = null;
        var silenced = false;
        ImmutableArray<UserId> members = [];
        if (offer.ToUserId.Length > 0)
        {
            var callee = new UserId(offer.ToUserId);
            if (callee == session.User)
                throw new RequestException(ErrorCode.InvalidArgument, "to_user_id must name another user");
            if (rings.Any(r => r.User != callee))
                throw new RequestException(ErrorCode.InvalidArgument, "a 1:1 call offers to the callee's devices only");
            var (mine, theirs) = await MessagingHandler.DeliveryInfoAsync(session, callee);
            if (theirs is null)
                throw new RequestException(ErrorCode.NotFound, $"no user {callee}");
            if (mine is { Blocks: true })
                throw new RequestException(ErrorCode.Blocked, "you blocked this user: unblock them to call");
            // A callee who blocked the caller is rung nowhere, and the caller is not told (as for messages, §8).
            silenced = theirs.Blocks;
            to = callee;
        }
        else
        {
            group = GroupsHandler.GroupOf(offer.GroupId);
            var inGroup = await MembersAsync(session, group.Value);
            // Only members are rung; an offer for anyone else is dropped (the SDK offers from the member list it had).
            rings.RemoveAll(r => !inGroup.Contains(r.User));
            members = [.. inGroup];
        }
        return await AskCallAsync(session, new CallCommands.Offer(call, session.User, session.Device, session.DeviceActor ?? ActorRefs.Nobody, to, group,
            MediaOf(offer.Media), [.. rings], silenced, members));
    }

    /// <summary>A signal of a call this device is in: the entity checks that it is, and that the addressed device is too.</summary>
    private static Task<Frame?> SignalAsync(IEdgeSession session, ByteString callId, Parts parts) =>
        AskCallAsync(session, new CallCommands.Signal(CallIdOf(callId), session.User, session.Device, session.DeviceActor ?? ActorRefs.Nobody, parts.Kind,
            parts.ToUser, new DeviceId(parts.ToDevice), parts.Ciphertext, parts.Reason, parts.Media));

    private static async Task<Frame?> AskCallAsync(IEdgeSession session, ICallCommand command)
    {
        var calls = session.Backend.Calls ?? throw new RequestException(ErrorCode.NotImplemented, "calls are not configured on this node");
        switch (await session.AskAsync<ICallReply>(calls, command))
        {
            case CallReplies.Accepted accepted:
                // The session ends the call FAILED on the device if the entity disappears (its node died).
                session.DeviceActor?.Tell(new Sessions.DeviceSessionActor.InCall(command.Call, accepted.Entity));
                return new Frame { Ok = new Ok() };
            case CallReplies.Refused { Error: CallError.CallFull } r:
                throw new RequestException(ErrorCode.CallFull, r.Reason);
            case CallReplies.Refused { Error: CallError.NotAMember } r:
                throw new RequestException(ErrorCode.NotAMember, r.Reason);
            case CallReplies.Refused { Error: CallError.InvalidArgument } r:
                throw new RequestException(ErrorCode.InvalidArgument, r.Reason);
            case CallReplies.Refused r:
                throw new RequestException(ErrorCode.NotFound, r.Reason);
            default:
                throw new RequestException(ErrorCode.Internal, "unexpected answer from the backend");
        }
    }

    /// <summary>The group's members, as the group answers its members (NOT_A_MEMBER for anyone else).</summary>
    private static async Task<ImmutableHashSet<UserId>> MembersAsync(IEdgeSession session, GroupId group) =>
        await session.AskAsync<IGroupReply>(session.Backend.Groups, new GroupCommands.GetInfo(group, session.User)) switch
        {
            GroupReplies.Info info => [.. info.Group.Members.Select(m => m.User)],
            GroupReplies.Rejected { Error: GroupError.NotAMember or GroupError.NotFound } => throw new RequestException(ErrorCode.NotAMember, "you are not a member of this group"),
            _ => throw new RequestException(ErrorCode.Internal, "unexpected answer from the backend"),
        };

    /// <summary>TURN relays with coturn REST credentials (use-auth-secret) for this user; none when the node has no relays configured.</summary>
    private static Task<Frame?> RelaysAsync(Frame frame, IEdgeSession session)
    {
        var relays = new CallRelays();
        if (session.Backend.Turn is { Urls.Count: > 0 } turn)
        {
            var credential = TurnCredentials.Issue(turn.Secret, session.User.Value, session.Time.GetUtcNow(), turn.Ttl);
            relays.Relays.Add(new CallRelay { Urls = { turn.Urls }, Username = credential.Username, Credential = credential.Credential });
            relays.ExpiresAt = (ulong)credential.ExpiresAt.ToUnixTimeMilliseconds();
        }
        return Task.FromResult<Frame?>(new Frame { CallRelays = relays });
    }

    public static CallId CallIdOf(ByteString bytes) =>
        bytes.Length == 16 ? CallId.Of(bytes.Span) : throw new RequestException(ErrorCode.InvalidArgument, "call_id is 16 bytes");

    private static CallMedia MediaOf(Protocol.CallMedia media) => media == Protocol.CallMedia.Video ? CallMedia.Video : CallMedia.Audio;

    private static CallEndReason ReasonOf(Protocol.CallEndReason reason) => reason switch
    {
        Protocol.CallEndReason.NoAnswer => CallEndReason.NoAnswer,
        Protocol.CallEndReason.Failed => CallEndReason.Failed,
        _ => CallEndReason.Normal, // a device cannot claim another device's answer or reject
    };
}
