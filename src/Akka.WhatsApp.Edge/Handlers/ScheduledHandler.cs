using Google.Protobuf;
using Akka.WhatsApp.Domain.Scheduling;
using R = Akka.WhatsApp.Domain.Scheduling.ScheduleReplies;

namespace Akka.WhatsApp.Edge.Handlers;

/// <summary>
/// The sender's scheduled messages (PROTOCOL.md §8.8): list, reschedule, cancel. Scheduling itself is a Send or GroupSend
/// with send_at (<see cref="MessagingHandler"/>, <see cref="GroupMessagesHandler"/>); one entity per sender keeps them.
/// </summary>
public sealed class ScheduledHandler : IPacketHandler
{
    /// <summary>A send_at this close to now (or in the past) is a send now: clocks differ, and a second is not worth a schedule.</summary>
    public static readonly TimeSpan NowSlack = TimeSpan.FromSeconds(1);

    public void Register(PacketTable table) => table
        .Request(Frame.PacketOneofCase.ListScheduled, ListAsync)
        .Request(Frame.PacketOneofCase.RescheduleMessage, RescheduleAsync)
        .Request(Frame.PacketOneofCase.CancelScheduled, CancelAsync);

    /// <summary>
    /// The time a Send or GroupSend is scheduled for, null for a send now; the horizon is checked here already so that
    /// the answer does not wait for the accounts (the Schedule entity checks it again against its own clock).
    /// </summary>
    public static DateTimeOffset? SendAtOf(IEdgeSession session, ulong sendAt, bool resend)
    {
        var now = session.Time.GetUtcNow();
        if (sendAt <= (ulong)(now + NowSlack).ToUnixTimeMilliseconds())
            return null;
        if (resend)
            throw new RequestException(ErrorCode.InvalidArgument, "a resend cannot be scheduled");
        if (session.Backend.Schedules is null)
            throw new RequestException(ErrorCode.NotImplemented, "this server does not schedule messages");
        var at = DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Min(sendAt, (ulong)DateTimeOffset.MaxValue.ToUnixTimeMilliseconds()));
        if (at > now + ScheduleState.Horizon)
            throw new RequestException(ErrorCode.ScheduleTooFar, $"a message can be scheduled at most {ScheduleState.Horizon.TotalDays:0} days ahead");
        return at;
    }

    private static async Task<Frame?> ListAsync(Frame frame, IEdgeSession session)
    {
        var pending = await AskAsync(session, new ScheduleCommands.List(session.User)) as R.Pending
                      ?? throw new RequestException(ErrorCode.Internal, "unexpected answer from the schedule");
        var list = new ScheduledList();
        list.Messages.AddRange(pending.Messages.Select(m => new ScheduledMessageInfo
        {
            MessageId = WireMapping.Bytes(m.Id), ToUserId = m.To?.Value ?? "", GroupId = m.Group?.Value ?? "", SendAt = WireMapping.Ms(m.SendAt),
            ScheduledAt = WireMapping.Ms(m.ScheduledAt), Kind = (ContentKind)m.Meta.Kind, FromDeviceId = m.FromDevice.Value,
        }));
        return new Frame { ScheduledList = list };
    }

    private static async Task<Frame?> RescheduleAsync(Frame frame, IEdgeSession session)
    {
        var id = IdOf(frame.RescheduleMessage.MessageId);
        var at = SendAtOf(session, frame.RescheduleMessage.SendAt, resend: false)
                 ?? throw new RequestException(ErrorCode.InvalidArgument, "send_at must be in the future");
        _ = await AskAsync(session, new ScheduleCommands.Reschedule(session.User, id, at));
        return new Frame { Ok = new Ok() };
    }

    private static async Task<Frame?> CancelAsync(Frame frame, IEdgeSession session)
    {
        _ = await AskAsync(session, new ScheduleCommands.Cancel(session.User, IdOf(frame.CancelScheduled.MessageId)));
        return new Frame { Ok = new Ok() };
    }

    /// <summary>Schedules a group message (GroupSend with send_at), once its sender's rights and device lists were checked.</summary>
    public static async Task<R.Scheduled> ScheduleAsync(IEdgeSession session, ScheduledMessage message) =>
        await AskAsync(session, new ScheduleCommands.Schedule(session.User, message)) as R.Scheduled
        ?? throw new RequestException(ErrorCode.Internal, "unexpected answer from the schedule");

    private static MessageId IdOf(ByteString bytes) =>
        MessageId.TryFrom(bytes.Span, out var id) ? id : throw new RequestException(ErrorCode.InvalidArgument, "message_id must be exactly 16 bytes");

    /// <summary>An Ask of the caller's Schedule entity; its refusals become the matching error codes.</summary>
    private static async Task<IScheduleReply> AskAsync(IEdgeSession session, IScheduleCommand command)
    {
        var schedules = session.Backend.Schedules ?? throw new RequestException(ErrorCode.NotImplemented, "this server does not schedule messages");
        return await session.AskAsync<IScheduleReply>(schedules, command) switch
        {
            R.Rejected r => throw new RequestException(r.Error switch
            {
                ScheduleError.NotFound => ErrorCode.NotFound,
                ScheduleError.TooFar => ErrorCode.ScheduleTooFar,
                ScheduleError.TooMany => ErrorCode.RateLimited,
                _ => ErrorCode.InvalidArgument,
            }, r.Reason),
            var reply => reply,
        };
    }
}
