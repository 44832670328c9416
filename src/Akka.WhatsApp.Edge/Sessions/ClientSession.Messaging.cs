using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.WhatsApp.Domain;
using Akka.WhatsApp.Domain.Accounts;
using Akka.WhatsApp.Domain.Mailbox;
using Akka.WhatsApp.Domain.Presence;
using Akka.WhatsApp.Protocol;
using Akka.WhatsApp.Domain.Messaging;
using A = Akka.WhatsApp.Domain.Accounts.AccountReplies;
using M = Akka.WhatsApp.Domain.Mailbox.MailboxReplies;

namespace Akka.WhatsApp.Edge.Sessions;

/// <summary>1:1 messages, acks, receipts, typing and presence.</summary>
public sealed partial class ClientSession
{
    private const int MaxReceiptIds = 256;

    private async Task<Frame?> SendAsync(Frame frame)
    {
        var send = frame.Send;
        if (!MessageId.TryFrom(send.MessageId.Span, out var messageId))
            throw new RequestException(ErrorCode.InvalidArgument, "message_id must be exactly 16 bytes");
        if (send.ToUserId.Length == 0 || send.ToUserId == User.Value)
            throw new RequestException(ErrorCode.InvalidArgument, "to_user_id must name another user (copies for your own devices go in self_ciphertexts)");
        if (send.Kind == ContentKind.System)
            throw new RequestException(ErrorCode.InvalidArgument, "clients cannot send SYSTEM messages");
        if (send.Ciphertexts.Count == 0 && !send.Resend)
            throw new RequestException(ErrorCode.InvalidArgument, "a message needs one ciphertext per device of the recipient");
        if (SendPolicy.NamesADeviceTwice(send.Ciphertexts.Select(c => c.DeviceId)) || SendPolicy.NamesADeviceTwice(send.SelfCiphertexts.Select(c => c.DeviceId)))
            throw new RequestException(ErrorCode.InvalidArgument, "two ciphertexts for one device");
        if (!WireMapping.TryOptionalId(send.ReplyToMessageId, out var replyTo) || !WireMapping.TryOptionalId(send.TargetMessageId, out var target))
            throw new RequestException(ErrorCode.InvalidArgument, "reply_to_message_id and target_message_id must be empty or 16 bytes");
        if (send.SendAt > WireMapping.Ms(_time.GetUtcNow()) + 1000)
            throw new RequestException(ErrorCode.NotImplemented, "scheduled sends are not implemented by this server yet");
        var meta = new MessageMeta((int)send.Kind, replyTo, send.ForwardCount, [.. send.Mentions], target, (long)Math.Min(send.ClientTimestamp, long.MaxValue),
            send.Silent);
        var to = new UserId(send.ToUserId);
        CheckDeliverSize(meta, send.Ciphertexts.Select(c => (c.Ciphertext.Length, (int)c.Type)));
        CheckDeliverSize(meta with { SyncTo = to }, send.SelfCiphertexts.Select(c => (c.Ciphertext.Length, (int)c.Type)));

        // Taken here, in frame order: the checks wait for two account entities, and two sends checked at the same time
        // could otherwise reach the mailbox in either order (found by the load test: a few per thousand).
        var turn = _sendOrder.Next();
        SendOutcome outcome;
        try
        {
            outcome = await Backend.Messages.SendAsync(new OutgoingMessage(User, Device, to, messageId, meta,
                WireMapping.Ciphertexts(send.Ciphertexts), WireMapping.Ciphertexts(send.SelfCiphertexts), send.Resend), turn);
        }
        finally
        {
            turn.Done();
        }
        switch (outcome)
        {
            case SendOutcome.Accepted a:
                return SendResult(messageId, a.At, a.Duplicate);
            case SendOutcome.Refused { Error: SendError.SenderRemoved }:
                // Removed a moment ago: the notice that closes this connection may still be on its way, but the account has
                // already forgotten the device, and nothing is sent in its name.
                Close(ErrorFrame(0, ErrorCode.DeviceRemoved, "this device was removed from the account"));
                return null;
            case SendOutcome.Refused r:
                throw new RequestException(WireMapping.ErrorOf(r.Error), r.Reason, stale: [.. r.Stale.Select(WireMapping.Wire)]);
            default:
                throw new RequestException(ErrorCode.Internal, "unexpected outcome of a send");
        }
    }

