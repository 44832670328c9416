using System.Reflection;
using Akka.Actor;
using Akka.Cluster;
using Akka.WhatsApp.Cluster.Monitoring;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Akka.WhatsApp.Host.Management;

/// <summary>
/// GET /dashboard: a live page of the cluster (one self-contained HTML file, no CDN) that polls GET /dashboard/state
/// every second and updates itself in place. The state is the whole cluster as the serving node sees it: every
/// member with its status, roles and leader/self flags, and each member's own numbers (connections, message totals,
/// shards and entities per region).
/// <para>
/// Other nodes' numbers come over Akka.Remote, not HTTP: every node runs a <see cref="NodeStatsActor"/> at the same
/// path (/user/node-stats), so the serving node needs nothing but the member addresses it already has — no
/// discovery of management ports (which differ per node, may be unreachable between pods, and are not in the
/// cluster membership). The request and the answer are Protobuf (<see cref="MonitoringSerializer"/>), as every
/// cross-node message is. Rates are computed by the page from the totals of two polls.
/// </para>
/// <para>
/// The page itself holds no data and is open; /dashboard/state follows the cluster read routes (it names every
/// member): the operator token unless WA_MANAGEMENT_READ_OPEN=on. The page sends the token given as ?token= in its URL.
/// </para>
/// </summary>
public static class DashboardRoutes
{
    private static readonly TimeSpan PeerTimeout = TimeSpan.FromSeconds(2);

    public sealed record RegionView(string Region, int Shards, int Entities);

    public sealed record NodeView(long Connections, long MessagesAccepted, long MessagesDelivered, long FramesReceived, long FramesSent,
        long MailboxPending, IReadOnlyList<RegionView> Regions);

    public sealed record MemberView(string Address, string Status, IReadOnlyList<string> Roles, bool Self, bool Leader, bool Reachable,
        NodeView? Stats, string? Error);

    public sealed record DashboardState(string Self, string? Leader, long At, IReadOnlyList<MemberView> Members);

    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder routes, string? operatorToken, bool readOpen)
    {
        var access = new OperatorAccess(operatorToken, readOpen);
        var page = Page();
        routes.MapGet("/dashboard", () => Results.Content(page, "text/html; charset=utf-8"));
        routes.MapGet("/dashboard/state", async (HttpRequest request, ActorSystem system, CancellationToken ct) =>
            access.Refused(request, mutating: false) ?? Results.Json(await StateAsync(system, ct)));
        return routes;
    }

    private static async Task<DashboardState> StateAsync(ActorSystem system, CancellationToken cancellationToken)
    {
        var cluster = Akka.Cluster.Cluster.Get(system);
        var state = cluster.State;
        var members = await Task.WhenAll(state.Members.OrderBy(m => m.Address.ToString(), StringComparer.Ordinal).Select(async m =>
        {
            var reachable = !state.Unreachable.Contains(m);
            var (stats, error) = !reachable ? (null, "unreachable")
                : m.Status is MemberStatus.Down or MemberStatus.Removed ? (null, m.Status.ToString().ToLowerInvariant())
                : await AskAsync(system, m.Address, cancellationToken);
            return new MemberView(m.Address.ToString(), m.Status.ToString(), [.. m.Roles.Order(StringComparer.Ordinal)], m.Address == cluster.SelfAddress,
                m.Address == state.Leader, reachable, stats, error);
        }));
        return new DashboardState(cluster.SelfAddress.ToString(), state.Leader?.ToString(), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), members);
    }

    private static async Task<(NodeView?, string?)> AskAsync(ActorSystem system, Address node, CancellationToken cancellationToken)
    {
        try
        {
            var s = await system.ActorSelection(NodeStatsActor.PathOn(node)).Ask<NodeStats>(GetNodeStats.Instance, PeerTimeout, cancellationToken);
            return (new NodeView(s.Connections, s.MessagesAccepted, s.MessagesDelivered, s.FramesReceived, s.FramesSent, s.MailboxPending,
                [.. s.Regions.Select(r => new RegionView(r.Region, r.Shards, r.Entities))]), null);
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
        {
            return (null, "did not answer in time");
        }
        catch (Exception e)
        {
            return (null, e.Message);
        }
    }

    private static string Page()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Akka.WhatsApp.Host.dashboard.html")
                           ?? throw new InvalidOperationException("the dashboard page is not embedded in the host assembly");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
