using Akka.WhatsApp.Domain.Mailbox;
using Akka.WhatsApp.Domain.Status;
using Google.Protobuf;
using Proto = Akka.WhatsApp.Cluster.Storage.Status;
using MailboxProto = Akka.WhatsApp.Cluster.Storage.Mailbox;
using static Akka.WhatsApp.Cluster.Serialization.StorageMapping;
using C = Akka.WhatsApp.Domain.Status.StatusCommands;
using E = Akka.WhatsApp.Domain.Status.StatusEvents;
using R = Akka.WhatsApp.Domain.Status.StatusReplies;
using Ciphertexts = System.Collections.Immutable.ImmutableDictionary<Akka.WhatsApp.Domain.UserId,
    System.Collections.Immutable.ImmutableSortedDictionary<uint, Akka.WhatsApp.Domain.Mailbox.DeviceCiphertext>>;

namespace Akka.WhatsApp.Cluster.Status;

/// <summary>Protobuf serializer for everything the Status entity persists, is asked across nodes, or publishes.</summary>
public sealed class StatusSerializer : ProtobufSerializer
{
    public const int Id = 117;

    public override int Identifier => Id;

    public StatusSerializer(ExtendedActorSystem system) : base(system)
    {
        // events and snapshot — manifests are stored with every event: never change them
        Map<E.Posted, Proto.Posted>("SP", e => new Proto.Posted { Post = ToProto(e.Post) }, p => new E.Posted(FromProto(p.Post)));
        Map<E.Deleted, Proto.Deleted>("SD", e => new Proto.Deleted { Id = Bytes(e.Id), AtMs = Ms(e.At) }, p => new E.Deleted(StatusOf(p.Id), At(p.AtMs)));
        Map<E.Expired, Proto.Expired>("SX",
            e => new Proto.Expired { Ids = { e.Ids.Select(Bytes) }, AtMs = Ms(e.At) },
            p => new E.Expired([.. p.Ids.Select(StatusOf)], At(p.AtMs)));
        Map<E.Viewed, Proto.Viewed>("SV",
            e => new Proto.Viewed { Id = Bytes(e.Id), Viewer = e.Viewer.Value, AtMs = Ms(e.At), Listed = e.Listed },
            p => new E.Viewed(StatusOf(p.Id), new UserId(p.Viewer), At(p.AtMs), p.Listed));
        Map<E.FannedOut, Proto.FannedOut>("SF", e => new Proto.FannedOut { Id = Bytes(e.Id) }, p => new E.FannedOut(StatusOf(p.Id)));
        Map<E.Indexed, Proto.Indexed>("SI",
            e => new Proto.Indexed { From = e.From.Value, Id = Bytes(e.Id), ExpiresAtMs = Ms(e.ExpiresAt) },
            p => new E.Indexed(new UserId(p.From), StatusOf(p.Id), At(p.ExpiresAtMs)));
        Map<StatusState, Proto.StatusSnapshot>("SS",
            s => new Proto.StatusSnapshot
            {
                Posts = { s.Posts.Values.OrderBy(p => p.PostedAt).Select(ToProto) },
                Feed = { s.Feed.Select(f => new Proto.FeedEntry { Owner = f.Key.Owner.Value, Id = Bytes(f.Key.Status), ExpiresAtMs = Ms(f.Value) }) },
            },
            p => StatusState.Empty with
            {
                Posts = p.Posts.Select(FromProto).ToImmutableDictionary(x => x.Id),
                Feed = p.Feed.ToImmutableDictionary(f => new FeedEntry(new UserId(f.Owner), StatusOf(f.Id)), f => At(f.ExpiresAtMs)),
            });

        // commands
        Map<C.Post, Proto.Post>("P",
            c => new Proto.Post
            {
                Owner = c.Owner.Value, FromDevice = c.FromDevice.Value, Id = Bytes(c.Id), Kind = c.Kind, MediaId = c.MediaId, Audience = ToProto(c.Audience),
                ClientTimestamp = c.ClientTimestamp, Ciphertexts = { ToProto(c.Ciphertexts) },
            },
            p => new C.Post(new UserId(p.Owner), new DeviceId(p.FromDevice), StatusOf(p.Id), p.Kind, p.MediaId, FromProto(p.Audience), p.ClientTimestamp,
                FromProto(p.Ciphertexts)));
        Map<C.Delete, Proto.Delete>("D", c => new Proto.Delete { Owner = c.Owner.Value, Id = Bytes(c.Id) }, p => new C.Delete(new UserId(p.Owner), StatusOf(p.Id)));
        Map<C.GetItems, Proto.GetItems>("G",
            c => new Proto.GetItems { Owner = c.Owner.Value, Viewer = c.Viewer.Value, ViewerDevice = c.ViewerDevice.Value, SinceMs = Ms(c.Since) },
            p => new C.GetItems(new UserId(p.Owner), new UserId(p.Viewer), new DeviceId(p.ViewerDevice), At(p.SinceMs)));
        Map<C.View, Proto.ViewStatus>("V",
            c => new Proto.ViewStatus { Owner = c.Owner.Value, Viewer = c.Viewer.Value, Ids = { c.Ids.Select(Bytes) }, Listed = c.Listed },
            p => new C.View(new UserId(p.Owner), new UserId(p.Viewer), [.. p.Ids.Select(StatusOf)], p.Listed));
        Map<C.GetViewers, Proto.GetViewers>("W",
            c => new Proto.GetViewers { Owner = c.Owner.Value, Id = Bytes(c.Id) }, p => new C.GetViewers(new UserId(p.Owner), StatusOf(p.Id)));
        Map<C.Index, Proto.Index>("I",
            c => new Proto.Index { Owner = c.Owner.Value, From = c.From.Value, Id = Bytes(c.Id), ExpiresAtMs = Ms(c.ExpiresAt) },
            p => new C.Index(new UserId(p.Owner), new UserId(p.From), StatusOf(p.Id), At(p.ExpiresAtMs)));
        Map<C.GetFeedOwners, Proto.GetFeedOwners>("F", c => new Proto.GetFeedOwners { Owner = c.Owner.Value }, p => new C.GetFeedOwners(new UserId(p.Owner)));
        Map<C.ExpireDue, Proto.ExpireDue>("X", c => new Proto.ExpireDue { Owner = c.Owner.Value }, p => new C.ExpireDue(new UserId(p.Owner)));

        // replies
        Map<R.Posted, Proto.PostedReply>("RP",
            r => new Proto.PostedReply { Id = Bytes(r.Id), AtMs = Ms(r.At), ExpiresAtMs = Ms(r.ExpiresAt), Duplicate = r.Duplicate },
            p => new R.Posted(StatusOf(p.Id), At(p.AtMs), At(p.ExpiresAtMs), p.Duplicate));
        Map<R.Deleted, Proto.DeletedReply>("RD", r => new Proto.DeletedReply { Id = Bytes(r.Id), MediaId = r.MediaId }, p => new R.Deleted(StatusOf(p.Id), p.MediaId));
        Map<R.Items, Proto.Items>("RI", r => new Proto.Items { Posts = { r.Posts.Select(ToProto) } }, p => new R.Items([.. p.Posts.Select(FromProto)]));
        Map<R.Viewers, Proto.Viewers>("RW",
            r => new Proto.Viewers { Id = Bytes(r.Id), Count = r.Count, Listed = { r.Listed.Select(v => new Proto.View { Viewer = v.User.Value, AtMs = Ms(v.At), Listed = true }) } },
            p => new R.Viewers(StatusOf(p.Id), p.Count, [.. p.Listed.Select(v => (new UserId(v.Viewer), At(v.AtMs)))]));
        Map<R.FeedOwners, Proto.FeedOwners>("RF", r => new Proto.FeedOwners { Owners = { r.Owners.Select(o => o.Value) } }, p => new R.FeedOwners(Users(p.Owners)));
        Map<R.Done, Proto.Done>("RK", _ => new Proto.Done(), _ => R.Done.Instance);
        Map<R.Rejected, Proto.Rejected>("RR",
            r => new Proto.Rejected { Error = (int)r.Error, Reason = r.Reason, RetryAtMs = r.RetryAt is { } t ? Ms(t) : 0 },
            p => new R.Rejected((StatusError)p.Error, p.Reason, p.RetryAtMs == 0 ? null : At(p.RetryAtMs)));

        // pushes
        Map<StatusHint, Proto.Hint>("H",
            h => new Proto.Hint { To = h.To.Value, Devices = { h.Devices }, Owner = h.Owner.Value, Id = Bytes(h.Id), Deleted = h.Deleted },
            p => new StatusHint(new UserId(p.To), [.. p.Devices], new UserId(p.Owner), StatusOf(p.Id), p.Deleted));
    }

