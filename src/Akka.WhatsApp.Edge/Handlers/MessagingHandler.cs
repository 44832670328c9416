using Akka.WhatsApp.Domain.Mailbox;
using Akka.WhatsApp.Domain.Messaging;
using A = Akka.WhatsApp.Domain.Accounts.AccountReplies;
using M = Akka.WhatsApp.Domain.Mailbox.MailboxReplies;
using static Akka.WhatsApp.Edge.Handlers.EdgeSessionExtensions;

namespace Akka.WhatsApp.Edge.Handlers;

/// <summary>
/// 1:1 messages, acks and receipts (PROTOCOL.md §8): checks the wire, then hands the send to the transport-independent
/// <see cref="MessageSender"/>, which applies the domain's <see cref="SendPolicy"/>.
/// </summary>
public sealed class MessagingHandler : IPacketHandler
{
    private const int MaxReceiptIds = 256;

    public void Register(PacketTable table) => table
        .Send(Frame.PacketOneofCase.Send, SendAsync)
        .Immediate(Frame.PacketOneofCase.Ack, OnAck)
        .Request(Frame.PacketOneofCase.SendReceipt, SendReceiptAsync);

    private static async Task<Frame?> SendAsync(Frame frame, IEdgeSession session)
    {
        var send = frame.Send;
        if (!MessageId.TryFrom(send.MessageId.Span, out var messageId))
            throw new RequestException(ErrorCode.InvalidArgument, "message_id must be exactly 16 bytes");
        if (send.ToUserId.Length == 0 || send.ToUserId == session.User.Value)
            throw new RequestException(ErrorCode.InvalidArgument, "a message goes to another user: to_user_id is your own (your other devices get copies through self_ciphertexts of a message to someone else)");
        if (send.Kind == ContentKind.System)
            throw new RequestException(ErrorCode.InvalidArgument, "clients cannot send SYSTEM messages");
        if (send.Ciphertexts.Count == 0 && !send.Resend)
            throw new RequestException(ErrorCode.InvalidArgument, "a message needs one ciphertext per device of the recipient");
        if (SendPolicy.NamesADeviceTwice(send.Ciphertexts.Select(c => c.DeviceId)) || SendPolicy.NamesADeviceTwice(send.SelfCiphertexts.Select(c => c.DeviceId)))
            throw new RequestException(ErrorCode.InvalidArgument, "two ciphertexts for one device");
        if (!WireMapping.TryOptionalId(send.ReplyToMessageId, out var replyTo) || !WireMapping.TryOptionalId(send.TargetMessageId, out var target))
            throw new RequestException(ErrorCode.InvalidArgument, "reply_to_message_id and target_message_id must be empty or 16 bytes");
        var sendAt = ScheduledHandler.SendAtOf(session, send.SendAt, send.Resend);
        var meta = new MessageMeta((int)send.Kind, replyTo, send.ForwardCount, [.. send.Mentions], target, (long)Math.Min(send.ClientTimestamp, long.MaxValue),
            send.Silent);
        var to = new UserId(send.ToUserId);
        CheckDeliverSize(session, meta, send.Ciphertexts.Select(c => (c.Ciphertext.Length, (int)c.Type)));
        CheckDeliverSize(session, meta with { SyncTo = to }, send.SelfCiphertexts.Select(c => (c.Ciphertext.Length, (int)c.Type)));

        // Taken here, in frame order: the checks wait for two account entities, and two sends checked at the same time
        // could otherwise reach the mailbox in either order (found by the load test: a few per thousand).
        var turn = session.SendOrder.Next();
        SendOutcome outcome;
        try
        {
            outcome = await session.Backend.Messages.SendAsync(new OutgoingMessage(session.User, session.Device, to, messageId, meta,
                WireMapping.Ciphertexts(send.Ciphertexts), WireMapping.Ciphertexts(send.SelfCiphertexts), send.Resend,
                WireMapping.Registrations(send.Ciphertexts), WireMapping.Registrations(send.SelfCiphertexts)), turn, sendAt);
        }
        finally
        {
            turn.Done();
        }
        switch (outcome)
        {
            case SendOutcome.Accepted a:
                return new Frame
                {
                    SendResult = new SendResult
                    {
                        MessageId = WireMapping.Bytes(messageId), ServerTimestamp = WireMapping.Ms(a.At), Duplicate = a.Duplicate,
                        ScheduledFor = a.ScheduledFor is { } at ? WireMapping.Ms(at) : 0,
                    },
                };
            case SendOutcome.Refused { Error: SendError.SenderRemoved }:
                // Removed a moment ago: the notice that closes this connection may still be on its way, but the account has
                // already forgotten the device, and nothing is sent in its name.
                session.Close(ErrorFrame(0, ErrorCode.DeviceRemoved, "this device was removed from the account"));
                return null;
            case SendOutcome.Refused r:
                throw new RequestException(WireMapping.ErrorOf(r.Error), r.Reason, stale: [.. r.Stale.Select(WireMapping.Wire)]);
            default:
                throw new RequestException(ErrorCode.Internal, "unexpected outcome of a send");
        }
    }

