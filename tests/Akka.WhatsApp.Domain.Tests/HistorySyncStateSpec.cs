using System.Collections.Immutable;
using Akka.WhatsApp.Domain.Sync;
using Xunit;
using static Akka.WhatsApp.Domain.Sync.HistorySyncCommands;
using R = Akka.WhatsApp.Domain.Sync.HistorySyncReplies;

namespace Akka.WhatsApp.Domain.Tests;

/// <summary>The history sync rules on their own (PROTOCOL.md §17): who may ask, upload and fetch, the bounds, and retention.</summary>
public sealed class HistorySyncStateSpec
{
    private static readonly DateTimeOffset Now = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);
    private static readonly UserId Ann = new("ann");
    private static readonly DeviceId Phone = DeviceId.Primary, Laptop = new(2), Tablet = new(3);
    private static readonly ImmutableArray<uint> Devices = [1, 2, 3];
    private static readonly SyncId First = new("00112233445566778899aabbccddeeff"), Second = new("ffeeddccbbaa99887766554433221100");

    private static (HistorySyncState State, IHistorySyncReply Reply) Run(HistorySyncState state, IHistorySyncCommand command, DateTimeOffset? at = null)
    {
        var (reply, events) = state.Decide(command, at ?? Now);
        return (events.Aggregate(state, (s, e) => s.Apply(e)), reply);
    }

    private static SyncChunk Chunk(uint index, bool last = false, int bytes = 10, params string[] media) => new(index, last, new byte[bytes], [.. media]);

    private static HistorySyncState Started(out SyncId id)
    {
        var (state, reply) = Run(HistorySyncState.Empty, new Request(Ann, Laptop, 30, 500, Devices, First));
        id = Assert.IsType<R.Started>(reply).Sync;
        return state;
    }

    private static HistorySyncError Refused(IHistorySyncReply reply) => Assert.IsType<R.Refused>(reply).Error;

    [Fact]
    public void A_companion_starts_a_sync_and_asking_again_while_it_runs_answers_the_same_one()
    {
        var state = Started(out var id);
        Assert.Equal(First, id);
        var again = Run(state, new Request(Ann, Laptop, 1, 1, Devices, Second));
        Assert.Equal(new R.Started(First, false, 30, 500), again.Reply);
        Assert.Equal(Now + TimeSpan.FromDays(7), again.State.Syncs[First.Value].ExpiresAt);
    }

    [Fact]
    public void The_primary_may_not_ask_and_a_device_not_on_the_account_neither()
    {
        Assert.Equal(HistorySyncError.Forbidden, Refused(Run(HistorySyncState.Empty, new Request(Ann, Phone, 0, 0, Devices, First)).Reply));
        Assert.Equal(HistorySyncError.Forbidden, Refused(Run(HistorySyncState.Empty, new Request(Ann, new DeviceId(4), 0, 0, Devices, First)).Reply));
    }

    [Fact]
    public void Only_the_primary_uploads_and_only_the_asking_companion_fetches()
    {
        var state = Started(out var id);
        Assert.Equal(HistorySyncError.NotPrimary, Refused(Run(state, new Upload(Ann, Laptop, id, Chunk(0), Devices)).Reply));
        Assert.Equal(HistorySyncError.NotPrimary, Refused(Run(state, new Upload(Ann, Tablet, id, Chunk(0), Devices)).Reply));
        Assert.Equal(HistorySyncError.NotFound, Refused(Run(state, new Upload(Ann, Phone, Second, Chunk(0), Devices)).Reply));

        (state, var stored) = Run(state, new Upload(Ann, Phone, id, Chunk(0), Devices));
        Assert.Equal(new R.Stored(id, Laptop, 1, false), stored);
        Assert.Equal(HistorySyncError.Forbidden, Refused(Run(state, new Fetch(Ann, Tablet, id, 0, Devices)).Reply));
        Assert.Equal(HistorySyncError.Forbidden, Refused(Run(state, new Fetch(Ann, Phone, id, 0, Devices)).Reply));
        Assert.Equal(0u, Assert.IsType<R.Chunk>(Run(state, new Fetch(Ann, Laptop, id, 0, Devices)).Reply).Value.Index);
        Assert.Equal(HistorySyncError.NotFound, Refused(Run(state, new Fetch(Ann, Laptop, id, 1, Devices)).Reply));
    }

    [Fact]
    public void Available_counts_chunks_in_a_row_and_complete_needs_every_one_up_to_the_last()
    {
        var state = Started(out var id);
        (state, var reply) = Run(state, new Upload(Ann, Phone, id, Chunk(2, last: true), Devices));
        Assert.Equal(new R.Stored(id, Laptop, 0, false), reply);
        (state, reply) = Run(state, new Upload(Ann, Phone, id, Chunk(0), Devices));
        Assert.Equal(new R.Stored(id, Laptop, 1, false), reply);
        (state, reply) = Run(state, new Upload(Ann, Phone, id, Chunk(1), Devices));
        Assert.Equal(new R.Stored(id, Laptop, 3, true), reply);
        Assert.Equal(HistorySyncError.InvalidArgument, Refused(Run(state, new Upload(Ann, Phone, id, Chunk(3), Devices)).Reply));
        Assert.Equal(HistorySyncError.InvalidArgument, Refused(Run(state, new Upload(Ann, Phone, id, Chunk(1, last: true), Devices)).Reply));
    }

    [Fact]
    public void Uploading_an_index_again_is_idempotent_or_replaces_it()
    {
        var state = Started(out var id);
        (state, _) = Run(state, new Upload(Ann, Phone, id, Chunk(0, bytes: 5), Devices));
        Assert.Empty(state.Decide(new Upload(Ann, Phone, id, Chunk(0, bytes: 5), Devices), Now).Events);
        (state, _) = Run(state, new Upload(Ann, Phone, id, Chunk(0, bytes: 7), Devices));
        Assert.Equal(7, state.Syncs[id.Value].Chunks[0].Ciphertext.Length);
    }

    [Fact]
    public void Chunks_and_syncs_are_bounded()
    {
        var state = Started(out var id);
        Assert.Equal(HistorySyncError.InvalidArgument, Refused(Run(state, new Upload(Ann, Phone, id, Chunk(HistorySyncState.MaxChunks), Devices)).Reply));
        Assert.Equal(HistorySyncError.InvalidArgument,
            Refused(Run(state, new Upload(Ann, Phone, id, Chunk(0, bytes: HistorySyncState.MaxChunkBytes + 1), Devices)).Reply));
        Assert.Equal(HistorySyncError.InvalidArgument, Refused(Run(state, new Upload(Ann, Phone, id, Chunk(0, bytes: 0), Devices)).Reply));
        Assert.Equal(HistorySyncError.InvalidArgument,
            Refused(Run(state, new Upload(Ann, Phone, id, Chunk(0, bytes: 1, media: [.. Enumerable.Repeat(new string('a', 32), 17)]), Devices)).Reply));
        for (uint i = 0; i < HistorySyncState.MaxBytesPerSync / HistorySyncState.MaxChunkBytes; i++)
            (state, _) = Run(state, new Upload(Ann, Phone, id, Chunk(i, bytes: HistorySyncState.MaxChunkBytes), Devices));
        Assert.Equal(HistorySyncError.InvalidArgument, Refused(Run(state, new Upload(Ann, Phone, id, Chunk(20, bytes: 1), Devices)).Reply));
    }

    [Fact]
    public void A_complete_sync_is_replaced_by_the_companions_next_request()
    {
        var state = Started(out var id);
        (state, _) = Run(state, new Upload(Ann, Phone, id, Chunk(0, last: true), Devices));
        (state, var reply) = Run(state, new Request(Ann, Laptop, 0, 0, Devices, Second));
        Assert.Equal(new R.Started(Second, true, 0, 0), reply);
        Assert.Equal([Second.Value], state.Syncs.Keys);
    }

    [Fact]
    public void A_sync_is_gone_once_its_companion_left_the_account()
    {
        var state = Started(out var id);
        (state, _) = Run(state, new Upload(Ann, Phone, id, Chunk(0), Devices));
        var (after, reply) = Run(state, new Upload(Ann, Phone, id, Chunk(1), [1, 3]));
        Assert.Equal(HistorySyncError.NotFound, Refused(reply));
        Assert.Empty(after.Syncs);
    }

    [Fact]
    public void A_sync_is_kept_7_days_and_the_timer_forgets_it_then()
    {
        var state = Started(out var id);
        (state, _) = Run(state, new Upload(Ann, Phone, id, Chunk(0), Devices));
        Assert.Equal(Now + HistorySyncState.Retention, state.NextExpiry);
        var almost = Now + HistorySyncState.Retention - TimeSpan.FromSeconds(1);
        Assert.IsType<R.Chunk>(Run(state, new Fetch(Ann, Laptop, id, 0, Devices), almost).Reply);
        Assert.Equal(new R.Expired(0), Run(state, new Expire(Ann), almost).Reply);

        var due = Now + HistorySyncState.Retention;
        Assert.Equal(HistorySyncError.NotFound, Refused(Run(state, new Fetch(Ann, Laptop, id, 0, Devices), due).Reply));
        (state, var expired) = Run(state, new Expire(Ann), due);
        Assert.Equal(new R.Expired(1), expired);
        Assert.Empty(state.Syncs);
        Assert.Null(state.NextExpiry);
    }
}
