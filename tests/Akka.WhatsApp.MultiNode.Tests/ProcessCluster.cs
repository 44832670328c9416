using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Akka.WhatsApp.Client;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;
using Akka.WhatsApp.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Akka.WhatsApp.MultiNode.Tests;

/// <summary>How a test cluster is set up.</summary>
public sealed record ClusterOptions
{
    public int Nodes { get; init; } = 3;

    /// <summary>WA_SBR_STABLE_AFTER: a test that downs through the API sets it long, one that kills a node short.</summary>
    public int SplitBrainStableAfterSeconds { get; init; } = 5;

    public int DrainSeconds { get; init; } = 10;
}

/// <summary>
/// Three (or more) node processes on 127.0.0.1 sharing one fresh PostgreSQL database. They find each other
/// through Akka.Discovery's config method (WA_DISCOVERY_ENDPOINTS lists every node's remoting port), the way a
/// static deployment would. Accounts are made with the load-test provisioning route.
/// </summary>
public sealed class ProcessCluster : IAsyncDisposable
{
    public const string OperatorToken = "operator-token-of-the-multinode-tests";
    private const string ProvisioningToken = "provisioning-token-of-the-multinode-tests";

    private readonly ITestOutputHelper _output;

    private ProcessCluster(IReadOnlyList<NodeProcess> nodes, string logDirectory, ITestOutputHelper output)
    {
        Nodes = nodes;
        LogDirectory = logDirectory;
        _output = output;
    }

    public IReadOnlyList<NodeProcess> Nodes { get; }

    public string LogDirectory { get; }

    public static async Task<ProcessCluster> StartAsync(ClusterOptions options, ITestOutputHelper output)
    {
        var database = await TestPostgres.CreateDatabaseAsync("wa_mn");
        var logs = Directory.CreateTempSubdirectory("wa-multinode-").FullName;
        var ports = NodeProcess.FreePorts(options.Nodes);
        var environment = new Dictionary<string, string>
        {
            ["WA_JOURNAL"] = "postgres",
            ["WA_POSTGRES"] = database,
            ["WA_DISCOVERY_ENDPOINTS"] = string.Join(",", ports.Select(p => $"127.0.0.1:{p.Remote}")),
            ["WA_MANAGEMENT_TOKEN"] = OperatorToken,
            ["WA_LOADTEST_TOKEN"] = ProvisioningToken,
            ["WA_SHARDS"] = "30",
            ["WA_SEND_RATE"] = "10000",
            ["WA_SBR_STABLE_AFTER"] = options.SplitBrainStableAfterSeconds.ToString(),
            ["WA_DRAIN_SECONDS"] = options.DrainSeconds.ToString(),
            ["Logging__LogLevel__Default"] = "Information",
            ["Logging__LogLevel__Microsoft.AspNetCore"] = "Warning",
        };
        var nodes = ports.Select((p, i) => NodeProcess.Start(((char)('a' + i)).ToString(), p, environment, logs)).ToList();
        var cluster = new ProcessCluster(nodes, logs, output);
        output.WriteLine($"cluster of {nodes.Count} processes, logs in {logs}: " +
            string.Join("; ", nodes.Select(n => $"{n.Name} pid {n.Pid} edge {n.EdgePort} management {n.ManagementPort} remote {n.RemotePort}")));
        try
        {
            await Task.WhenAll(nodes.Select(n => n.WaitReadyAsync(TimeSpan.FromSeconds(90))));
            // Every node's own view: gossip reaches the last joiner a moment after the first node sees it Up.
            foreach (var node in nodes)
                await cluster.WaitForMembersAsync(node, nodes.Select(n => n.Address).ToList(), TimeSpan.FromSeconds(60));
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
        return cluster;
    }

    /// <summary>The management API of <paramref name="node"/>, with the operator token unless told otherwise.</summary>
    public static HttpClient Management(NodeProcess node, string? token = OperatorToken, int timeoutSeconds = 15)
    {
        var http = new HttpClient { BaseAddress = node.Management, Timeout = TimeSpan.FromSeconds(timeoutSeconds) };
        if (token is not null)
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    /// <summary>GET /cluster/members of <paramref name="node"/>: (address, status) of each member, and the unreachable.</summary>
    public static async Task<(IReadOnlyDictionary<string, string> Members, IReadOnlyList<string> Unreachable)> MembersAsync(NodeProcess node)
    {
        using var http = Management(node);
        var body = await http.GetFromJsonAsync<JsonElement>("/cluster/members");
        var members = body.GetProperty("members").EnumerateArray()
            .ToDictionary(m => m.GetProperty("node").GetString()!, m => m.GetProperty("status").GetString()!);
        var unreachable = body.GetProperty("unreachable").EnumerateArray().Select(u => u.GetProperty("node").GetString()!).ToList();
        return (members, unreachable);
    }

    /// <summary>Waits until <paramref name="node"/> sees exactly <paramref name="addresses"/> as members, all Up.</summary>
    public async Task WaitForMembersAsync(NodeProcess node, IReadOnlyList<string> addresses, TimeSpan timeout)
    {
        var last = "";
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                var (members, unreachable) = await MembersAsync(node);
                last = string.Join(", ", members.Select(m => $"{m.Key} {m.Value}")) + $"; unreachable: {string.Join(", ", unreachable)}";
                if (members.Count == addresses.Count && addresses.All(a => members.GetValueOrDefault(a) == "Up") && unreachable.Count == 0)
                    return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                last = e.Message;
            }
            await Task.Delay(250);
        }
        throw new TimeoutException($"{node.Name} did not see members [{string.Join(", ", addresses)}] Up within {timeout.TotalSeconds} s; last: {last}");
    }