    /// <summary>Refuses a message one of whose ciphertexts could never be pushed: its Deliver would exceed the maximum frame.</summary>
    private void CheckDeliverSize(MessageMeta meta, IEnumerable<(int Length, int Type)> ciphertexts)
    {
        var largest = new DeliverSize(User, Device, meta).Largest(ciphertexts);
        if (largest > _settings.MaxFrameSize)
            throw new RequestException(ErrorCode.MessageTooLarge,
                $"the Deliver of this message would be {largest} bytes, above the maximum frame of {_settings.MaxFrameSize}");
    }

    /// <summary>Both sides of a conversation with <paramref name="other"/>, asked in parallel; null where an account does not exist.</summary>
    private async Task<(A.DeliveryInfo? Mine, A.DeliveryInfo? Theirs)> DeliveryInfoAsync(UserId other)
    {
        var mine = AskAsync<IAccountReply>(Backend.Accounts, new AccountCommands.GetDeliveryInfo(User, other));
        var theirs = AskAsync<IAccountReply>(Backend.Accounts, new AccountCommands.GetDeliveryInfo(other, User));
        return (await mine as A.DeliveryInfo, await theirs as A.DeliveryInfo);
    }

    private static Frame SendResult(MessageId id, DateTimeOffset at, bool duplicate) => new()
    {
        SendResult = new SendResult { MessageId = WireMapping.Bytes(id), ServerTimestamp = WireMapping.Ms(at), Duplicate = duplicate },
    };

    private async Task EnqueueAsync(IMailboxCommand command)
    {
        if (await AskAsync<IMailboxReply>(Backend.Mailboxes, command) is M.Rejected r)
            throw new RequestException(ErrorCode.InvalidArgument, r.Reason);
    }

    private void OnAck(Ack ack) =>
        Backend.Mailboxes.Tell(new MailboxCommands.Ack(User, Device, (long)Math.Min(ack.UpToSeq, long.MaxValue)), ActorRefs.Nobody);

    private async Task<Frame?> SendReceiptAsync(Frame frame)
    {
        var receipt = frame.SendReceipt;
        var type = WireMapping.ReceiptTypeOf(receipt.Type) ?? throw new RequestException(ErrorCode.InvalidArgument, "type must be DELIVERED, READ or PLAYED");
        if (receipt.ToUserId.Length == 0 || receipt.ToUserId == User.Value)
            throw new RequestException(ErrorCode.InvalidArgument, "to_user_id must name the sender of the messages");
        if (receipt.MessageIds.Count is 0 or > MaxReceiptIds)
            throw new RequestException(ErrorCode.InvalidArgument, $"a receipt names 1 to {MaxReceiptIds} messages");
        var ids = new List<MessageId>(receipt.MessageIds.Count);
        foreach (var bytes in receipt.MessageIds)
            ids.Add(MessageId.TryFrom(bytes.Span, out var id) ? id : throw new RequestException(ErrorCode.InvalidArgument, "message ids are 16 bytes"));
        var group = receipt.GroupId.Length > 0 ? GroupOf(receipt.GroupId) : (GroupId?)null;

        var to = new UserId(receipt.ToUserId);
        // Only messages this user really received from that sender can be receipted (never someone else's).
        var received = await AskAsync<IMailboxReply>(Backend.Mailboxes, new MailboxCommands.CheckReceived(User, to, [.. ids])) as M.Received;
        ids = received?.MessageIds.ToList() ?? [];
        if (ids.Count == 0)
            throw new RequestException(ErrorCode.NotFound, $"none of these messages were received from {to}");
        var (me, theirInfo) = await DeliveryInfoAsync(to);
        var them = theirInfo ?? throw new RequestException(ErrorCode.NotFound, $"no user {to}");

        var forward = SendPolicy.ForwardsReceipt(type, group is not null, readerBlocks: me?.Blocks ?? false, senderBlocks: them.Blocks,
            readerSendsReadReceipts: me?.ReadReceipts ?? true, senderWantsReadReceipts: them.ReadReceipts);
        var immutableIds = ids.ToImmutableArray();
        if (forward)
            await EnqueueAsync(new MailboxCommands.EnqueueReceipt(to, MailboxState.ReceiptIdFor(User, type, ids), User, Device, type, immutableIds, null, group));
        if (me is { Devices.Count: > 1 })
            await EnqueueAsync(new MailboxCommands.EnqueueReceipt(User, MailboxState.ReceiptIdFor(User, type, ids, syncTo: to), User, Device,
                type, immutableIds, to, group));
        return new Frame { Ok = new Ok() };
    }

