using Akka.Actor;
using Akka.Configuration;
using Akka.Discovery;
using Akka.Event;

namespace Akka.WhatsApp.Host.Clustering;

/// <summary>
/// How a node finds its cluster, in this order: the seed nodes it is given (WA_SEED_NODES); else the endpoints
/// Akka.Discovery resolves for the cluster's service (WA_DISCOVERY_ENDPOINTS through the <c>config</c> method, or
/// WA_DISCOVERY_DNS through <see cref="DnsServiceDiscovery"/>), used as the seed nodes; else it forms a cluster of its own.
/// Discovery's answer is sorted the same way on every node, so the nodes agree on the first seed, the one that
/// may form the cluster alone when nobody answers (Akka's seed-node rule); the others keep asking until it does.
/// A DNS answer changes while pods start, so it is used only once it names this node and has not changed for
/// <see cref="StableFor"/>: two nodes that each saw only part of the set could otherwise both be first and form two
/// clusters (Akka.Management's bootstrap waits for a stable answer for the same reason).
/// </summary>
public static class ClusterFormation
{
    public const string DiscoveryService = "whatsapp-cluster";

    /// <summary>How long a DNS answer must stay the same before the node joins the addresses it names.</summary>
    public static readonly TimeSpan StableFor = TimeSpan.FromSeconds(5);

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

    /// <summary>The HOCON of the DNS discovery method for WA_DISCOVERY_DNS (host:port).</summary>
    public static Config DnsDiscoveryConfig(string hostAndPort)
    {
        var colon = hostAndPort.LastIndexOf(':');
        return ConfigurationFactory.ParseString($$"""
            akka.discovery {
              method = wa-dns
              wa-dns {
                class = "{{typeof(DnsServiceDiscovery).FullName}}, {{typeof(DnsServiceDiscovery).Assembly.GetName().Name}}"
                name = "{{hostAndPort[..colon].Replace("\"", "", StringComparison.Ordinal)}}"
                port = {{int.Parse(hostAndPort[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture)}}
              }
            }
            """);
    }

    /// <summary>Starts joining: through discovery when there are no seed nodes but discovery endpoints, else itself.</summary>
    public static void Join(ActorSystem system, HostSettings settings)
    {
        var cluster = Akka.Cluster.Cluster.Get(system);
        if (settings.SeedNodes.Count > 0)
            return; // Akka.Cluster.Hosting joins the configured seed nodes.
        if (!settings.JoinsOthers)
        {
            cluster.Join(cluster.SelfAddress);
            return;
        }
        _ = JoinThroughDiscoveryAsync(system, cluster, waitForStable: settings.DiscoveryDns is not null, TimeProvider.System);
    }

    private static async Task JoinThroughDiscoveryAsync(ActorSystem system, Akka.Cluster.Cluster cluster, bool waitForStable, TimeProvider time)
    {
        var log = Logging.GetLogger(system, typeof(ClusterFormation));
        var delay = TimeSpan.FromSeconds(1);
        var stable = new StableAnswer(cluster.SelfAddress, time);
        while (!system.WhenTerminated.IsCompleted)
        {
            try
            {
                var resolved = await Discovery.Discovery.Get(system).Default.Lookup(new Lookup(DiscoveryService), TimeSpan.FromSeconds(10));
                var seeds = SeedsOf(system.Name, resolved);
                if (seeds.Count > 0 && (!waitForStable || stable.Settled(seeds)))
                {
                    log.Info("Discovery found {0}; joining them as seed nodes", string.Join(", ", seeds));
                    cluster.JoinSeedNodes(seeds);
                    return;
                }
                if (seeds.Count > 0)
                {
                    log.Info("Discovery found {0}; waiting for the answer to name this node and stay the same for {1}", string.Join(", ", seeds), StableFor);
                    await Task.Delay(TimeSpan.FromSeconds(1), time);
                    continue;
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

    /// <summary>Whether successive discovery answers have settled: the same set, naming this node, for <see cref="StableFor"/>.</summary>
    public sealed class StableAnswer(Address self, TimeProvider time)
    {
        private IReadOnlyList<Address> _last = [];
        private DateTimeOffset _since;

        public bool Settled(IReadOnlyList<Address> seeds)
        {
            var now = time.GetUtcNow();
            if (!seeds.SequenceEqual(_last))
            {
                _last = seeds;
                _since = now;
            }
            return seeds.Contains(self) && now - _since >= StableFor;
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
