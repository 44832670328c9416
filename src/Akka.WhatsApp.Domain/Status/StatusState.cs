using System.Collections.Immutable;
using Akka.WhatsApp.Domain.Mailbox;
using C = Akka.WhatsApp.Domain.Status.StatusCommands;
using E = Akka.WhatsApp.Domain.Status.StatusEvents;
using R = Akka.WhatsApp.Domain.Status.StatusReplies;

namespace Akka.WhatsApp.Domain.Status;

/// <summary>
/// The status state of one user (PROTOCOL.md §14), pure: its own unexpired posts with their per-device ciphertexts
/// and views, and its feed index (which contacts' posts it may see, and until when; no content, so the index stays
/// small and a post's ciphertexts live in one place only, the owner's). Time comes in with every decision, so expiry
/// is the same on replay, after a restart and in tests that move the clock.
/// </summary>
public sealed record StatusState : IAggregate<StatusState, IStatusCommand, IStatusEvent, IStatusReply>
{
    /// <summary>How long a post is visible.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(24);

    /// <summary>Unexpired posts per user: beyond, a post waits until the oldest expires (it bounds the entity).</summary>
    public const int MaxPosts = 100;

    /// <summary>Users one post may be encrypted for (a group's size; the frame limit usually binds first).</summary>
    public const int MaxAudience = 1024;

    /// <summary>Entries of a feed index: beyond, the entry that expires first makes room (it is the least useful).</summary>
    public const int MaxFeedEntries = 10_000;

    public static readonly StatusState Empty = new();

    /// <summary>The unexpired posts by id; their order is by <see cref="StatusPost.PostedAt"/>.</summary>
    public ImmutableDictionary<StatusId, StatusPost> Posts { get; init; } = ImmutableDictionary<StatusId, StatusPost>.Empty;

    /// <summary>The feed index: posts of others this user may see, with their expiry.</summary>
    public ImmutableDictionary<FeedEntry, DateTimeOffset> Feed { get; init; } = ImmutableDictionary<FeedEntry, DateTimeOffset>.Empty;

    public bool IsEmpty => Posts.IsEmpty && Feed.IsEmpty;

    /// <summary>When the next post or index entry expires; null when there is none.</summary>
    public DateTimeOffset? NextExpiry
    {
        get
        {
            DateTimeOffset? next = null;
            foreach (var p in Posts.Values)
                if (next is null || p.ExpiresAt < next)
                    next = p.ExpiresAt;
            foreach (var at in Feed.Values)
                if (next is null || at < next)
                    next = at;
            return next;
        }
    }

    public (IStatusReply Reply, IReadOnlyList<IStatusEvent> Events) Decide(IStatusCommand command, DateTimeOffset now) => command switch
    {
        C.Post p => DecidePost(p, now),
        C.Delete d => Posts.TryGetValue(d.Id, out var post)
            ? (new R.Deleted(d.Id, post.MediaId), [new E.Deleted(d.Id, now)])
            : (NotFound, []),
        C.GetItems g => (new R.Items(ItemsFor(g, now)), []),
        C.View v => DecideView(v, now),
        C.GetViewers g => Posts.TryGetValue(g.Id, out var post) && post.ExpiresAt > now
            ? (new R.Viewers(g.Id, post.Views.Count, [.. post.Views.Where(v => v.Value.Listed).OrderBy(v => v.Value.At).Select(v => (v.Key, v.Value.At))]), [])
            : (NotFound, []),
        C.Index i => i.ExpiresAt <= now || Feed.ContainsKey(new FeedEntry(i.From, i.Id))
            ? (R.Done.Instance, [])
            : (R.Done.Instance, [new E.Indexed(i.From, i.Id, i.ExpiresAt)]),
        C.GetFeedOwners f => (new R.FeedOwners(FeedOwnersOf(f.Owner, now)), []),
        C.ExpireDue => DecideExpiry(now),
        _ => (new R.Rejected(StatusError.InvalidArgument, $"unknown command {command.GetType().Name}"), []),
    };

    private static readonly R.Rejected NotFound = new(StatusError.NotFound, "no such status");

    private (IStatusReply, IReadOnlyList<IStatusEvent>) DecidePost(C.Post p, DateTimeOffset now)
    {
        if (Posts.TryGetValue(p.Id, out var existing))
            return (new R.Posted(p.Id, existing.PostedAt, existing.ExpiresAt, Duplicate: true), []);
        var audience = p.Ciphertexts.Keys.Count(u => u != p.Owner);
        if (audience > MaxAudience)
            return (new R.Rejected(StatusError.InvalidArgument, $"a status goes to at most {MaxAudience} users"), []);
        var live = Posts.Values.Where(x => x.ExpiresAt > now).ToList();
        if (live.Count >= MaxPosts)
            return (new R.Rejected(StatusError.LimitReached, $"at most {MaxPosts} statuses at a time: wait until the oldest expires or delete one",
                live.Min(x => x.ExpiresAt)), []);
        var post = new StatusPost(p.Id, p.FromDevice, p.Kind, p.MediaId, p.Audience, now, now + Lifetime, p.ClientTimestamp, p.Ciphertexts);
        return (new R.Posted(p.Id, post.PostedAt, post.ExpiresAt, Duplicate: false), [new E.Posted(post)]);
    }

