using Akka.WhatsApp.Testing;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Akka.WhatsApp.Client;
using Google.Protobuf;
using Xunit;
using Xunit.Abstractions;

namespace Akka.WhatsApp.MultiNode.Tests;

/// <summary>
/// A three-process cluster found through discovery: mailboxes spread over the nodes, a message crosses nodes,
/// and the management API lists members, refuses changes without the operator token, downs a killed node and
/// makes another leave (its process then ends). The split-brain resolver waits long here, so that downing the
/// killed node is the API's doing.
/// </summary>
public sealed class CrossNodeAndManagementSpec(ITestOutputHelper output) : IAsyncLifetime
{
    private ProcessCluster _cluster = null!;

    public async Task InitializeAsync() =>
        _cluster = await ProcessCluster.StartAsync(new ClusterOptions { SplitBrainStableAfterSeconds = 15 }, output);

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task Mailboxes_spread_messages_cross_nodes_and_operators_down_and_remove_nodes_over_http()
    {
        try
        {
            await RunAsync();
        }
        catch
        {
            _cluster.DumpLogs();
            throw;
        }
    }

    private async Task RunAsync()
    {
        var (a, b, c) = (_cluster.Nodes[0], _cluster.Nodes[1], _cluster.Nodes[2]);
        var all = _cluster.Nodes.Select(n => n.Address).ToList();

        // Every node sees the same three members Up, and one leader among them.
        foreach (var node in _cluster.Nodes)
        {
            using var http = ProcessCluster.Management(node);
            var body = await http.GetFromJsonAsync<JsonElement>("/cluster/members");
            Assert.Equal(node.Address, body.GetProperty("selfNode").GetString());
            Assert.Equal(all.Order(), body.GetProperty("members").EnumerateArray().Select(m => m.GetProperty("node").GetString()!).Order());
            Assert.All(body.GetProperty("members").EnumerateArray(), m => Assert.Equal("Up", m.GetProperty("status").GetString()));
            Assert.Contains(body.GetProperty("leader").GetString(), all);
        }

        // 30 devices, ten per node: their mailboxes are spread over all three nodes' shard regions.
        var users = await ProcessCluster.ProvisionAsync(a, 30);
        var clients = new List<WhatsAppClient>();
        try
        {
            for (var i = 0; i < users.Count; i++)
                clients.Add(await WhatsAppClient.ConnectAsync(_cluster.ClientOf(_cluster.Nodes[i % 3]), users[i]));
            var hosted = new Dictionary<string, int>();
            foreach (var node in _cluster.Nodes)
            {
                using var http = ProcessCluster.Management(node);
                var shards = await http.GetFromJsonAsync<JsonElement>("/cluster/shards/mailbox");
                hosted[node.Name] = shards.GetProperty("regions").EnumerateArray().Sum(r => r.GetProperty("numEntities").GetInt32());
            }
            output.WriteLine("mailbox entities per node: " + string.Join(", ", hosted.Select(h => $"{h.Key} {h.Value}")));
            Assert.Equal(30, hosted.Values.Sum());
            Assert.All(hosted, h => Assert.True(h.Value > 0, $"node {h.Key} hosts no mailbox: {string.Join(", ", hosted)}"));

            // Sent through node A to a device connected to node C: it arrives.
            var (sender, receiver) = (clients[0], clients[2]);
            Assert.Equal(a.EdgePort, sender.Endpoint.Port);
            Assert.Equal(c.EdgePort, receiver.Endpoint.Port);
            await sender.SendAsync(receiver.Credentials.UserId, Encoding.UTF8.GetBytes("across the cluster"));
            var received = await NextMessageAsync(receiver);
            Assert.Equal(sender.Credentials.UserId, received.Deliver.FromUserId);
            Assert.Equal("across the cluster", received.Deliver.Ciphertext.ToStringUtf8());

            // Keys published through node A, fetched at once through nodes B and C: each one-time prekey goes to
            // one sender only (PROTOCOL.md §13), whichever node the fetches come through.
            await sender.UploadKeysAsync(SignedUpload(oneTime: 6));
            var fetches = new[] { clients[1], clients[2] }.SelectMany(c => Enumerable.Range(0, 4).Select(_ => c.FetchPreKeyBundlesAsync(sender.Credentials.UserId)));
            var bundles = (await Task.WhenAll(fetches)).Select(f => Assert.Single(f.Bundles)).ToList();
            Assert.Equal([1u, 2u, 3u, 4u, 5u, 6u], bundles.Where(x => x.OneTimePrekey is not null).Select(x => x.OneTimePrekey.KeyId).Order());
            Assert.Equal(2, bundles.Count(x => x.OneTimePrekey is null));
        }
        finally
        {
            foreach (var client in clients)
                await client.DisposeAsync();
        }

        // Changing membership needs the operator token; reading can be closed too (WA_MANAGEMENT_READ_OPEN is off).
        var target = Uri.EscapeDataString(c.Address);
        using (var anonymous = ProcessCluster.Management(a, token: null))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.DeleteAsync($"/cluster/members/{target}")).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized,
                (await anonymous.PutAsync($"/cluster/members/{target}", new FormUrlEncodedContent([new("operation", "Down")]))).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/cluster/members")).StatusCode);
        }
        using (var wrong = ProcessCluster.Management(a, token: "not-the-operator-token-at-all"))
            Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.DeleteAsync($"/cluster/members/{target}")).StatusCode);
        await _cluster.WaitForMembersAsync(a, all, TimeSpan.FromSeconds(5));

        // Node C dies without a word: A and B see it unreachable; an operator downs it through A.
        c.Kill();
        await WaitUntilAsync(async () => (await ProcessCluster.MembersAsync(a)).Unreachable.Contains(c.Address), "C unreachable on A");
        using (var http = ProcessCluster.Management(a))
        {
            var down = await http.PutAsync($"/cluster/members/{target}", new FormUrlEncodedContent([new("operation", "Down")]));
            Assert.Equal(HttpStatusCode.OK, down.StatusCode);
        }
        await _cluster.WaitForMembersAsync(a, [a.Address, b.Address], TimeSpan.FromSeconds(30));
        await _cluster.WaitForMembersAsync(b, [a.Address, b.Address], TimeSpan.FromSeconds(30));
        // The two serve again (C's shards start on them) before the next change, as an operator would check. When C
        // was the oldest node, the shard coordinators (cluster singletons) move only after Akka's removal margin,
        // which the split-brain resolver sets to its stable-after: the test keeps that at 15 s and downs C sooner.
        Assert.Equal(2, (await ProcessCluster.ProvisionAsync(b, 2)).Count);

        // B is asked to leave through A (DELETE = leave): it hands its shards over, leaves, and its process ends.
        using (var http = ProcessCluster.Management(a))
        {
            var leave = await http.DeleteAsync($"/cluster/members/{Uri.EscapeDataString(b.Address)}");
            Assert.Equal(HttpStatusCode.OK, leave.StatusCode);
        }
        Assert.True(await b.WaitForExitAsync(TimeSpan.FromSeconds(60)), "B did not exit after leaving the cluster");
        Assert.Equal(0, b.ExitCode);
        await _cluster.WaitForMembersAsync(a, [a.Address], TimeSpan.FromSeconds(30));

        // The survivor still serves: new accounts log in and message each other through it. (Shards whose rebalance
        // to B was under way when B left stay blocked until the hand-off timeout, 20 s in HOCON/cluster.conf.)
        var last = await ProcessCluster.ProvisionAsync(a, 2);
        await using var one = await WhatsAppClient.ConnectAsync(_cluster.ClientOf(a), last[0]);
        await using var two = await WhatsAppClient.ConnectAsync(_cluster.ClientOf(a), last[1]);
        await one.SendAsync(two.Credentials.UserId, Encoding.UTF8.GetBytes("still here"));
        Assert.Equal("still here", (await NextMessageAsync(two)).Deliver.Ciphertext.ToStringUtf8());
    }

    private static async Task<MessageReceived> NextMessageAsync(WhatsAppClient client)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await foreach (var e in client.Events.ReadAllAsync(timeout.Token))
            if (e is MessageReceived m)
                return m;
        throw new InvalidOperationException("the events ended");
    }

    /// <summary>A first key upload with real Ed25519 signatures and one-time prekeys 1..n.</summary>
    private static Protocol.UploadKeys SignedUpload(int oneTime)
    {
        using var identity = NSec.Cryptography.Key.Create(NSec.Cryptography.SignatureAlgorithm.Ed25519);
        ByteString Signed(byte[] key) => ByteString.CopyFrom(NSec.Cryptography.SignatureAlgorithm.Ed25519.Sign(identity, key));
        var (signedPreKey, kem) = (new byte[32], new byte[1568]);
        var upload = new Protocol.UploadKeys
        {
            IdentityKey = ByteString.CopyFrom(identity.PublicKey.Export(NSec.Cryptography.KeyBlobFormat.RawPublicKey)),
            RegistrationId = 1,
            SignedPrekey = new Protocol.SignedPreKey { KeyId = 1, PublicKey = ByteString.CopyFrom(signedPreKey), Signature = Signed(signedPreKey) },
            KemLastResortPrekey = new Protocol.KemPreKey { KeyId = 1, PublicKey = ByteString.CopyFrom(kem), Signature = Signed(kem) },
        };
        upload.OneTimePrekeys.AddRange(Enumerable.Range(1, oneTime).Select(i => new Protocol.PreKey { KeyId = (uint)i, PublicKey = ByteString.CopyFrom(new byte[32]) }));
        return upload;
    }

    private static Task WaitUntilAsync(Func<Task<bool>> condition, string what) => Eventually.Until(condition, TimeSpan.FromSeconds(30), what);
}
