using System.Collections.Immutable;
using Akka.Actor;
using Akka.Hosting;
using Akka.WhatsApp.Cluster.Mailbox;
using Akka.WhatsApp.Domain;
using Akka.WhatsApp.Domain.Mailbox;
using Akka.WhatsApp.Host;
using Xunit;

namespace Akka.WhatsApp.Integration.Tests;

/// <summary>What a node persisted through a sharded entity is there after the node restarts, on both journals.</summary>
public sealed class RestartRecoverySpec
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [Theory]
    [InlineData(JournalKind.Sqlite)]
    [InlineData(JournalKind.Postgres)]
    public async Task A_sharded_mailbox_recovers_what_it_persisted_after_the_node_restarts(JournalKind journal)
    {
        // A snapshot every 2 events: recovery reads a snapshot and the events after it; older events are deleted.
        var settings = await TestNodes.SettingsAsync(journal) with { SnapshotEvery = 2 };
        var owner = new UserId("restart-" + Guid.NewGuid().ToString("N"));
        var ids = Enumerable.Range(0, 3).Select(_ => MessageId.New()).ToArray();

        await using (var first = await TestNodes.StartAsync(settings))
        {
            var region = await ActorRegistry.For(first.System).GetAsync<MailboxRegion>();
            foreach (var (id, i) in ids.Select((id, i) => (id, i)))
            {
                var reply = await region.Ask<IMailboxReply>(Enqueue(owner, id), Wait);
                Assert.Equal(i + 1, Assert.IsType<MailboxReplies.Enqueued>(reply).Seq);
            }
        }

        await using var second = await TestNodes.StartAsync(settings);
        var recovered = await ActorRegistry.For(second.System).GetAsync<MailboxRegion>();

        var retry = Assert.IsType<MailboxReplies.Enqueued>(await recovered.Ask<IMailboxReply>(Enqueue(owner, ids[1]), Wait));
        Assert.True(retry.Duplicate, "a retry of an accepted message must be recognised after a restart");
        Assert.Equal(2, retry.Seq);

        var next = Assert.IsType<MailboxReplies.Enqueued>(await recovered.Ask<IMailboxReply>(Enqueue(owner, MessageId.New()), Wait));
        Assert.Equal(4, next.Seq);
    }

    private static MailboxCommands.Enqueue Enqueue(UserId owner, MessageId id) =>
        new(owner, id, new UserId("sender"), DeviceId.Primary, new MessageMeta(1),
            ImmutableSortedDictionary<uint, DeviceCiphertext>.Empty.Add(1, new DeviceCiphertext([0xC1, 0xFE], 2)));
}
