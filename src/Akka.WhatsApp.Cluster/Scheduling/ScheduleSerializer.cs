using Akka.WhatsApp.Domain.Scheduling;
using Proto = Akka.WhatsApp.Cluster.Storage.Schedule;
using static Akka.WhatsApp.Cluster.Serialization.StorageMapping;
using C = Akka.WhatsApp.Domain.Scheduling.ScheduleCommands;
using E = Akka.WhatsApp.Domain.Scheduling.ScheduleEvents;
using R = Akka.WhatsApp.Domain.Scheduling.ScheduleReplies;

namespace Akka.WhatsApp.Cluster.Scheduling;

/// <summary>Protobuf serializer of the Schedule aggregate: its events, its snapshot, and the commands and replies that cross nodes.</summary>
public sealed class ScheduleSerializer : ProtobufSerializer
{
    public const int Id = 119;

    public override int Identifier => Id;

    public ScheduleSerializer(ExtendedActorSystem system) : base(system)
    {
        Map<E.Scheduled, Proto.Scheduled>("ES", e => new Proto.Scheduled { Message = ToProto(e.Message) }, p => new E.Scheduled(FromProto(p.Message)));
        Map<E.Rescheduled, Proto.Rescheduled>("ER", e => new Proto.Rescheduled { MessageId = Bytes(e.Message), SendAtMs = Ms(e.SendAt), AtMs = Ms(e.At) },
            p => new E.Rescheduled(IdOf(p.MessageId), At(p.SendAtMs), At(p.AtMs)));
        Map<E.Cancelled, Proto.Cancelled>("EX", e => new Proto.Cancelled { MessageId = Bytes(e.Message) }, p => new E.Cancelled(IdOf(p.MessageId)));
        Map<E.Completed, Proto.Completed>("EC", e => new Proto.Completed { MessageId = Bytes(e.Message), Outcome = (int)e.Outcome },
            p => new E.Completed(IdOf(p.MessageId), (ScheduledOutcome)p.Outcome));

        Map<ScheduleState, Proto.ScheduleState>("S",
            s => new Proto.ScheduleState
            {
                Pending = { s.Pending.Values.OrderBy(m => m.SendAt).ThenBy(m => m.ScheduledAt).Select(ToProto) },
                Recent = { s.Recent.Select(r => new Proto.RecentMessage { MessageId = Bytes(r.Id), SendAtMs = Ms(r.SendAt), ScheduledAtMs = Ms(r.ScheduledAt) }) },
            },
            p => ScheduleState.Empty with
            {
                Pending = p.Pending.Select(FromProto).ToImmutableDictionary(m => m.Id),
                Recent = ImmutableQueue.CreateRange(p.Recent.Select(r => (IdOf(r.MessageId), At(r.SendAtMs), At(r.ScheduledAtMs)))),
                RecentCount = p.Recent.Count,
            });

        Map<C.Schedule, Proto.Schedule>("CS", c => new Proto.Schedule { Owner = c.Owner.Value, Message = ToProto(c.Message) },
            p => new C.Schedule(new UserId(p.Owner), FromProto(p.Message)));
        Map<C.Reschedule, Proto.Reschedule>("CR", c => new Proto.Reschedule { Owner = c.Owner.Value, MessageId = Bytes(c.Message), SendAtMs = Ms(c.SendAt) },
            p => new C.Reschedule(new UserId(p.Owner), IdOf(p.MessageId), At(p.SendAtMs)));
        Map<C.Cancel, Proto.Cancel>("CX", c => new Proto.Cancel { Owner = c.Owner.Value, MessageId = Bytes(c.Message) },
            p => new C.Cancel(new UserId(p.Owner), IdOf(p.MessageId)));
        Map<C.List, Proto.List>("CL", c => new Proto.List { Owner = c.Owner.Value }, p => new C.List(new UserId(p.Owner)));
        Map<C.Complete, Proto.Complete>("CC",
            c => new Proto.Complete { Owner = c.Owner.Value, MessageId = Bytes(c.Message), SendAtMs = Ms(c.SendAt), Outcome = (int)c.Outcome },
            p => new C.Complete(new UserId(p.Owner), IdOf(p.MessageId), At(p.SendAtMs), (ScheduledOutcome)p.Outcome));

        Map<R.Scheduled, Proto.ScheduledReply>("RS",
            r => new Proto.ScheduledReply { MessageId = Bytes(r.Message), SendAtMs = Ms(r.SendAt), AtMs = Ms(r.At), Duplicate = r.Duplicate },
            p => new R.Scheduled(IdOf(p.MessageId), At(p.SendAtMs), At(p.AtMs), p.Duplicate));
        Map<R.Cancelled, Proto.CancelledReply>("RX", r => new Proto.CancelledReply { Message = ToProto(r.Message) }, p => new R.Cancelled(FromProto(p.Message)));
        Map<R.Rescheduled, Proto.RescheduledReply>("RR", r => new Proto.RescheduledReply { Message = ToProto(r.Message) },
            p => new R.Rescheduled(FromProto(p.Message)));
        Map<R.Pending, Proto.PendingReply>("RP", r => new Proto.PendingReply { Messages = { r.Messages.Select(ToProto) } },
            p => new R.Pending([.. p.Messages.Select(FromProto)]));
        Map<R.Completed, Proto.CompletedReply>("RC", r => new Proto.CompletedReply { MessageId = Bytes(r.Message) }, p => new R.Completed(IdOf(p.MessageId)));
        Map<R.Rejected, Proto.Rejected>("RJ", r => new Proto.Rejected { Error = (int)r.Error, Reason = r.Reason },
            p => new R.Rejected((ScheduleError)p.Error, p.Reason));
    }

    private static Proto.ScheduledMessage ToProto(ScheduledMessage m) => new()
    {
        MessageId = Bytes(m.Id), FromDevice = m.FromDevice.Value, ToUser = m.To?.Value ?? "", GroupId = m.Group?.Value ?? "", Meta = MetaToProto(m.Meta),
        Payload = PayloadToProto(m.Payload), SendAtMs = Ms(m.SendAt), ScheduledAtMs = Ms(m.ScheduledAt),
        Registrations =
        {
            m.Registrations.OrderBy(r => r.Key.Value, StringComparer.Ordinal).Select(r => new Proto.Registrations
            {
                User = r.Key.Value, Devices = { r.Value.Keys }, RegistrationIds = { r.Value.Values },
            }),
        },
    };

    private static ScheduledMessage FromProto(Proto.ScheduledMessage p) => new(
        IdOf(p.MessageId), new DeviceId(p.FromDevice), UserOrNull(p.ToUser), GroupOrNull(p.GroupId), MetaFromProto(p.Meta), PayloadFromProto(p.Payload),
        p.Registrations.ToImmutableDictionary(r => new UserId(r.User),
            r => r.Devices.Zip(r.RegistrationIds).ToImmutableSortedDictionary(x => x.Item1, x => x.Item2)),
        At(p.SendAtMs), At(p.ScheduledAtMs));
}