    private static ByteString Bytes(StatusId id) => ByteString.CopyFrom(id.ToByteArray());

    private static StatusId StatusOf(ByteString bytes) =>
        StatusId.TryFrom(bytes.Span, out var id) ? id : throw new System.Runtime.Serialization.SerializationException("a stored status id is not 16 bytes");

    private static Proto.Audience ToProto(StatusAudience a) => new() { Mode = (int)a.Mode, Users = { a.Users.Select(u => u.Value) } };

    private static StatusAudience FromProto(Proto.Audience? p) => p is null ? StatusAudience.Default : new((StatusAudienceMode)p.Mode, Users(p.Users));

    private static IEnumerable<Proto.RecipientCiphertexts> ToProto(Ciphertexts c) =>
        c.OrderBy(kv => kv.Key.Value, StringComparer.Ordinal).Select(kv => new Proto.RecipientCiphertexts { User = kv.Key.Value, Devices = { CiphertextsToProto(kv.Value) } });

    private static Ciphertexts FromProto(IEnumerable<Proto.RecipientCiphertexts> p) =>
        p.ToImmutableDictionary(r => new UserId(r.User), r => CiphertextsFromProto(r.Devices));

    private static Proto.StatusPost ToProto(StatusPost s) => new()
    {
        Id = Bytes(s.Id), FromDevice = s.FromDevice.Value, Kind = s.Kind, MediaId = s.MediaId, Audience = ToProto(s.Audience), PostedAtMs = Ms(s.PostedAt),
        ExpiresAtMs = Ms(s.ExpiresAt), ClientTimestamp = s.ClientTimestamp, Ciphertexts = { ToProto(s.Ciphertexts) }, FannedOut = s.FannedOut,
        Views = { s.Views.OrderBy(v => v.Value.At).Select(v => new Proto.View { Viewer = v.Key.Value, AtMs = Ms(v.Value.At), Listed = v.Value.Listed }) },
    };

