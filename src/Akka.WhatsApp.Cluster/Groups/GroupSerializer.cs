using Akka.WhatsApp.Domain.Groups;
using Google.Protobuf;
using Proto = Akka.WhatsApp.Cluster.Storage.Groups;
using static Akka.WhatsApp.Cluster.Serialization.StorageMapping;
using C = Akka.WhatsApp.Domain.Groups.GroupCommands;
using E = Akka.WhatsApp.Domain.Groups.GroupEvents;
using R = Akka.WhatsApp.Domain.Groups.GroupReplies;

namespace Akka.WhatsApp.Cluster.Groups;

/// <summary>Protobuf serializer for everything the Group persists or sends across nodes.</summary>
public sealed class GroupSerializer : ProtobufSerializer
{
    public const int Id = 113;

    public override int Identifier => Id;

    public GroupSerializer(ExtendedActorSystem system) : base(system)
    {
        // events — manifests are stored with every event: never change them
        Map<E.Changed, Proto.Changed>("GC", ToProto, FromProto);
        Map<E.MessagePosted, Proto.MessagePosted>("GP", ToProto, FromProto);
        Map<E.InviteCreated, Proto.InviteCreated>("GI",
            e => new Proto.InviteCreated { Secret = e.Secret, AtMs = Ms(e.At) }, p => new E.InviteCreated(p.Secret, At(p.AtMs)));
        Map<E.FannedOut, Proto.FannedOut>("GF", e => new Proto.FannedOut { UpToSeq = e.UpToSeq }, p => new E.FannedOut(p.UpToSeq));
        Map<GroupState, Proto.GroupSnapshot>("GS", ToProto, FromProto);

        // commands
        Map<C.Create, Proto.Create>("C",
            c => new Proto.Create
            {
                Group = c.Group.Value, Creator = c.Creator.Value, Name = c.Name, Description = c.Description, IconMediaId = c.IconMediaId,
                Settings = SettingsToProto(c.Settings), Members = { c.Members.Select(m => m.Value) }, Refused = { Results(c.Refused) },
                MaxMembers = c.MaxMembers,
            },
            p => new C.Create(new GroupId(p.Group), new UserId(p.Creator), p.Name, p.Description, p.IconMediaId, SettingsFromProto(p.Settings),
                Users(p.Members), Results(p.Refused), p.MaxMembers));
        Map<C.GetInfo, Proto.GetInfo>("I",
            c => new Proto.GetInfo { Group = c.Group.Value, Requester = c.Requester.Value },
            p => new C.GetInfo(new GroupId(p.Group), new UserId(p.Requester)));
        Map<C.Update, Proto.Update>("U",
            c =>
            {
                var p = new Proto.Update { Group = c.Group.Value, Actor = c.Actor.Value, Settings = c.Settings is { } s ? SettingsToProto(s) : null };
                if (c.Name is { } name)
                    p.Name = name;
                if (c.Description is { } description)
                    p.Description = description;
                if (c.IconMediaId is { } icon)
                    p.IconMediaId = icon;
                return p;
            },
            p => new C.Update(new GroupId(p.Group), new UserId(p.Actor), p.HasName ? p.Name : null, p.HasDescription ? p.Description : null,
                p.HasIconMediaId ? p.IconMediaId : null, p.Settings is { } s ? SettingsFromProto(s) : null));
        Map<C.ChangeMembers, Proto.ChangeMembers>("M",
            c => new Proto.ChangeMembers
            {
                Group = c.Group.Value, Actor = c.Actor.Value, Operation = (int)c.Operation, Users = { c.Users.Select(u => u.Value) },
                Refused = { Results(c.Refused) }, MaxMembers = c.MaxMembers,
            },
            p => new C.ChangeMembers(new GroupId(p.Group), new UserId(p.Actor), (MemberOperation)p.Operation, Users(p.Users), Results(p.Refused),
                p.MaxMembers));
        Map<C.Leave, Proto.Leave>("L",
            c => new Proto.Leave { Group = c.Group.Value, User = c.User.Value }, p => new C.Leave(new GroupId(p.Group), new UserId(p.User)));
        Map<C.CreateInvite, Proto.CreateInvite>("CI",
            c => new Proto.CreateInvite { Group = c.Group.Value, Actor = c.Actor.Value, NewSecret = c.NewSecret },
            p => new C.CreateInvite(new GroupId(p.Group), new UserId(p.Actor), p.NewSecret));
        Map<C.RevokeInvite, Proto.RevokeInvite>("RI",
            c => new Proto.RevokeInvite { Group = c.Group.Value, Actor = c.Actor.Value },
            p => new C.RevokeInvite(new GroupId(p.Group), new UserId(p.Actor)));
        Map<C.PreviewInvite, Proto.PreviewInvite>("PI",
            c => new Proto.PreviewInvite { Group = c.Group.Value, Secret = c.Secret },
            p => new C.PreviewInvite(new GroupId(p.Group), p.Secret));
        Map<C.JoinByInvite, Proto.JoinByInvite>("J",
            c => new Proto.JoinByInvite { Group = c.Group.Value, User = c.User.Value, Secret = c.Secret, MaxMembers = c.MaxMembers },
            p => new C.JoinByInvite(new GroupId(p.Group), new UserId(p.User), p.Secret, p.MaxMembers));
        Map<C.Post, Proto.Post>("P",
            c => new Proto.Post
            {
                Group = c.Group.Value, FromUser = c.From.Value, FromDevice = c.FromDevice.Value, MessageId = Bytes(c.MessageId),
                Meta = MetaToProto(c.Meta), Payload = PayloadToProto(c.Payload),
            },
            p => new C.Post(new GroupId(p.Group), new UserId(p.FromUser), new DeviceId(p.FromDevice), IdOf(p.MessageId), MetaFromProto(p.Meta),
                PayloadFromProto(p.Payload)));
        Map<C.GetRecipientCount, Proto.GetRecipientCount>("RC",
            c => new Proto.GetRecipientCount { Group = c.Group.Value, Requester = c.Requester.Value, MessageId = Bytes(c.MessageId) },
            p => new C.GetRecipientCount(new GroupId(p.Group), new UserId(p.Requester), IdOf(p.MessageId)));
        Map<C.GetPost, Proto.GetPost>("FP",
            c => new Proto.GetPost { Group = c.Group.Value, Requester = c.Requester.Value, MessageId = Bytes(c.MessageId) },
            p => new C.GetPost(new GroupId(p.Group), new UserId(p.Requester), IdOf(p.MessageId)));

        // replies
        Map<R.Info, Proto.Info>("RIN", r => new Proto.Info { Group = ToProto(r.Group) }, p => new R.Info(FromProto(p.Group)));
        Map<R.Created, Proto.Created>("RCR",
            r => new Proto.Created { Group = ToProto(r.Group), Results = { Results(r.Results) } },
            p => new R.Created(FromProto(p.Group), Results(p.Results)));
        Map<R.Members, Proto.Members>("RM", r => new Proto.Members { Results = { Results(r.Results) } }, p => new R.Members(Results(p.Results)));
        Map<R.Posted, Proto.Posted>("RP",
            r => new Proto.Posted { MessageId = Bytes(r.MessageId), Seq = r.Seq, AtMs = Ms(r.At), Duplicate = r.Duplicate },
            p => new R.Posted(IdOf(p.MessageId), p.Seq, At(p.AtMs), p.Duplicate));
        Map<R.Invite, Proto.Invite>("RV",
            r => new Proto.Invite { Secret = r.Secret, CreatedAtMs = Ms(r.CreatedAt) }, p => new R.Invite(p.Secret, At(p.CreatedAtMs)));
        Map<R.Preview, Proto.Preview>("RPV",
            r => new Proto.Preview { Name = r.Name, Description = r.Description, IconMediaId = r.IconMediaId, MemberCount = r.MemberCount, Creator = r.Creator.Value },
            p => new R.Preview(p.Name, p.Description, p.IconMediaId, p.MemberCount, new UserId(p.Creator)));
        Map<R.RecipientCount, Proto.RecipientCount>("RRC", r => new Proto.RecipientCount { Count = r.Count }, p => new R.RecipientCount(p.Count));
        Map<R.Done, Proto.Done>("RD", _ => new Proto.Done(), _ => R.Done.Instance);
        Map<R.Rejected, Proto.Rejected>("RR",
            r => new Proto.Rejected { Error = (int)r.Error, Reason = r.Reason }, p => new R.Rejected((GroupError)p.Error, p.Reason));
    }