    /// <summary>Refuses a message one of whose ciphertexts could never be pushed: its Deliver would exceed the maximum frame.</summary>
    public static void CheckDeliverSize(IEdgeSession session, MessageMeta meta, IEnumerable<(int Length, int Type)> ciphertexts)
    {
        var largest = new DeliverSize(session.User, session.Device, meta).Largest(ciphertexts);
        if (largest > session.Settings.MaxFrameSize)
            throw new RequestException(ErrorCode.MessageTooLarge,
                $"the Deliver of this message would be {largest} bytes, above the maximum frame of {session.Settings.MaxFrameSize}");
    }

    /// <summary>Both sides of a conversation with <paramref name="other"/>, asked in parallel; null where an account does not exist.</summary>
    public static async Task<(A.DeliveryInfo? Mine, A.DeliveryInfo? Theirs)> DeliveryInfoAsync(IEdgeSession session, UserId other)
    {
        var mine = session.AskAsync<IAccountReply>(session.Backend.Accounts, new AccountCommands.GetDeliveryInfo(session.User, other));
        var theirs = session.AskAsync<IAccountReply>(session.Backend.Accounts, new AccountCommands.GetDeliveryInfo(other, session.User));
        return (await mine as A.DeliveryInfo, await theirs as A.DeliveryInfo);
    }

    private static void OnAck(Frame frame, IEdgeSession session) =>
        session.Backend.Mailboxes.Tell(new MailboxCommands.Ack(session.User, session.Device, (long)Math.Min(frame.Ack.UpToSeq, long.MaxValue)), ActorRefs.Nobody);

    private static async Task<Frame?> SendReceiptAsync(Frame frame, IEdgeSession session)
    {
        var receipt = frame.SendReceipt;
        var type = WireMapping.ReceiptTypeOf(receipt.Type) ?? throw new RequestException(ErrorCode.InvalidArgument, "type must be DELIVERED, READ or PLAYED");
        if (receipt.ToUserId.Length == 0 || receipt.ToUserId == session.User.Value)
            throw new RequestException(ErrorCode.InvalidArgument, "to_user_id must name the sender of the messages");
        if (receipt.MessageIds.Count is 0 or > MaxReceiptIds)
            throw new RequestException(ErrorCode.InvalidArgument, $"a receipt names 1 to {MaxReceiptIds} messages");
        var ids = new List<MessageId>(receipt.MessageIds.Count);
        foreach (var bytes in receipt.MessageIds)
            ids.Add(MessageId.TryFrom(bytes.Span, out var id) ? id : throw new RequestException(ErrorCode.InvalidArgument, "message ids are 16 bytes"));
        var group = receipt.GroupId.Length > 0 ? GroupsHandler.GroupOf(receipt.GroupId) : (GroupId?)null;

        var (user, device, backend) = (session.User, session.Device, session.Backend);
        var to = new UserId(receipt.ToUserId);
        // Only messages this user really received from that sender can be receipted (never someone else's).
        var received = await session.AskAsync<IMailboxReply>(backend.Mailboxes, new MailboxCommands.CheckReceived(user, to, [.. ids])) as M.Received;
        ids = received?.MessageIds.ToList() ?? [];
        if (ids.Count == 0)
            throw new RequestException(ErrorCode.NotFound, $"none of these messages were received from {to}");
        var (me, theirInfo) = await DeliveryInfoAsync(session, to);
        var them = theirInfo ?? throw new RequestException(ErrorCode.NotFound, $"no user {to}");

        var forward = SendPolicy.ForwardsReceipt(type, group is not null, readerBlocks: me?.Blocks ?? false, senderBlocks: them.Blocks,
            readerSendsReadReceipts: me?.ReadReceipts ?? true, senderWantsReadReceipts: them.ReadReceipts);
        var immutableIds = ids.ToImmutableArray();
        if (forward)
            await StoreAsync(session, new MailboxCommands.EnqueueReceipt(to, MailboxState.ReceiptIdFor(user, type, ids), user, device, type, immutableIds, null, group));
        if (me is { Devices.Count: > 1 })
            await StoreAsync(session, new MailboxCommands.EnqueueReceipt(user, MailboxState.ReceiptIdFor(user, type, ids, syncTo: to), user, device,
                type, immutableIds, to, group));
        return new Frame { Ok = new Ok() };
    }

    private static async Task StoreAsync(IEdgeSession session, IMailboxCommand command)
    {
        if (await session.AskAsync<IMailboxReply>(session.Backend.Mailboxes, command) is M.Rejected r)
            throw new RequestException(ErrorCode.InvalidArgument, r.Reason);
    }
}
