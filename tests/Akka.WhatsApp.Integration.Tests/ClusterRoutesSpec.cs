using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Akka.WhatsApp.Host;
using Xunit;
using static Akka.WhatsApp.Integration.Tests.TestUsers;

namespace Akka.WhatsApp.Integration.Tests;

/// <summary>A single node with an operator token, for the cluster routes of the management API.</summary>
public sealed class ClusterRoutesNode : IAsyncLifetime
{
    public const string Token = "operator-token-for-tests";

    public WhatsAppNode Node { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Node = await TestNodes.StartAsync(await TestNodes.SettingsAsync(JournalKind.Sqlite) with { ManagementToken = Token });

    public async Task DisposeAsync() => await Node.DisposeAsync();

    public HttpClient Http(string? token = Token)
    {
        var http = new HttpClient { BaseAddress = Node.ManagementUri };
        if (token is not null)
            http.DefaultRequestHeaders.Authorization = new("Bearer", token);
        return http;
    }
}

/// <summary>Akka.Management-compatible cluster routes on one real node (the multi-node behaviour is the cluster issue's).</summary>
public sealed class ClusterRoutesSpec(ClusterRoutesNode fixture) : IClassFixture<ClusterRoutesNode>
{
    private string Self => $"akka.tcp://whatsapp@127.0.0.1:{((Akka.Actor.ExtendedActorSystem)fixture.Node.System).Provider.DefaultAddress.Port}";

    [Fact]
    public async Task Members_lists_this_node_up_as_leader_and_oldest_in_akka_management_shape()
    {
        using var http = fixture.Http();
        var body = await http.GetFromJsonAsync<JsonElement>("/cluster/members");
        Assert.Equal(Self, body.GetProperty("selfNode").GetString());
        Assert.Equal(Self, body.GetProperty("leader").GetString());
        Assert.Equal(Self, body.GetProperty("oldest").GetString());
        var member = Assert.Single(body.GetProperty("members").EnumerateArray());
        Assert.Equal(Self, member.GetProperty("node").GetString());
        Assert.Equal("Up", member.GetProperty("status").GetString());
        Assert.False(string.IsNullOrEmpty(member.GetProperty("nodeUid").GetString()));
        Assert.Equal(JsonValueKind.Array, member.GetProperty("roles").ValueKind);
        Assert.Empty(body.GetProperty("unreachable").EnumerateArray());

        var one = await http.GetFromJsonAsync<JsonElement>($"/cluster/members/{Uri.EscapeDataString(Self)}");
        Assert.Equal("Up", one.GetProperty("status").GetString());
        var missing = await http.GetAsync($"/cluster/members/{Uri.EscapeDataString("akka.tcp://whatsapp@127.0.0.1:1")}");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Contains("not found", await missing.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Shards_of_a_region_count_their_entities()
    {
        var user = await RegisterAsync(fixture.Node);
        await using (var client = await ConnectAsync(fixture.Node, user))
        {
            using var http = fixture.Http();
            var body = await http.GetFromJsonAsync<JsonElement>("/cluster/shards/mailbox");
            var regions = body.GetProperty("regions").EnumerateArray().ToList();
            Assert.NotEmpty(regions);
            Assert.True(regions.Sum(r => r.GetProperty("numEntities").GetInt32()) >= 1, body.ToString());
            Assert.All(regions, r => Assert.False(string.IsNullOrEmpty(r.GetProperty("shardId").GetString())));
            Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/cluster/shards/no-such-region")).StatusCode);
        }
    }

    [Fact]
    public async Task Without_the_token_reads_and_changes_are_refused_and_bad_operations_are_named()
    {
        var address = Uri.EscapeDataString(Self);
        using (var anonymous = fixture.Http(token: null))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/cluster/members")).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized,
                (await anonymous.PutAsync($"/cluster/members/{address}", new FormUrlEncodedContent([new("operation", "Down")]))).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.DeleteAsync($"/cluster/members/{address}")).StatusCode);
        }
        using (var wrong = fixture.Http(token: ClusterRoutesNode.Token + "x"))
            Assert.Equal(HttpStatusCode.Unauthorized,
                (await wrong.PutAsync($"/cluster/members/{address}", new FormUrlEncodedContent([new("operation", "Leave")]))).StatusCode);

        using var http = fixture.Http();
        var bad = await http.PutAsync($"/cluster/members/{address}", new FormUrlEncodedContent([new("operation", "Explode")]));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("Leave, Down or Join", await bad.Content.ReadAsStringAsync());
        var unknown = await http.PutAsJsonAsync($"/cluster/members/{Uri.EscapeDataString("akka.tcp://whatsapp@127.0.0.1:1")}", new { operation = "Down" });
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);

        // Still a member, still up: nothing above changed the cluster.
        var body = await http.GetFromJsonAsync<JsonElement>("/cluster/members");
        Assert.Equal("Up", Assert.Single(body.GetProperty("members").EnumerateArray()).GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_node_without_an_operator_token_refuses_cluster_routes_but_can_open_reads()
    {
        await using var closed = await TestNodes.StartAsync(await TestNodes.SettingsAsync(JournalKind.Sqlite));
        using (var http = new HttpClient { BaseAddress = closed.ManagementUri })
        {
            var refused = await http.GetAsync("/cluster/members");
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Contains("WA_MANAGEMENT_TOKEN", await refused.Content.ReadAsStringAsync());
        }
        await using var open = await TestNodes.StartAsync(await TestNodes.SettingsAsync(JournalKind.Sqlite) with { ManagementReadOpen = true });
        using (var http = new HttpClient { BaseAddress = open.ManagementUri })
        {
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/cluster/members")).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await http.DeleteAsync("/cluster/members/x")).StatusCode);
        }
        Assert.Throws<InvalidOperationException>(() => new HostSettings { ManagementToken = "short" }.Validated());
    }
}