    private static Proto.Changed ToProto(E.Changed e) =>
        new() { Seq = e.Seq, MessageId = Bytes(e.MessageId), Change = ChangeToProto(e.Change), AtMs = Ms(e.At) };

    private static E.Changed FromProto(Proto.Changed p) => new(p.Seq, IdOf(p.MessageId), ChangeFromProto(p.Change), At(p.AtMs));

    private static Proto.MessagePosted ToProto(E.MessagePosted e) => new()
    {
        Seq = e.Seq, MessageId = Bytes(e.MessageId), FromUser = e.From.Value, FromDevice = e.FromDevice.Value, AtMs = Ms(e.At),
        Meta = MetaToProto(e.Meta), Payload = PayloadToProto(e.Payload),
    };

    private static E.MessagePosted FromProto(Proto.MessagePosted p) => new(
        p.Seq, IdOf(p.MessageId), new UserId(p.FromUser), new DeviceId(p.FromDevice), At(p.AtMs), MetaFromProto(p.Meta), PayloadFromProto(p.Payload));

    private static IEnumerable<Proto.MemberResult> Results(ImmutableArray<MemberResult> results) =>
        results.IsDefault ? [] : results.Select(r => new Proto.MemberResult { UserId = r.User.Value, Error = (int)(r.Error ?? 0) });

