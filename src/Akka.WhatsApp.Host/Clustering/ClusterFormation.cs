using Akka.Actor;
using Akka.Configuration;
using Akka.Discovery;
using Akka.Event;

namespace Akka.WhatsApp.Host.Clustering;

/// <summary>
/// How a node finds its cluster, in this order: the seed nodes it is given (WA_SEED_NODES); else the endpoints
/// Akka.Discovery resolves for the cluster's service (WA_DISCOVERY_ENDPOINTS through the <c>config</c> method,
/// the one the registry here holds), used as the seed nodes; else it forms a cluster of its own.
/// Discovery's answer is sorted the same way on every node, so the nodes agree on the first seed, the one that
/// may form the cluster alone when nobody answers (Akka's seed-node rule); the others keep asking until it does.
/// </summary>
public static class ClusterFormation
{
    public const string DiscoveryService = "whatsapp-cluster";

    /// <summary>The HOCON of the config discovery method with these endpoints (host:port of Akka.Remote).</summary>
    public static Config DiscoveryConfig(IReadOnlyList<string> endpoints)
    {
        var list = string.Join(", ", endpoints.Select(e => "\"" + e.Replace("\"", "", StringComparison.Ordinal) + "\""));
        return ConfigurationFactory.ParseString($$"""
            akka.discovery {
              method = config
              config.services.{{DiscoveryService}}.endpoints = [{{list}}]
            }
            """);
    }

    /// <summary>Starts joining: through discovery when there are no seed nodes but discovery endpoints, else itself.</summary>
    public static void Join(ActorSystem system, HostSettings settings)
    {
        var cluster = Akka.Cluster.Cluster.Get(system);
        if (settings.SeedNodes.Count > 0)
            return; // Akka.Cluster.Hosting joins the configured seed nodes.
        if (settings.DiscoveryEndpoints.Count == 0)
        {
            cluster.Join(cluster.SelfAddress);
            return;
        }
        _ = JoinThroughDiscoveryAsync(system, cluster);
    }

    private static async Task JoinThroughDiscoveryAsync(ActorSystem system, Akka.Cluster.Cluster cluster)
    {
        var log = Logging.GetLogger(system, typeof(ClusterFormation));
        var delay = TimeSpan.FromSeconds(1);
        while (!system.WhenTerminated.IsCompleted)
        {
            try
            {
                var resolved = await Discovery.Discovery.Get(system).Default.Lookup(new Lookup(DiscoveryService), TimeSpan.FromSeconds(10));
                var seeds = SeedsOf(system.Name, resolved);
                if (seeds.Count > 0)
                {
                    log.Info("Discovery found {0}; joining them as seed nodes", string.Join(", ", seeds));
                    cluster.JoinSeedNodes(seeds);
                    return;
                }
                log.Warning("Discovery found no endpoints for {0}; asking again in {1}", DiscoveryService, delay);
            }
            catch (Exception e)
            {
                log.Warning(e, "Discovery of {0} failed; asking again in {1}", DiscoveryService, delay);
            }
            await Task.Delay(delay);
            delay = TimeSpan.FromSeconds(Math.Min(delay.TotalSeconds * 2, 30));
        }
    }

    /// <summary>The resolved endpoints as cluster addresses, in the order every node computes alike.</summary>
    public static IReadOnlyList<Address> SeedsOf(string systemName, ServiceDiscovery.Resolved resolved) =>
        resolved.Addresses
            .Select(t => new Address("akka.tcp", systemName, t.Host, t.Port ?? 4053))
            .Distinct()
            .OrderBy(a => a.Host, StringComparer.Ordinal)
            .ThenBy(a => a.Port)
            .ToList();
}
