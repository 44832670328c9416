using Akka.WhatsApp.Domain.Presence;
using Proto = Akka.WhatsApp.Cluster.Storage.Presence;
using static Akka.WhatsApp.Cluster.Serialization.StorageMapping;

namespace Akka.WhatsApp.Cluster.Presence;

/// <summary>Protobuf serializer for the presence and typing signals published across nodes.</summary>
public sealed class PresenceSerializer : ProtobufSerializer
{
    public const int Id = 112;

    public override int Identifier => Id;

    public PresenceSerializer(ExtendedActorSystem system) : base(system)
    {
        Map<LinkApproved, Proto.LinkApproved>("LA",
            l => new Proto.LinkApproved
            {
                Code = l.Code, User = l.User.Value, ApprovedBy = l.ApprovedBy.Value, IdentityKey = Bytes(l.IdentityKey),
                ReplyTo = Akka.Serialization.Serialization.SerializedActorPath(l.ReplyTo), AccountSignature = Bytes(l.AccountSignature),
            },
            p => new LinkApproved(p.Code, new UserId(p.User), new DeviceId(p.ApprovedBy), p.IdentityKey.ToByteArray(), system.Provider.ResolveActorRef(p.ReplyTo),
                p.AccountSignature.ToByteArray()));
        Map<LinkRejected, Proto.LinkRejected>("LX", r => new Proto.LinkRejected { Code = r.Code }, p => new LinkRejected(p.Code));
        Map<LinkResult, Proto.LinkResult>("LR",
            r => new Proto.LinkResult { Code = r.Code, Device = r.Device, ErrorCode = r.ErrorCode, Reason = r.Reason },
            p => new LinkResult(p.Code, p.Device, p.ErrorCode, p.Reason));
        Map<PresenceChanged, Proto.PresenceChanged>("P",
            p => new Proto.PresenceChanged { User = p.User.Value, Online = p.Online, HasLastSeen = p.LastSeen.HasValue, LastSeenMs = p.LastSeen is { } t ? Ms(t) : 0 },
            p => new PresenceChanged(new UserId(p.User), p.Online, p.HasLastSeen ? At(p.LastSeenMs) : null));
        Map<PresenceAccessChanged, Proto.PresenceAccessChanged>("PA",
            p => new Proto.PresenceAccessChanged { Of = p.Of.Value }, p => new PresenceAccessChanged(new UserId(p.Of)));
        Map<TypingSignal, Proto.TypingSignal>("T",
            t => new Proto.TypingSignal { From = t.From.Value, To = t.To.Value, GroupId = t.Group?.Value ?? "", State = t.State },
            p => new TypingSignal(new UserId(p.From), new UserId(p.To), p.GroupId.Length == 0 ? null : new GroupId(p.GroupId), p.State));
    }
}
