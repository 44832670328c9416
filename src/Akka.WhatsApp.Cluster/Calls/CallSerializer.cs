using Akka.WhatsApp.Domain.Calls;
using Google.Protobuf;
using Proto = Akka.WhatsApp.Cluster.Storage.Calls;
using static Akka.WhatsApp.Cluster.Serialization.StorageMapping;

namespace Akka.WhatsApp.Cluster.Calls;

/// <summary>Protobuf serializer for what crosses nodes about calls: commands to the Call entity, its replies, its signals.</summary>
public sealed class CallSerializer : ProtobufSerializer
{
    public const int Id = 116;

    public override int Identifier => Id;

    public CallSerializer(ExtendedActorSystem system) : base(system)
    {
        string Path(IActorRef actor) => Akka.Serialization.Serialization.SerializedActorPath(actor);
        IActorRef Ref(string path) => path.Length == 0 ? ActorRefs.Nobody : system.Provider.ResolveActorRef(path);

        Map<CallCommands.Offer, Proto.Offer>("O",
            o => new Proto.Offer
            {
                Call = o.Call.Value, From = o.From.Value, FromDevice = o.FromDevice.Value, Session = Path(o.Session), To = o.To?.Value ?? "",
                GroupId = o.Group?.Value ?? "", Media = (int)o.Media, Silenced = o.Silenced, Members = { o.Members.Select(m => m.Value) },
                Rings = { o.Rings.Select(r => new Proto.CallRing { User = r.User.Value, Device = r.Device.Value, Offer = ByteString.CopyFrom(r.Offer) }) },
            },
            p => new CallCommands.Offer(new CallId(p.Call), new UserId(p.From), new DeviceId(p.FromDevice), Ref(p.Session), UserOrNull(p.To), GroupOrNull(p.GroupId),
                (CallMedia)p.Media, [.. p.Rings.Select(r => new CallRing(new UserId(r.User), new DeviceId(r.Device), r.Offer.ToByteArray()))], p.Silenced,
                Users(p.Members)));
        Map<CallCommands.Signal, Proto.Signal>("S",
            s => new Proto.Signal
            {
                Call = s.Call.Value, From = s.From.Value, FromDevice = s.FromDevice.Value, Session = Path(s.Session), Kind = (int)s.Kind,
                ToUser = s.ToUser?.Value ?? "", ToDevice = s.ToDevice.Value, Ciphertext = ByteString.CopyFrom(s.Ciphertext), Reason = (int)s.Reason, Media = (int)s.Media,
            },
            p => new CallCommands.Signal(new CallId(p.Call), new UserId(p.From), new DeviceId(p.FromDevice), Ref(p.Session), (CallSignalKind)p.Kind,
                UserOrNull(p.ToUser), new DeviceId(p.ToDevice), p.Ciphertext.ToByteArray(), (CallEndReason)p.Reason, (CallMedia)p.Media));
        Map<CallReplies.Accepted, Proto.Accepted>("A", a => new Proto.Accepted { Entity = Path(a.Entity) }, p => new CallReplies.Accepted(Ref(p.Entity)));
        Map<CallReplies.Refused, Proto.Refused>("R", r => new Proto.Refused { Error = (int)r.Error, Reason = r.Reason },
            p => new CallReplies.Refused((CallError)p.Error, p.Reason));
        Map<CallPush, Proto.CallPush>("P",
            c => new Proto.CallPush
            {
                To = c.To.Value, Device = c.Device, ExceptDevice = c.ExceptDevice, Call = c.Call.Value, Kind = (int)c.Kind, From = c.From?.Value ?? "",
                FromDevice = c.FromDevice, GroupId = c.Group?.Value ?? "", Callee = c.Callee?.Value ?? "", AtMs = Ms(c.At), Media = (int)c.Media,
                Ciphertext = ByteString.CopyFrom(c.Ciphertext), Reason = (int)c.Reason, Entity = Path(c.Entity),
                Participants = { c.Participants.Select(x => new Proto.CallParticipant { User = x.User.Value, Device = x.Device.Value, Media = (int)x.Media }) },
            },
            p => new CallPush(new UserId(p.To), p.Device, p.ExceptDevice, new CallId(p.Call), (CallPushKind)p.Kind, UserOrNull(p.From), p.FromDevice,
                GroupOrNull(p.GroupId), UserOrNull(p.Callee), At(p.AtMs), (CallMedia)p.Media, p.Ciphertext.ToByteArray(), (CallEndReason)p.Reason,
                [.. p.Participants.Select(x => new CallParticipant(new UserId(x.User), new DeviceId(x.Device), (CallMedia)x.Media))], Ref(p.Entity)));
        Map<DeviceAttached, Proto.DeviceAttached>("D", d => new Proto.DeviceAttached { User = d.User.Value, Device = d.Device.Value, Session = Path(d.Session) },
            p => new DeviceAttached(new UserId(p.User), new DeviceId(p.Device), Ref(p.Session)));
    }
}