    private static StatusPost FromProto(Proto.StatusPost p) =>
        new StatusPost(StatusOf(p.Id), new DeviceId(p.FromDevice), p.Kind, p.MediaId, FromProto(p.Audience), At(p.PostedAtMs), At(p.ExpiresAtMs),
            p.ClientTimestamp, FromProto(p.Ciphertexts))
        {
            Views = p.Views.ToImmutableDictionary(v => new UserId(v.Viewer), v => new StatusView(At(v.AtMs), v.Listed)),
            FannedOut = p.FannedOut,
        };

    private static Proto.Item ToProto(StatusItemView i) => new()
    {
        Owner = i.Owner.Value, FromDevice = i.FromDevice.Value, Id = Bytes(i.Id), Kind = i.Kind, PostedAtMs = Ms(i.PostedAt), ExpiresAtMs = Ms(i.ExpiresAt),
        Ciphertext = i.Ciphertext is { } c ? CiphertextToProto(0, c) : null, Viewed = i.Viewed, MediaId = i.MediaId,
        Audience = i.Audience is { } a ? ToProto(a) : null,
    };

    private static StatusItemView FromProto(Proto.Item p) => new(new UserId(p.Owner), new DeviceId(p.FromDevice), StatusOf(p.Id), p.Kind, At(p.PostedAtMs),
        At(p.ExpiresAtMs), p.Ciphertext is { } c ? CiphertextFromProto(c) : null, p.Viewed, p.MediaId, p.Audience is { } a ? FromProto(a) : null);
}
