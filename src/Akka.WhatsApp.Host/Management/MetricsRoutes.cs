using Akka.Actor;
using Akka.Cluster;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Prometheus;

namespace Akka.WhatsApp.Host.Management;

/// <summary>
/// The node's Prometheus registry and the gauges read at scrape time: shards and entities per region (asked of the
/// local shard regions, as GET /cluster/shards/{region} does) and cluster members by status as this node sees them.
/// The edge's and entities' own metrics are created in the same registry by <see cref="Edge.Monitoring.EdgeMetrics"/>
/// and <see cref="Cluster.Monitoring.EntityMetrics"/>. Beside them, prometheus-net's process metrics (CPU seconds,
/// resident and private memory, open handles, threads, GC collections) and the runtime's GC pause time, allocated
/// bytes and thread pool read at scrape time from the runtime's own counters (GC, ThreadPool). prometheus-net's
/// MeterAdapter published nothing of the runtime's System.Runtime meter here, so these are read directly. They
/// describe the process: nodes that share one (tests) show the same numbers.
/// </summary>
public sealed class NodeMetrics
{
    private readonly Counter _gcPause;
    private readonly Counter _allocated;
    private readonly Counter _workItems;
    private readonly Gauge _poolThreads;
    private readonly Gauge _poolQueue;
    private readonly IServiceProvider _services;
    private readonly Gauge _shards;
    private readonly Gauge _entities;
    private readonly Gauge _members;

    public NodeMetrics(CollectorRegistry registry, IServiceProvider services)
    {
        Registry = registry;
        _services = services;
        var factory = Metrics.WithCustomRegistry(registry);
        _shards = factory.CreateGauge("wa_shards", "Shards hosted by this node, per shard region (entity type).",
            new GaugeConfiguration { LabelNames = ["region"] });
        _entities = factory.CreateGauge("wa_entities", "Entities alive on this node, per shard region (entity type).",
            new GaugeConfiguration { LabelNames = ["region"] });
        _members = factory.CreateGauge("wa_cluster_members", "Cluster members by status, as this node sees them.",
            new GaugeConfiguration { LabelNames = ["status"] });
        _gcPause = factory.CreateCounter("dotnet_gc_pause_seconds_total", "Time the process spent paused in garbage collection.");
        _allocated = factory.CreateCounter("dotnet_gc_allocated_bytes_total", "Bytes allocated on the managed heap by the process.");
        _workItems = factory.CreateCounter("dotnet_thread_pool_work_items_total", "Work items the thread pool has completed.");
        _poolThreads = factory.CreateGauge("dotnet_thread_pool_threads", "Thread-pool threads that exist.");
        _poolQueue = factory.CreateGauge("dotnet_thread_pool_queue_length", "Work items queued for the thread pool, not started yet.");
        registry.AddBeforeCollectCallback(RefreshAsync);
        DotNetStats.Register(registry);
    }

    private void RefreshRuntime()
    {
        _gcPause.IncTo(GC.GetTotalPauseDuration().TotalSeconds);
        _allocated.IncTo(GC.GetTotalAllocatedBytes());
        _workItems.IncTo(ThreadPool.CompletedWorkItemCount);
        _poolThreads.Set(ThreadPool.ThreadCount);
        _poolQueue.Set(ThreadPool.PendingWorkItemCount);
    }

    public CollectorRegistry Registry { get; }

    private async Task RefreshAsync(CancellationToken cancellationToken)
    {
        RefreshRuntime();
        ActorSystem system;
        try
        {
            system = _services.GetRequiredService<ActorSystem>();
        }
        catch (Exception e) when (e is InvalidOperationException or NullReferenceException)
        {
            return; // not started yet: the scrape gets the edge's numbers only
        }
        // The entities' metrics exist once the first entity starts; a node that has none yet still shows them (as zero).
        Cluster.Monitoring.EntityMetrics.For(system);
        var state = Akka.Cluster.Cluster.Get(system).State;
        foreach (var status in Enum.GetValues<MemberStatus>())
            _members.WithLabels(status.ToString()).Set(state.Members.Count(m => m.Status == status));
        try
        {
            foreach (var region in await NodeStatistics.RegionsAsync(system, cancellationToken))
            {
                _shards.WithLabels(region.Region).Set(region.Shards);
                _entities.WithLabels(region.Region).Set(region.Entities);
            }
        }
        catch (AskTimeoutException)
        {
            // A region too busy to answer keeps its last values; the scrape itself must not fail.
        }
    }
}

public static class MetricsRoutes
{
    /// <summary>
    /// GET /metrics in the Prometheus text format. Open, unlike the cluster read routes: it carries no secrets and no
    /// identifiers (no user ids, phone numbers or node addresses, only counts per region and status), the management
    /// port is meant for the operators' network, and a scraper is then configured with nothing but the URL.
    /// </summary>
    public static IEndpointRouteBuilder MapMetrics(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/metrics", async (HttpContext context, NodeMetrics metrics) =>
        {
            context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            await metrics.Registry.CollectAndExportAsTextAsync(context.Response.Body, context.RequestAborted);
        });
        return routes;
    }
}
