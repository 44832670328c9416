using System.Collections.Immutable;
using Akka.WhatsApp.Cluster.Serialization;
using Akka.WhatsApp.Cluster.Sync;
using Akka.WhatsApp.Domain;
using Akka.WhatsApp.Domain.Sync;
using Xunit;

namespace Akka.WhatsApp.Cluster.Tests;

/// <summary>Everything about history sync that is persisted (events, snapshot: manifests forever) or crosses nodes round-trips through serializer 118.</summary>
public sealed class HistorySyncSerializerSpec() : Akka.TestKit.Xunit2.TestKit(ClusterSerialization.Config)
{
    private static readonly SyncId Sync = new("00112233445566778899aabbccddeeff");
    private static readonly UserId Ann = new("ann");
    private static readonly DateTimeOffset At = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_123);
    private static readonly SyncChunk Chunk = new(3, true, [1, 2, 3], ["0123456789abcdef0123456789abcdef"]);

    private static object[] Messages() =>
    [
        new HistorySyncEvents.Started(Sync, new DeviceId(2), 30, 500, At, At.AddDays(7)),
        new HistorySyncEvents.ChunkStored(Sync, Chunk),
        new HistorySyncEvents.Removed([Sync, new SyncId("ffeeddccbbaa99887766554433221100")]),
        HistorySyncState.Empty with
        {
            Syncs = ImmutableSortedDictionary<string, SyncRecord>.Empty.Add(Sync.Value,
                new SyncRecord(Sync, new DeviceId(2), 30, 500, At, At.AddDays(7), ImmutableSortedDictionary<uint, SyncChunk>.Empty.Add(3, Chunk))),
        },
        new HistorySyncCommands.Request(Ann, new DeviceId(2), 7, 100, [1, 2], Sync),
        new HistorySyncCommands.Request(Ann, new DeviceId(2), 0, 0, [1, 2]),
        new HistorySyncCommands.Upload(Ann, DeviceId.Primary, Sync, Chunk, [1, 2]),
        new HistorySyncCommands.Fetch(Ann, new DeviceId(2), Sync, 4, [1, 2]),
        new HistorySyncCommands.Expire(Ann),
        new HistorySyncReplies.Started(Sync, true, 7, 100),
        new HistorySyncReplies.Stored(Sync, new DeviceId(2), 4, true),
        new HistorySyncReplies.Chunk(Sync, Chunk),
        new HistorySyncReplies.Expired(2),
        new HistorySyncReplies.Refused(HistorySyncError.NotPrimary, "only the primary"),
        new HistorySyncNotices.Progress(Ann, new DeviceId(2), Sync, 4, false),
    ];

    [Fact]
    public void Every_history_sync_message_is_bound_to_its_serializer_and_round_trips()
    {
        foreach (var message in Messages())
        {
            var serializer = (ProtobufSerializer)Sys.Serialization.FindSerializerFor(message);
            Assert.Equal(HistorySyncSerializer.Id, serializer.Identifier);
            var back = serializer.FromBinary(serializer.ToBinary(message), serializer.Manifest(message));
            Assert.Equal(Describe.Of(message), Describe.Of(back));
        }
    }

    [Fact]
    public void The_serializer_id_never_changes_and_every_manifest_is_round_tripped_here()
    {
        var serializer = (ProtobufSerializer)Sys.Serialization.FindSerializerFor(new HistorySyncCommands.Expire(Ann));
        Assert.Equal(118, serializer.Identifier);
        var covered = Messages().Select(serializer.Manifest).ToHashSet();
        Assert.All(serializer.Manifests, m => Assert.True(covered.Contains(m), $"manifest '{m}' has no round-trip case"));
    }
}