    private static ImmutableArray<MemberResult> Results(IEnumerable<Proto.MemberResult> results) =>
        [.. results.Select(r => new MemberResult(new UserId(r.UserId), r.Error == 0 ? null : (GroupError)r.Error))];

    private static Proto.GroupMember ToProto(GroupMember m) => new()
    {
        UserId = m.User.Value, Role = (int)m.Role, JoinedAtMs = Ms(m.JoinedAt), AddedBy = m.AddedBy?.Value ?? "", Order = m.Order,
    };

    private static GroupMember FromProto(Proto.GroupMember p) =>
        new(new UserId(p.UserId), (GroupRole)p.Role, At(p.JoinedAtMs), UserOrNull(p.AddedBy), p.Order);

    private static Proto.GroupView ToProto(GroupView v) => new()
    {
        Id = v.Id.Value, Name = v.Name, Description = v.Description, IconMediaId = v.IconMediaId, Creator = v.Creator.Value ?? "",
        CreatedAtMs = Ms(v.CreatedAt), Members = { v.Members.Select(ToProto) }, Settings = SettingsToProto(v.Settings), LastSeq = v.LastSeq,
        Version = v.Version,
    };

    private static GroupView FromProto(Proto.GroupView p) => new(
        new GroupId(p.Id), p.Name, p.Description, p.IconMediaId, new UserId(p.Creator), At(p.CreatedAtMs), [.. p.Members.Select(FromProto)],
        SettingsFromProto(p.Settings), p.LastSeq, p.Version);

    private static Proto.GroupSnapshot ToProto(GroupState s)
    {
        var p = new Proto.GroupSnapshot
        {
            Exists = s.Exists, Creator = s.Creator.Value ?? "", CreatedAtMs = Ms(s.CreatedAt), Name = s.Name, Description = s.Description,
            IconMediaId = s.IconMediaId, Settings = SettingsToProto(s.Settings), NextOrder = s.NextOrder, LastSeq = s.LastSeq, Version = s.Version,
            InviteSecret = s.InviteSecret ?? "", InviteCreatedAtMs = s.InviteSecret is null ? 0 : Ms(s.InviteCreatedAt), FannedOutUpTo = s.FannedOutUpTo,
        };
        p.Members.AddRange(s.Members.Values.OrderBy(m => m.Order).Select(ToProto));
        p.Outbox.AddRange(s.Outbox.Select(post =>
        {
            var entry = new Proto.OutboxEntry { Recipients = { post.Recipients.Select(r => r.Value).Order(StringComparer.Ordinal) } };
            if (post.Change is { } change)
                entry.Change = ToProto(new E.Changed(post.Seq, post.MessageId, change, post.At));
            else
                entry.Message = ToProto(new E.MessagePosted(post.Seq, post.MessageId, post.From, post.FromDevice, post.At, post.Meta, post.Payload!));
            return entry;
        }));
        p.Recent.AddRange(s.RecentOrder.Select(id => (id, r: s.Recent[id])).Select(x => new Proto.RecentPost
        {
            MessageId = Bytes(x.id), FromUser = x.r.From.Value, Seq = x.r.Seq, AtMs = Ms(x.r.At), RecipientCount = x.r.RecipientCount,
        }));
        return p;
    }

    private static GroupState FromProto(Proto.GroupSnapshot p)
    {
        var members = p.Members.Select(FromProto).ToImmutableDictionary(m => m.User);
        var recent = p.Recent.Select(r => (Id: IdOf(r.MessageId), Entry: new RecentPost(new UserId(r.FromUser), r.Seq, At(r.AtMs), r.RecipientCount))).ToList();
        return GroupState.Empty with
        {
            Exists = p.Exists,
            Creator = new UserId(p.Creator),
            CreatedAt = At(p.CreatedAtMs),
            Name = p.Name,
            Description = p.Description,
            IconMediaId = p.IconMediaId,
            Settings = SettingsFromProto(p.Settings),
            Members = members,
            MemberIds = [.. members.Keys],
            NextOrder = p.NextOrder,
            LastSeq = p.LastSeq,
            Version = p.Version,
            InviteSecret = p.InviteSecret.Length == 0 ? null : p.InviteSecret,
            InviteCreatedAt = At(p.InviteCreatedAtMs),
            FannedOutUpTo = p.FannedOutUpTo,
            Outbox = p.Outbox.Select(OutboxPost).ToImmutableList(),
            Recent = recent.ToImmutableDictionary(r => r.Id, r => r.Entry),
            RecentOrder = ImmutableQueue.CreateRange(recent.Select(r => r.Id)),
        };
    }

    private static GroupPost OutboxPost(Proto.OutboxEntry entry)
    {
        var recipients = entry.Recipients.Select(r => new UserId(r)).ToImmutableHashSet();
        return entry.EntryCase == Proto.OutboxEntry.EntryOneofCase.Change
            ? GroupState.PostOf(FromProto(entry.Change), recipients)
            : GroupState.PostOf(FromProto(entry.Message), recipients);
    }
}