    /// <summary>
    /// Creates <paramref name="count"/> accounts through <paramref name="via"/> (they live wherever their shards are).
    /// Tried up to four times: right after the cluster lost a node, an account shard may not answer within the
    /// route's 30 s (it answers 500) while the shard coordinators move and the lost shards start elsewhere.
    /// </summary>
    public static async Task<IReadOnlyList<Credentials>> ProvisionAsync(NodeProcess via, int count)
    {
        using var http = Management(via, ProvisioningToken, timeoutSeconds: 45);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var response = await http.PostAsJsonAsync("/loadtest/users", new { count });
                response.EnsureSuccessStatusCode();
                var body = await response.Content.ReadFromJsonAsync<JsonElement>();
                return body.GetProperty("users").EnumerateArray().Select(u => new Credentials(
                    u.GetProperty("userId").GetString()!, u.GetProperty("deviceId").GetUInt32(),
                    Convert.FromBase64String(u.GetProperty("token").GetString()!))).ToList();
            }
            catch (Exception e) when ((e is HttpRequestException or TaskCanceledException) && attempt < 4)
            {
                Console.WriteLine($"provisioning through {via.Name}, attempt {attempt}: {e.Message}");
            }
        }
    }

    /// <summary>Client options for a device that connects to <paramref name="node"/> first and knows every other node.</summary>
    /// <summary>Starts a cluster, runs <paramref name="test"/> on it, and prints the nodes' logs when it fails.</summary>
    public static async Task RunAsync(ClusterOptions options, ITestOutputHelper output, Func<ProcessCluster, Task> test)
    {
        await using var cluster = await StartAsync(options, output);
        try
        {
            await test(cluster);
        }
        catch
        {
            cluster.DumpLogs();
            throw;
        }
    }

    /// <summary>The entities of <paramref name="region"/> each node hosts, as GET /cluster/shards/{region} counts them.</summary>
    public static async Task<int[]> EntitiesAsync(IReadOnlyList<NodeProcess> nodes, string region) =>
        await Task.WhenAll(nodes.Select(async node =>
        {
            using var http = Management(node);
            var body = await http.GetFromJsonAsync<JsonElement>($"/cluster/shards/{region}");
            return body.GetProperty("regions").EnumerateArray().Sum(r => r.GetProperty("numEntities").GetInt32());
        }));

    /// <summary>Hello and Login of <paramref name="user"/> over a bare connection to <paramref name="node"/>; the caller disposes it.</summary>
    public static async Task<WhatsAppConnection> LoginAsync(NodeProcess node, Credentials user, string client)
    {
        var connection = await WhatsAppConnection.ConnectAsync(node.Edge.Host, node.Edge.Port);
        await connection.HelloAsync(client);
        var reply = await connection.RequestAsync(new Frame
        {
            Login = new Login { UserId = user.UserId, DeviceId = user.DeviceId, Token = ByteString.CopyFrom(user.Token) },
        });
        Assert.Equal(Frame.PacketOneofCase.LoginOk, reply.PacketCase);
        return connection;
    }

    public ClientOptions ClientOf(NodeProcess node) => new(node.Edge.Host, node.Edge.Port)
    {
        Alternates = Nodes.Where(n => n != node).Select(n => n.Edge).ToList(),
        MinReconnectDelay = TimeSpan.FromMilliseconds(100),
        MaxReconnectDelay = TimeSpan.FromSeconds(2),
        RequestTimeout = TimeSpan.FromSeconds(10),
        MaxSendAttempts = 20,
    };

    /// <summary>Writes the end of every node's log to the test output (called when a test fails).</summary>
    public void DumpLogs(int lines = 60)
    {
        foreach (var node in Nodes)
            _output.WriteLine($"--- {node.Name} ({node.Address}, {(node.HasExited ? $"exited {node.ExitCode}" : "running")}) ---\n{node.LogTail(lines)}");
    }

    public ValueTask DisposeAsync()
    {
        foreach (var node in Nodes)
            node.Dispose();
        return ValueTask.CompletedTask;
    }
}
