using Akka.WhatsApp.Client;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;
using Xunit;
using Xunit.Abstractions;

namespace Akka.WhatsApp.MultiNode.Tests;

/// <summary>
/// A call whose entity lives on a third node, neither the caller's nor the callee's (PROTOCOL.md §15): that node is
/// killed mid-call, and both phones are told the call FAILED by their own nodes (their sessions watch the call), so
/// that nothing rings or stays connected forever. Calls are placed until one's entity lands on the pair's third node.
/// </summary>
public sealed class CallNodeLossSpec(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Fact]
    public Task A_call_whose_node_dies_ends_failed_on_both_devices() =>
        ProcessCluster.RunAsync(new ClusterOptions { SplitBrainStableAfterSeconds = 5 }, output, RunAsync);

    private async Task RunAsync(ProcessCluster cluster)
    {
        var nodes = cluster.Nodes;
        var users = await ProcessCluster.ProvisionAsync(nodes[0], 6);
        // Pair p: the caller on node p, the callee on node p + 1; node p + 2 is the pair's third node.
        var pairs = new List<(WhatsAppConnection Caller, WhatsAppConnection Callee, Credentials CallerUser, Credentials CalleeUser, int Third)>();
        var open = new List<WhatsAppConnection>();
        try
        {
            for (var p = 0; p < 3; p++)
            {
                var caller = await LoginAsync(nodes[p], users[2 * p]);
                var callee = await LoginAsync(nodes[(p + 1) % 3], users[2 * p + 1]);
                open.AddRange([caller, callee]);
                pairs.Add((caller, callee, users[2 * p], users[2 * p + 1], (p + 2) % 3));
            }

            // A new session's inbox subscription reaches the other nodes' pub-sub registries by gossip: each callee waits
            // until typing from a device on every node reaches it, so that an offer published on any node does too.
            foreach (var (_, callee, _, calleeUser, _) in pairs)
                foreach (var (caller, _, callerUser, _, _) in pairs)
                    await TypingArrivesAsync(caller, callee, callerUser.UserId, calleeUser.UserId);

            // Calls stay ringing (nothing ends them here), so each node's count of call entities only grows.
            ByteString? chosen = null;
            var pair = pairs[0];
            for (var attempt = 0; attempt < 30 && chosen is null; attempt++)
            {
                pair = pairs[attempt % 3];
                var before = await CallEntitiesAsync(nodes);
                var call = ByteString.CopyFrom(Guid.NewGuid().ToByteArray());
                var offer = new CallOffer { CallId = call, ToUserId = pair.CalleeUser.UserId, Media = CallMedia.Audio };
                offer.Offers.Add(new RecipientCiphertext
                {
                    UserId = pair.CalleeUser.UserId, Device = new DeviceCiphertext { DeviceId = pair.CalleeUser.DeviceId, Ciphertext = ByteString.CopyFromUtf8("offer") },
                });
                await pair.Caller.RequestAsync(new Frame { CallOffer = offer });
                var after = await CallEntitiesAsync(nodes);
                var host = Enumerable.Range(0, 3).Single(i => after[i] > before[i]);
                output.WriteLine($"attempt {attempt}: call of pair {pairs.IndexOf(pair)} lives on {nodes[host].Name}");
                if (host == pair.Third)
                    chosen = call;
            }
            Assert.True(chosen is not null, "no call's entity landed on its pair's third node in 30 attempts");

            // Mid-call: the callee answered.
            Assert.Equal(chosen, (await NextSignalAsync(pair.Callee, chosen, CallSignal.SignalOneofCase.Offer)).CallId);
            await pair.Callee.RequestAsync(new Frame
            {
                CallAnswer = new CallAnswer { CallId = chosen, ToUserId = pair.CallerUser.UserId, ToDeviceId = pair.CallerUser.DeviceId, Ciphertext = ByteString.CopyFromUtf8("answer") },
            });
            await NextSignalAsync(pair.Caller, chosen, CallSignal.SignalOneofCase.Answer);

            var third = nodes[pair.Third];
            third.Kill();
            var started = DateTimeOffset.UtcNow;
            foreach (var device in new[] { pair.Caller, pair.Callee })
            {
                var ended = await NextSignalAsync(device, chosen, CallSignal.SignalOneofCase.Hangup);
                Assert.Equal(CallEndReason.Failed, ended.Hangup.Reason);
            }
            output.WriteLine($"both devices were told FAILED {(DateTimeOffset.UtcNow - started).TotalSeconds:0.0} s after {third.Name} was killed");
        }
        finally
        {
            foreach (var connection in open)
                await connection.DisposeAsync();
        }
    }

    private static Task<WhatsAppConnection> LoginAsync(NodeProcess node, Credentials user) => ProcessCluster.LoginAsync(node, user, "call-node-loss");

    /// <summary>Sends typing until one arrives (each try waits a moment for it): the recipient's subscription is known on the sender's node.</summary>
    private static async Task TypingArrivesAsync(WhatsAppConnection from, WhatsAppConnection to, string fromUser, string toUser)
    {
        for (var attempt = 0; attempt < 60; attempt++)
        {
            await from.SendAsync(new Frame { Typing = new Typing { To = toUser, State = TypingState.Composing } });
            using var wait = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
            try
            {
                while (true)
                    if (await to.Pushes.ReadAsync(wait.Token) is { TypingNotification: { } typing } && typing.FromUserId == fromUser)
                        return;
            }
            catch (OperationCanceledException)
            {
                // not yet: the subscription has not reached that node
            }
        }
        throw new TimeoutException($"typing from {fromUser} never reached {toUser}");
    }

    private static Task<int[]> CallEntitiesAsync(IReadOnlyList<NodeProcess> nodes) => ProcessCluster.EntitiesAsync(nodes, "call");

    private static async Task<CallSignal> NextSignalAsync(WhatsAppConnection device, ByteString call, CallSignal.SignalOneofCase kind)
    {
        using var timeout = new CancellationTokenSource(Wait);
        while (true)
            if (await device.Pushes.ReadAsync(timeout.Token) is { CallSignal: { } signal } && signal.CallId == call && signal.SignalCase == kind)
                return signal;
    }
}
