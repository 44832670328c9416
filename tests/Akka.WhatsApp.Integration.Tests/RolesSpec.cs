using Akka.WhatsApp.Testing;
using System.Net.Http.Json;
using System.Text.Json;
using Akka.Actor;
using Akka.Cluster;
using Akka.WhatsApp.Client;
using Akka.WhatsApp.Host;
using Xunit;
using static Akka.WhatsApp.Integration.Tests.TestUsers;

namespace Akka.WhatsApp.Integration.Tests;

/// <summary>
/// WA_ROLES: a node without the entities role hosts no shard and reaches the entities through proxies, yet its
/// clients message each other as anywhere else; a node without the edge role does not listen for clients.
/// </summary>
public sealed class RolesSpec : IAsyncLifetime
{
    private const string Token = "roles-operator-token";
    private readonly List<WhatsAppNode> _nodes = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var node in Enumerable.Reverse(_nodes))
            await node.DisposeAsync();
    }

    [Fact]
    public void Without_roles_a_node_is_both_edge_and_entities()
    {
        Assert.Equal([HostSettings.EdgeRole, HostSettings.EntitiesRole], new HostSettings().EffectiveRoles);
        Assert.False(new HostSettings { Roles = [HostSettings.EntitiesRole] }.ServesClients);
        Assert.True(new HostSettings { Roles = [HostSettings.EdgeRole, "eu-west"] }.ServesClients);
    }

    [Fact]
    public async Task An_edge_only_node_serves_clients_through_proxies_and_an_entities_only_node_does_not_listen()
    {
        var settings = await TestNodes.SettingsAsync(JournalKind.Postgres) with { ManagementToken = Token };
        var both = await StartAsync(settings);
        var seed = TestNodes.AddressOf(both);
        var edge = await StartAsync(settings with { SeedNodes = [seed], Roles = [HostSettings.EdgeRole] });
        var entities = await StartAsync(settings with { SeedNodes = [seed], Roles = [HostSettings.EntitiesRole] });
        var cluster = Akka.Cluster.Cluster.Get(both.System);
        await Eventually.Until(() => cluster.State.Members.Count(m => m.Status == MemberStatus.Up) == 3, TimeSpan.FromSeconds(60), "three members up",
            () => string.Join(", ", cluster.State.Members.Select(m => $"{m.Address} {m.Status}")));

        // The roles as the management API shows them.
        using var http = new HttpClient { BaseAddress = both.ManagementUri };
        http.DefaultRequestHeaders.Authorization = new("Bearer", Token);
        var members = (await http.GetFromJsonAsync<JsonElement>("/cluster/members")).GetProperty("members").EnumerateArray()
            .ToDictionary(m => m.GetProperty("node").GetString()!, m => m.GetProperty("roles").EnumerateArray().Select(r => r.GetString()!).Order().ToList());
        Assert.Equal(3, members.Count);
        Assert.Equal(["edge"], members[TestNodes.AddressOf(edge)]);
        Assert.Equal(["entities"], members[TestNodes.AddressOf(entities)]);
        Assert.Equal(["edge", "entities"], members[TestNodes.AddressOf(both)]);

        // Two users (registered through the full node) talk through the edge-only node.
        var ann = await RegisterAsync(both, entities);
        var bob = await RegisterAsync(both, entities);
        await using (var annClient = await ConnectAsync(edge, ann))
        await using (var bobClient = await ConnectAsync(edge, bob))
        {
            await annClient.SendAsync(bob.UserId, Payload("through a proxy"));
            Assert.Equal("through a proxy", (await bobClient.NextAsync<MessageReceived>()).Single().Text());
        }

        // The edge-only node hosts no mailbox; the entities live on the other two.
        Assert.Equal(0, (await TestNodes.MailboxShardsAsync(edge, Token)).Entities);
        Assert.True((await TestNodes.MailboxShardsAsync(both, Token)).Entities + (await TestNodes.MailboxShardsAsync(entities, Token)).Entities >= 2);

        // The entities-only node has no client listener.
        Assert.False(entities.EdgeEndpoint.IsCompleted);
        Assert.True(both.EdgeEndpoint.IsCompletedSuccessfully && edge.EdgeEndpoint.IsCompletedSuccessfully);
    }

    private async Task<WhatsAppNode> StartAsync(HostSettings settings)
    {
        var node = await TestNodes.StartAsync(settings);
        _nodes.Add(node);
        return node;
    }

    /// <summary>Registers through <paramref name="via"/>; the code is sent by whichever entities node hosts the verification.</summary>
    private static async Task<Credentials> RegisterAsync(WhatsAppNode via, WhatsAppNode otherEntitiesNode)
    {
        var phone = NewPhone();
        var options = await OptionsAsync(via);
        await WhatsAppClient.RequestCodeAsync(options, phone);
        var code = await DevelopmentCodes.FetchAsync(via.ManagementUri, phone)
            ?? await DevelopmentCodes.FetchAsync(otherEntitiesNode.ManagementUri, phone)
            ?? throw new InvalidOperationException($"no entities node sent a code to {phone}");
        return (await WhatsAppClient.VerifyAsync(options, phone, code)).Credentials;
    }
}