    private void OnTyping(Frame frame)
    {
        var typing = frame.Typing;
        if (typing.GroupId.Length > 0)
        {
            Reply(frame, ErrorCode.NotImplemented, "group typing is not implemented by this server yet", close: false);
            return;
        }
        if (typing.To.Length == 0 || typing.To == User.Value)
        {
            Reply(frame, ErrorCode.InvalidArgument, "to must name another user", close: false);
            return;
        }
        var to = new UserId(typing.To);
        var from = User;
        var backend = Backend;
        // Relayed only to online devices, never persisted, never waited for. A block in either direction stops it (a
        // blocked user sees nothing of the blocker, and a blocker does not show itself); an unknown user gets nothing.
        _ = DeliveryInfoAsync(to).ContinueWith(t =>
        {
            if (t.IsCompletedSuccessfully && t.Result is ({ Blocks: false }, { Blocks: false }))
                backend.PresenceBus.Tell(new Publish(PresenceTopics.Inbox(to), new TypingSignal(from, to, null, (int)typing.State)));
        }, TaskScheduler.Default);
    }

    public const int MaxPresencePerRequest = 256;
    public const int MaxPresencePerConnection = 1024;

    /// <summary>The users this connection follows (their presence is pushed while privacy and blocks allow).</summary>
    private readonly HashSet<UserId> _subscribed = new();

    private async Task<Frame?> SubscribePresenceAsync(Frame frame)
    {
        var users = frame.SubscribePresence.UserIds.Where(id => id.Length > 0).Distinct().Select(id => new UserId(id)).ToList();
        if (users.Count > MaxPresencePerRequest)
            throw new RequestException(ErrorCode.InvalidArgument, $"at most {MaxPresencePerRequest} users per SubscribePresence");
        lock (_gate)
        {
            // Every id asked for counts, known or not: a subscription is what the client asked for.
            if (_subscribed.Count + users.Count(u => !_subscribed.Contains(u)) > MaxPresencePerConnection)
                throw new RequestException(ErrorCode.InvalidArgument,
                    $"at most {MaxPresencePerConnection} presence subscriptions per connection; unsubscribe some first");
            _subscribed.UnionWith(users);
        }

        // Ids that do not exist are answered at once, without starting an entity for each.
        var existing = await Backend.Directory.ExistingAsync(users, CancellationToken.None);
        var blocked = (await AskAsync<IAccountReply>(Backend.Accounts, new AccountCommands.GetBlocked(User)) as A.Blocked)?.Users ?? [];
        var presences = await Task.WhenAll(users.Select(async user =>
        {
            if (!existing.Contains(user))
                return new Protocol.Presence { UserId = user.Value };
            var presence = await PresenceLook.OfAsync(Backend, User, user, viewerBlocksTarget: blocked.Contains(user.Value));
            // Followed even while hidden: if the user's privacy or a block changes, the subscription shows them again.
            _sessionActor?.Tell(new DeviceSessionActor.FollowPresence(user, Follow: true, Visible: presence.State != PresenceState.Unspecified));
            return presence;
        }));
        var list = new PresenceList();
        list.Presences.AddRange(presences);
        return new Frame { PresenceList = list };
    }

    private void OnSetAvailability(Frame frame)
    {
        _sessionActor?.Tell(new DeviceSessionActor.Available(frame.SetAvailability.Available));
        _connection.Send(new Frame { RequestId = frame.RequestId, Ok = new Ok() });
    }

    private void OnUnsubscribePresence(Frame frame)
    {
        foreach (var user in frame.UnsubscribePresence.UserIds.Distinct().Select(id => new UserId(id)))
        {
            bool was;
            lock (_gate)
                was = _subscribed.Remove(user);
            if (was)
                _sessionActor?.Tell(new DeviceSessionActor.FollowPresence(user, Follow: false));
        }
        _connection.Send(new Frame { RequestId = frame.RequestId, Ok = new Ok() });
    }
}
