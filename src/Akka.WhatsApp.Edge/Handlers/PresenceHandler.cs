using Akka.Cluster.Tools.PublishSubscribe;
using Akka.WhatsApp.Domain.Presence;
using A = Akka.WhatsApp.Domain.Accounts.AccountReplies;

namespace Akka.WhatsApp.Edge.Handlers;

/// <summary>Presence subscriptions, availability and typing (PROTOCOL.md §9): ephemeral, never persisted, never blocking messages.</summary>
public sealed class PresenceHandler : IPacketHandler
{
    public const int MaxPerRequest = 256;

    public void Register(PacketTable table) => table
        .Request(Frame.PacketOneofCase.SubscribePresence, SubscribeAsync)
        .Immediate(Frame.PacketOneofCase.UnsubscribePresence, OnUnsubscribe)
        .Immediate(Frame.PacketOneofCase.SetAvailability, OnSetAvailability)
        .Immediate(Frame.PacketOneofCase.Typing, OnTyping);

    private static async Task<Frame?> SubscribeAsync(Frame frame, IEdgeSession session)
    {
        var users = frame.SubscribePresence.UserIds.Where(id => id.Length > 0).Distinct().Select(id => new UserId(id)).ToList();
        if (users.Count > MaxPerRequest)
            throw new RequestException(ErrorCode.InvalidArgument, $"at most {MaxPerRequest} users per SubscribePresence");
        // Every id asked for counts, known or not: a subscription is what the client asked for.
        if (!session.Presence.TryAdd(users))
            throw new RequestException(ErrorCode.InvalidArgument,
                $"at most {PresenceSubscriptions.MaxPerConnection} presence subscriptions per connection; unsubscribe some first");

        // Ids that do not exist are answered at once, without starting an entity for each.
        var backend = session.Backend;
        var existing = await backend.Directory.ExistingAsync(users, CancellationToken.None);
        var blocked = (await session.AskAsync<IAccountReply>(backend.Accounts, new AccountCommands.GetBlocked(session.User)) as A.Blocked)?.Users ?? [];
        var presences = await Task.WhenAll(users.Select(async user =>
        {
            if (!existing.Contains(user))
                return new Protocol.Presence { UserId = user.Value };
            var presence = await PresenceLook.OfAsync(backend, session.User, user, viewerBlocksTarget: blocked.Contains(user.Value));
            // Followed even while hidden: if the user's privacy or a block changes, the subscription shows them again.
            session.DeviceActor?.Tell(new DeviceSessionActor.FollowPresence(user, Follow: true, Visible: presence.State != PresenceState.Unspecified));
            return presence;
        }));
        var list = new PresenceList();
        list.Presences.AddRange(presences);
        return new Frame { PresenceList = list };
    }

    private static void OnUnsubscribe(Frame frame, IEdgeSession session)
    {
        foreach (var user in frame.UnsubscribePresence.UserIds.Distinct().Select(id => new UserId(id)))
            if (session.Presence.Remove(user))
                session.DeviceActor?.Tell(new DeviceSessionActor.FollowPresence(user, Follow: false));
        session.Send(new Frame { RequestId = frame.RequestId, Ok = new Ok() });
    }

    private static void OnSetAvailability(Frame frame, IEdgeSession session)
    {
        session.DeviceActor?.Tell(new DeviceSessionActor.Available(frame.SetAvailability.Available));
        session.Send(new Frame { RequestId = frame.RequestId, Ok = new Ok() });
    }

    private static void OnTyping(Frame frame, IEdgeSession session)
    {
        var typing = frame.Typing;
        if (typing.GroupId.Length > 0)
        {
            session.Refuse(frame, ErrorCode.NotImplemented, "group typing is not implemented by this server yet");
            return;
        }
        if (typing.To.Length == 0 || typing.To == session.User.Value)
        {
            session.Refuse(frame, ErrorCode.InvalidArgument, "to must name another user");
            return;
        }
        var to = new UserId(typing.To);
        var from = session.User;
        var bus = session.Backend.PresenceBus;
        // Relayed only to online devices, never persisted, never waited for. A block in either direction stops it (a
        // blocked user sees nothing of the blocker, and a blocker does not show itself); an unknown user gets nothing.
        _ = MessagingHandler.DeliveryInfoAsync(session, to).ContinueWith(t =>
        {
            if (t.IsCompletedSuccessfully && t.Result is ({ Blocks: false }, { Blocks: false }))
                bus.Tell(new Publish(PresenceTopics.Inbox(to), new TypingSignal(from, to, null, (int)typing.State)));
        }, TaskScheduler.Default);
    }
}
