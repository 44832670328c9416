using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.Discovery;

namespace Akka.WhatsApp.Host.Clustering;

/// <summary>
/// Akka.Discovery through DNS: the A records of one name (AAAA when there are none) are the cluster's nodes, all on
/// one Akka.Remote port. A Kubernetes headless Service with <c>publishNotReadyAddresses</c> answers with every pod
/// of the StatefulSet, so the list follows the replica count. Configured by <c>akka.discovery.wa-dns</c>
/// (<c>name</c>, <c>port</c>); the service name asked for is ignored, as the config method's would be for unknown ones.
/// Akka.Discovery.KubernetesApi would read the pods from the API server instead, but it does not start here (#20).
/// </summary>
public sealed class DnsServiceDiscovery : ServiceDiscovery
{
    private readonly string _name;
    private readonly int _port;

    public DnsServiceDiscovery(ExtendedActorSystem system)
    {
        var config = system.Settings.Config.GetConfig("akka.discovery.wa-dns");
        _name = config.GetString("name");
        _port = config.GetInt("port", 4053);
    }

    public override async Task<Resolved> Lookup(Akka.Discovery.Lookup lookup, TimeSpan resolveTimeout)
    {
        var addresses = await Dns.GetHostAddressesAsync(_name).WaitAsync(resolveTimeout);
        var v4 = addresses.Where(a => a.AddressFamily == AddressFamily.InterNetwork).ToList();
        var chosen = v4.Count > 0 ? v4 : addresses.Where(a => a.AddressFamily == AddressFamily.InterNetworkV6).ToList();
        return new Resolved(lookup.ServiceName, chosen.Distinct().Select(a => new ResolvedTarget(a.ToString(), _port, a)).ToList());
    }
}