    /// <summary>
    /// What one device sees: another user's device only posts encrypted for it (so a user left out of the audience, or a
    /// device added since, sees nothing); the owner's own devices see every own post, with their ciphertext if they got one.
    /// </summary>
    private ImmutableArray<StatusItemView> ItemsFor(C.GetItems g, DateTimeOffset now)
    {
        var own = g.Viewer == g.Owner;
        var items = ImmutableArray.CreateBuilder<StatusItemView>();
        foreach (var post in Posts.Values.Where(p => p.ExpiresAt > now && p.PostedAt > g.Since).OrderBy(p => p.PostedAt))
        {
            DeviceCiphertext? ciphertext = null;
            if (post.Ciphertexts.TryGetValue(g.Viewer, out var devices))
                devices.TryGetValue(g.ViewerDevice.Value, out ciphertext);
            if (!own && ciphertext is null)
                continue;
            items.Add(new StatusItemView(g.Owner, post.FromDevice, post.Id, post.Kind, post.PostedAt, post.ExpiresAt, ciphertext,
                post.Views.ContainsKey(g.Viewer), own ? post.MediaId : "", own ? post.Audience : null));
        }
        return items.ToImmutable();
    }

    private (IStatusReply, IReadOnlyList<IStatusEvent>) DecideView(C.View v, DateTimeOffset now)
    {
        var events = new List<IStatusEvent>();
        foreach (var id in v.Ids.Distinct())
        {
            // Only the audience may view: for anyone else the post does not exist.
            if (!Posts.TryGetValue(id, out var post) || post.ExpiresAt <= now || v.Viewer == v.Owner || !post.Ciphertexts.ContainsKey(v.Viewer))
                return (NotFound, []);
            if (!post.Views.ContainsKey(v.Viewer))
                events.Add(new E.Viewed(id, v.Viewer, now, v.Listed));
        }
        return (R.Done.Instance, events);
    }

    private ImmutableArray<UserId> FeedOwnersOf(UserId self, DateTimeOffset now)
    {
        var owners = Feed.Where(e => e.Value > now).Select(e => e.Key.Owner).ToHashSet();
        if (Posts.Values.Any(p => p.ExpiresAt > now))
            owners.Add(self);
        return [.. owners.OrderBy(o => o.Value, StringComparer.Ordinal)];
    }

    private (IStatusReply, IReadOnlyList<IStatusEvent>) DecideExpiry(DateTimeOffset now)
    {
        var overdue = Posts.Values.Where(p => p.ExpiresAt <= now).Select(p => p.Id).ToImmutableArray();
        if (overdue.IsEmpty && !Feed.Values.Any(at => at <= now))
            return (R.Done.Instance, []);
        return (R.Done.Instance, [new E.Expired(overdue, now)]);
    }

    public StatusState Apply(IStatusEvent @event) => @event switch
    {
        E.Posted p => this with { Posts = Posts.SetItem(p.Post.Id, p.Post) },
        E.Deleted d => this with { Posts = Posts.Remove(d.Id) },
        E.Expired e => this with { Posts = Posts.RemoveRange(e.Ids), Feed = Feed.RemoveRange(Feed.Where(f => f.Value <= e.At).Select(f => f.Key)) },
        E.Viewed v when Posts.TryGetValue(v.Id, out var post) && !post.Views.ContainsKey(v.Viewer) =>
            this with { Posts = Posts.SetItem(v.Id, post with { Views = post.Views.Add(v.Viewer, new StatusView(v.At, v.Listed)) }) },
        E.FannedOut f when Posts.TryGetValue(f.Id, out var post) => this with { Posts = Posts.SetItem(f.Id, post with { FannedOut = true }) },
        E.Indexed i => WithEntry(new FeedEntry(i.From, i.Id), i.ExpiresAt),
        _ => this,
    };

    private StatusState WithEntry(FeedEntry entry, DateTimeOffset expiresAt)
    {
        var feed = Feed;
        if (!feed.ContainsKey(entry) && feed.Count >= MaxFeedEntries)
            feed = feed.Remove(feed.MinBy(f => f.Value).Key);
        return this with { Feed = feed.SetItem(entry, expiresAt) };
    }
}
