using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.WhatsApp.Host;
using Akka.WhatsApp.Host.Clustering;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Akka.WhatsApp.Integration.Tests;

/// <summary>How a node finds its cluster through DNS (WA_DISCOVERY_DNS, the Kubernetes manifest's way), and the settings it refuses.</summary>
public sealed class ClusterFormationSpec
{
    private static readonly Address Self = new("akka.tcp", "whatsapp", "10.0.0.2", 4053);
    private static readonly Address Other = new("akka.tcp", "whatsapp", "10.0.0.1", 4053);

    [Fact]
    public async Task A_node_with_DNS_discovery_finds_itself_in_the_answer_and_forms_the_cluster_through_it()
    {
        var port = FreePort();
        var settings = await TestNodes.SettingsAsync(JournalKind.Sqlite) with { RemotePort = port, DiscoveryDns = $"localhost:{port}" };
        // Ready means Up: the node does not join itself when it is told to find others, so it got there through discovery.
        await using var node = await TestNodes.StartAsync(settings);
        Assert.Equal($"akka.tcp://whatsapp@127.0.0.1:{port}", TestNodes.AddressOf(node));
    }

    [Fact]
    public async Task DNS_discovery_answers_the_addresses_of_the_name_on_the_configured_port()
    {
        using var system = ActorSystem.Create("dns", ClusterFormation.DnsDiscoveryConfig("localhost:4711"));
        var resolved = await new DnsServiceDiscovery((ExtendedActorSystem)system).Lookup(new Akka.Discovery.Lookup("any"), TimeSpan.FromSeconds(5));
        var target = Assert.Single(resolved.Addresses);
        Assert.Equal("127.0.0.1", target.Host);
        Assert.Equal(4711, target.Port);
        Assert.Equal([new Address("akka.tcp", "whatsapp", "127.0.0.1", 4711)], ClusterFormation.SeedsOf("whatsapp", resolved));
    }

    [Fact]
    public void A_DNS_answer_is_used_once_it_names_this_node_and_stayed_the_same_for_five_seconds()
    {
        var time = new FakeTimeProvider();
        var stable = new ClusterFormation.StableAnswer(Self, time);

        // Without this node the answer is stale (its own record is not in yet), however long it lasts.
        Assert.False(stable.Settled([Other]));
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.False(stable.Settled([Other]));

        // A new answer starts the clock again; it settles only after five unchanged seconds.
        Assert.False(stable.Settled([Other, Self]));
        time.Advance(TimeSpan.FromSeconds(4));
        Assert.False(stable.Settled([Other, Self]));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(stable.Settled([Other, Self]));

        // A pod that appears late changes the answer: wait again.
        var third = new Address("akka.tcp", "whatsapp", "10.0.0.3", 4053);
        Assert.False(stable.Settled([Other, Self, third]));
    }

    [Fact]
    public void Settings_that_cannot_form_a_cluster_are_refused_naming_the_variable_to_fix()
    {
        var wildcard = new HostSettings { RemoteHost = "0.0.0.0" };
        Assert.Same(wildcard, wildcard.Validated()); // alone it only warns at start

        var joining = wildcard with { DiscoveryDns = "whatsapp-nodes:4053" };
        Assert.Contains("WA_PUBLIC_HOST", Assert.Throws<InvalidOperationException>(() => joining.Validated()).Message);
        var advertised = joining with { PublicHost = "10.0.0.7" };
        Assert.Same(advertised, advertised.Validated());
        Assert.Contains("WA_PUBLIC_HOST", Assert.Throws<InvalidOperationException>(() => (wildcard with { SeedNodes = ["akka.tcp://whatsapp@a:4053"] }).Validated()).Message);

        Assert.Contains("WA_DISCOVERY_DNS", Assert.Throws<InvalidOperationException>(() => new HostSettings { DiscoveryDns = "no-port" }.Validated()).Message);
        Assert.Contains("set one", Assert.Throws<InvalidOperationException>(() =>
            new HostSettings { DiscoveryDns = "a:4053", DiscoveryEndpoints = ["a:4053"] }.Validated()).Message);
        Assert.Contains("WA_TLS_CERT", Assert.Throws<InvalidOperationException>(() => new HostSettings { TlsKeyPath = "/tmp/key.pem" }.Validated()).Message);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
