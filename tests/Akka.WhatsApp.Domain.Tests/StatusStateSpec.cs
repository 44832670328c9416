using System.Collections.Immutable;
using Akka.WhatsApp.Domain;
using Akka.WhatsApp.Domain.Mailbox;
using Akka.WhatsApp.Domain.Status;
using Xunit;
using C = Akka.WhatsApp.Domain.Status.StatusCommands;
using E = Akka.WhatsApp.Domain.Status.StatusEvents;
using R = Akka.WhatsApp.Domain.Status.StatusReplies;

namespace Akka.WhatsApp.Domain.Tests;

/// <summary>The pure status state: who sees a post, views, deletion, the 24-hour expiry of posts and index entries, and its bounds.</summary>
public sealed class StatusStateSpec
{
    private static readonly UserId Ann = new("ann"), Ben = new("ben"), Cy = new("cy");
    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);

    private static ImmutableDictionary<UserId, ImmutableSortedDictionary<uint, DeviceCiphertext>> For(params (UserId User, uint Device)[] devices) =>
        devices.GroupBy(d => d.User).ToImmutableDictionary(g => g.Key,
            g => g.ToImmutableSortedDictionary(d => d.Device, d => new DeviceCiphertext([(byte)d.Device, .. System.Text.Encoding.UTF8.GetBytes(d.User.Value)], 2)));

    private static C.Post Post(StatusId id, params (UserId, uint)[] devices) =>
        new(Ann, DeviceId.Primary, id, 1, "", StatusAudience.Default, 0, For(devices));

    private static (StatusState State, IStatusReply Reply) Run(StatusState state, IStatusCommand command, DateTimeOffset now)
    {
        var (reply, events) = state.Decide(command, now);
        return (events.Aggregate(state, (s, e) => s.Apply(e)), reply);
    }

    [Fact]
    public void A_post_is_visible_only_to_the_devices_it_was_encrypted_for_and_all_of_the_owners()
    {
        var id = StatusId.New();
        var (state, reply) = Run(StatusState.Empty, Post(id, (Ben, 1), (Ann, 2)), T0);
        Assert.Equal(T0 + TimeSpan.FromHours(24), Assert.IsType<R.Posted>(reply).ExpiresAt);

        Items Of(UserId viewer, uint device) => new(((R.Items)state.Decide(new C.GetItems(Ann, viewer, new DeviceId(device), DateTimeOffset.UnixEpoch), T0).Reply).Posts);

        Assert.Equal([1, .. "ben"u8.ToArray()], Assert.Single(Of(Ben, 1).Posts).Ciphertext!.Bytes);
        Assert.Empty(Of(Ben, 2).Posts); // a device added after the post
        Assert.Empty(Of(Cy, 1).Posts);  // not in the audience
        Assert.Null(Assert.Single(Of(Ann, 1).Posts).Ciphertext); // the posting device: its own, without a ciphertext
        Assert.NotNull(Assert.Single(Of(Ann, 2).Posts).Ciphertext);
    }

    private sealed record Items(ImmutableArray<StatusItemView> Posts);

    [Fact]
    public void A_retried_post_is_answered_as_the_duplicate_it_is_and_stored_once()
    {
        var id = StatusId.New();
        var (state, _) = Run(StatusState.Empty, Post(id, (Ben, 1)), T0);
        var (reply, events) = state.Decide(Post(id, (Ben, 1), (Cy, 1)), T0.AddMinutes(5));
        Assert.True(Assert.IsType<R.Posted>(reply).Duplicate);
        Assert.Equal(T0, ((R.Posted)reply).At);
        Assert.Empty(events);
    }

    [Fact]
    public void Only_the_audience_views_a_view_counts_once_and_unlisted_viewers_are_counted_but_not_named()
    {
        var id = StatusId.New();
        var (state, _) = Run(StatusState.Empty, Post(id, (Ben, 1), (Cy, 1)), T0);
        (state, _) = Run(state, new C.View(Ann, Ben, [id], Listed: true), T0.AddMinutes(1));
        (state, _) = Run(state, new C.View(Ann, Ben, [id], Listed: true), T0.AddMinutes(2));
        (state, _) = Run(state, new C.View(Ann, Cy, [id], Listed: false), T0.AddMinutes(3));
        Assert.IsType<R.Rejected>(state.Decide(new C.View(Ann, new UserId("dee"), [id], true), T0).Reply);

        var viewers = Assert.IsType<R.Viewers>(state.Decide(new C.GetViewers(Ann, id), T0.AddMinutes(4)).Reply);
        Assert.Equal(2, viewers.Count);
        Assert.Equal([(Ben, T0.AddMinutes(1))], viewers.Listed.ToArray());
    }

    [Fact]
    public void A_post_expires_at_24_hours_and_takes_its_ciphertexts_with_it()
    {
        var id = StatusId.New();
        var (state, _) = Run(StatusState.Empty, Post(id, (Ben, 1)), T0);
        Assert.Equal(T0.AddHours(24), state.NextExpiry);
        Assert.Empty(state.Decide(new C.ExpireDue(Ann), T0.AddHours(24).AddMilliseconds(-1)).Events);
        Assert.Single(((R.Items)state.Decide(new C.GetItems(Ann, Ben, DeviceId.Primary, DateTimeOffset.UnixEpoch), T0.AddHours(23)).Reply).Posts);
        Assert.Empty(((R.Items)state.Decide(new C.GetItems(Ann, Ben, DeviceId.Primary, DateTimeOffset.UnixEpoch), T0.AddHours(24)).Reply).Posts);

        (state, _) = Run(state, new C.ExpireDue(Ann), T0.AddHours(24));

        Assert.True(state.IsEmpty);
        Assert.Null(state.NextExpiry);
    }

    [Fact]
    public void The_feed_index_is_idempotent_names_unexpired_owners_and_is_pruned_at_expiry()
    {
        var id = StatusId.New();
        var (state, _) = Run(StatusState.Empty with { }, new C.Index(Ben, Ann, id, T0.AddHours(24)), T0);
        Assert.Empty(state.Decide(new C.Index(Ben, Ann, id, T0.AddHours(24)), T0).Events);
        Assert.Empty(state.Decide(new C.Index(Ben, Cy, StatusId.New(), T0), T0).Events); // already expired: nothing to index
        Assert.Equal([Ann], ((R.FeedOwners)state.Decide(new C.GetFeedOwners(Ben), T0).Reply).Owners.ToArray());
        Assert.Empty(((R.FeedOwners)state.Decide(new C.GetFeedOwners(Ben), T0.AddHours(24)).Reply).Owners);

        (state, _) = Run(state, new C.ExpireDue(Ben), T0.AddHours(24));
        Assert.True(state.IsEmpty);
    }

    [Fact]
    public void A_user_has_at_most_100_unexpired_posts_and_is_told_when_the_oldest_expires()
    {
        var state = StatusState.Empty;
        for (var i = 0; i < StatusState.MaxPosts; i++)
            (state, _) = Run(state, Post(StatusId.New(), (Ben, 1)), T0.AddMinutes(i));

        var (reply, events) = state.Decide(Post(StatusId.New(), (Ben, 1)), T0.AddHours(1));
        var refused = Assert.IsType<R.Rejected>(reply);
        Assert.Equal((StatusError.LimitReached, T0.AddHours(24)), (refused.Error, refused.RetryAt));
        Assert.Empty(events);

        (state, _) = Run(state, new C.ExpireDue(Ann), T0.AddHours(24));
        Assert.IsType<R.Posted>(state.Decide(Post(StatusId.New(), (Ben, 1)), T0.AddHours(24)).Reply);
    }

    [Fact]
    public void A_post_goes_to_at_most_1024_users_and_a_deleted_post_is_gone()
    {
        var many = Enumerable.Range(0, StatusState.MaxAudience + 1).Select(i => (new UserId("u" + i), 1u)).ToArray();
        Assert.IsType<R.Rejected>(StatusState.Empty.Decide(Post(StatusId.New(), many), T0).Reply);

        var id = StatusId.New();
        var (state, _) = Run(StatusState.Empty, Post(id, (Ben, 1)), T0);
        (state, var deleted) = Run(state, new C.Delete(Ann, id), T0.AddMinutes(1));
        Assert.IsType<R.Deleted>(deleted);
        Assert.True(state.IsEmpty);
        Assert.IsType<R.Rejected>(state.Decide(new C.Delete(Ann, id), T0).Reply);
    }
}
