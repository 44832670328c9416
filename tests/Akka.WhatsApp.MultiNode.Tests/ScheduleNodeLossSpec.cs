using Akka.WhatsApp.Client;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;
using Xunit;
using Xunit.Abstractions;

namespace Akka.WhatsApp.MultiNode.Tests;

/// <summary>
/// A scheduled message whose Schedule entity lives on a node that is killed before its time (PROTOCOL.md §8.8): the
/// remembered entity comes back on a surviving node by itself, and the message reaches the recipient once, at its
/// time or after, not before; its sender's entity then lives on a survivor.
/// </summary>
public sealed class ScheduleNodeLossSpec(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);

    [Fact]
    public Task A_scheduled_message_survives_the_kill_of_its_entity_s_node() =>
        ProcessCluster.RunAsync(new ClusterOptions { SplitBrainStableAfterSeconds = 5 }, output, RunAsync);

    private async Task RunAsync(ProcessCluster cluster)
    {
        var nodes = cluster.Nodes;
        var users = await ProcessCluster.ProvisionAsync(nodes[0], 2);
        var (alice, bob) = (users[0], users[1]);
        var id = ByteString.CopyFrom(Guid.NewGuid().ToByteArray());
        var sendAt = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(20);
        var before = await ScheduleEntitiesAsync(nodes);
        await using (var sender = await LoginAsync(nodes[0], alice))
        {
            var send = new Send { MessageId = id, ToUserId = bob.UserId, Kind = ContentKind.Text, SendAt = (ulong)sendAt.ToUnixTimeMilliseconds() };
            send.Ciphertexts.Add(new DeviceCiphertext { DeviceId = bob.DeviceId, Ciphertext = ByteString.CopyFromUtf8("on time"), Type = CiphertextType.SignalMessage });
            Assert.Equal((ulong)sendAt.ToUnixTimeMilliseconds(), (await sender.RequestAsync(new Frame { Send = send })).SendResult.ScheduledFor);
        }
        var after = await ScheduleEntitiesAsync(nodes);
        var host = Enumerable.Range(0, nodes.Count).Single(i => after[i] > before[i]);
        output.WriteLine($"alice's schedule lives on {nodes[host].Name}; killing it {(sendAt - DateTimeOffset.UtcNow).TotalSeconds:0.0} s before the message is due");
        nodes[host].Kill();
        var survivors = nodes.Where((_, i) => i != host).ToList();

        // Bob logs in on a survivor; his mailbox may be moving too, so the login is retried until it is served.
        var bobConnection = await LoginWithRetriesAsync(survivors[0], bob);
        await using (bobConnection)
        {
            using var timeout = new CancellationTokenSource(Wait);
            Deliver? got = null;
            while (got is null)
                if (await bobConnection.Pushes.ReadAsync(timeout.Token) is { Deliver: { Kind: ContentKind.Text } d } && d.MessageId == id)
                    got = d;
            var arrived = DateTimeOffset.UtcNow;
            output.WriteLine($"delivered {(arrived - sendAt).TotalSeconds:0.0} s after its time (server_timestamp {got.ServerTimestamp - (ulong)sendAt.ToUnixTimeMilliseconds()} ms after)");
            Assert.Equal("on time", got.Ciphertext.ToStringUtf8());
            Assert.True(got.ServerTimestamp >= (ulong)sendAt.ToUnixTimeMilliseconds(), "delivered before its time");
        }
        var moved = await ScheduleEntitiesAsync(survivors);
        output.WriteLine($"schedule entities on the survivors now: {string.Join(", ", moved)}");
    }

    private static Task<WhatsAppConnection> LoginAsync(NodeProcess node, Credentials user) => ProcessCluster.LoginAsync(node, user, "schedule-node-loss");

    private static async Task<WhatsAppConnection> LoginWithRetriesAsync(NodeProcess node, Credentials user)
    {
        var deadline = DateTimeOffset.UtcNow + Wait;
        while (true)
        {
            try
            {
                return await LoginAsync(node, user);
            }
            catch (Exception e) when (e is ServerErrorException { Code: ErrorCode.Timeout or ErrorCode.Unavailable } or IOException && DateTimeOffset.UtcNow < deadline)
            {
                // The account or mailbox entity was on the killed node and has not moved yet.
            }
        }
    }

    private static Task<int[]> ScheduleEntitiesAsync(IReadOnlyList<NodeProcess> nodes) => ProcessCluster.EntitiesAsync(nodes, "schedule");
}
