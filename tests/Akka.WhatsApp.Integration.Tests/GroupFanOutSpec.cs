using System.Collections.Immutable;
using Akka.Actor;
using Akka.Hosting;
using Akka.WhatsApp.Client;
using Akka.WhatsApp.Cluster.Mailbox;
using Akka.WhatsApp.Domain;
using Akka.WhatsApp.Domain.Mailbox;
using Akka.WhatsApp.Host;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;
using Xunit;
using static Akka.WhatsApp.Integration.Tests.TestUsers;

namespace Akka.WhatsApp.Integration.Tests;

/// <summary>
/// Fan-out that survives a restart of the node, and a group of the full size, on PostgreSQL. These start
/// their own nodes and over a thousand connections: they run alone, after the other tests, so that neither
/// slows the other past its timeouts.
/// </summary>
[Collection(HeavyTests.Name)]
public sealed class GroupFanOutSpec
{
    [Fact]
    public async Task A_fan_out_interrupted_by_a_restart_finishes_by_itself_and_every_member_gets_the_message_once()
    {
        // One member mailbox at a time, so that the fan-out to 150 members is still running when the node stops.
        var settings = await TestNodes.SettingsAsync(JournalKind.Postgres) with { GroupFanOutParallelism = 1 };
        Credentials[] members;
        string group;
        SendResultLike sent;
        int reachedBeforeStop;
        await using (var first = await TestNodes.StartAsync(settings))
        {
            var creator = await RegisterAsync(first);
            members = await RegisterManyAsync(first, 150);
            await using var a = await ConnectAsync(first, creator);
            group = (await a.CreateGroupAsync("interrupted", members.Select(m => m.UserId))).Group.GroupId;
            var result = await a.GroupSendAsync(group, Payload("survives"));
            sent = new SendResultLike(result.MessageId, result.GroupSeq);
            reachedBeforeStop = await CountReachedAsync(first, members, creator.UserId, sent.MessageId);
        }
        Assert.True(reachedBeforeStop < members.Length,
            $"the fan-out had reached all {members.Length} members before the restart; the test needs it interrupted");

        // Nobody writes to the group again: the remembered group entity restarts by itself and finishes.
        await using var second = await TestNodes.StartAsync(settings);
        foreach (var member in members)
        {
            var backlog = await RawBacklogAsync(second, member);
            var copies = backlog.Count(d => d.MessageId == sent.MessageId);
            Assert.True(copies == 1, $"{member.UserId} has {copies} copies of the message (reached before the restart: {reachedBeforeStop})");
            var seqs = backlog.Where(d => d.GroupId == group).Select(d => d.GroupSeq).ToList();
            Assert.Equal(seqs.Order(), seqs);
        }
    }

    [Fact]
    public async Task A_group_of_1024_members_works_end_to_end()
    {
        var settings = await TestNodes.SettingsAsync(JournalKind.Postgres);
        await using var node = await TestNodes.StartAsync(settings);
        var users = await RegisterManyAsync(node, 1024);
        var clients = await Task.WhenAll(users.Select(u => ConnectAsync(node, u)));
        try
        {
            var created = await clients[0].CreateGroupAsync("everyone", users.Skip(1).Select(u => u.UserId));
            Assert.Equal(1024, created.Group.Members.Count);
            Assert.All(created.Results, r => Assert.Equal(ErrorCode.Unspecified, r.Error));
            var late = await RegisterAsync(node);
            var full = await clients[0].AddMembersAsync(created.Group.GroupId, [late.UserId]);
            Assert.Equal(ErrorCode.GroupFull, Assert.Single(full.Results).Error);

            var sent = await clients[1].GroupSendAsync(created.Group.GroupId, Payload("hello 1024"));
            await Task.WhenAll(clients.Where((_, i) => i != 1).Select(async c =>
            {
                var got = (await c.GroupMessagesAsync(created.Group.GroupId, 1)).Single();
                Assert.Equal(sent.MessageId, got.Deliver.MessageId);
                Assert.Equal("hello 1024", got.Text());
            }));
        }
        finally
        {
            await Task.WhenAll(clients.Select(c => c.DisposeAsync().AsTask()));
        }
    }

    private sealed record SendResultLike(ByteString MessageId, ulong GroupSeq);

    /// <summary>How many members' mailboxes hold the message right now (asked of the mailboxes themselves).</summary>
    private static async Task<int> CountReachedAsync(WhatsAppNode node, Credentials[] members, string from, ByteString messageId)
    {
        var region = await ActorRegistry.For(node.System).GetAsync<MailboxRegion>();
        MessageId.TryFrom(messageId.Span, out var id);
        var replies = await Task.WhenAll(members.Select(m =>
            region.Ask<IMailboxReply>(new MailboxCommands.CheckReceived(new UserId(m.UserId), new UserId(from), ImmutableArray.Create(id)), TimeSpan.FromSeconds(20))));
        return replies.Count(r => r is MailboxReplies.Received { MessageIds.Length: 1 });
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HeavyTests
{
    public const string Name = "heavy: runs alone";
}
