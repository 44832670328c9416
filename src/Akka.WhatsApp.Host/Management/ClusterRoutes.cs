using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Akka.WhatsApp.Host.Management;

/// <summary>
/// Akka.Management's cluster HTTP routes and JSON shapes, served by the node itself: Akka.Management 1.5.73 restores
/// here but fails at run time (it needs Ceen.Httpd 0.9.9, which is not served; 0.9.10 throws MissingMethodException
/// at start), and so does Akka.Discovery.KubernetesApi 1.5.73 (a KubernetesClient version mismatch). Switch to it the
/// day a served version starts. Routes: members, one member, leave / down / join, and the shards of a region.
/// Mutating routes need the operator token (WA_MANAGEMENT_TOKEN, as "Authorization: Bearer"); without a token
/// configured they are refused. Read routes need it too unless WA_MANAGEMENT_READ_OPEN=on.
/// </summary>
public static class ClusterRoutes
{
    private static readonly TimeSpan ShardStatsTimeout = TimeSpan.FromSeconds(5);

    public sealed record ClusterMember(string Node, string NodeUid, string Status, IReadOnlyList<string> Roles);

    public sealed record ClusterUnreachableMember(string Node, IReadOnlyList<string> ObservedBy);

    public sealed record ClusterMembers(string SelfNode, IReadOnlyList<ClusterMember> Members, IReadOnlyList<ClusterUnreachableMember> Unreachable,
        string? Leader, string? Oldest, IReadOnlyDictionary<string, string?> OldestPerRole);

    public sealed record ShardRegionInfo(string ShardId, int NumEntities);

    public sealed record ShardDetails(IReadOnlyList<ShardRegionInfo> Regions);

    public static IEndpointRouteBuilder MapClusterRoutes(this IEndpointRouteBuilder routes, string? operatorToken, bool readOpen)
    {
        var access = new OperatorAccess(operatorToken, readOpen);
        IResult? Refused(HttpRequest request, bool mutating) => access.Refused(request, mutating);

        routes.MapGet("/cluster/members", (HttpRequest request, ActorSystem system) =>
            Refused(request, mutating: false) ?? Results.Json(Members(Akka.Cluster.Cluster.Get(system))));

        routes.MapGet("/cluster/members/{address}", (HttpRequest request, string address, ActorSystem system) =>
        {
            if (Refused(request, mutating: false) is { } refused)
                return refused;
            var cluster = Akka.Cluster.Cluster.Get(system);
            return Find(cluster, address) is { } member
                ? Results.Json(Describe(member))
                : Message($"Member [{address}] not found", StatusCodes.Status404NotFound);
        });

        routes.MapPut("/cluster/members/{address}", async (HttpRequest request, string address, ActorSystem system) =>
        {
            if (Refused(request, mutating: true) is { } refused)
                return refused;
            var operation = await OperationOf(request);
            return Operate(Akka.Cluster.Cluster.Get(system), address, operation);
        });

        routes.MapDelete("/cluster/members/{address}", (HttpRequest request, string address, ActorSystem system) =>
            Refused(request, mutating: true) ?? Operate(Akka.Cluster.Cluster.Get(system), address, "leave"));

        routes.MapGet("/cluster/shards/{region}", async (HttpRequest request, string region, ActorSystem system, CancellationToken ct) =>
        {
            if (Refused(request, mutating: false) is { } refused)
                return refused;
            IActorRef shards;
            try
            {
                shards = ClusterSharding.Get(system).ShardRegion(region);
            }
            catch (ArgumentException)
            {
                return Message($"no shard region [{region}] on this node", StatusCodes.Status404NotFound);
            }
            var stats = await shards.Ask<ShardRegionStats>(GetShardRegionStats.Instance, ShardStatsTimeout, ct);
            return Results.Json(new ShardDetails(stats.Stats.OrderBy(s => s.Key, StringComparer.Ordinal)
                .Select(s => new ShardRegionInfo(s.Key, s.Value)).ToList()));
        });
        return routes;
    }

    private static ClusterMembers Members(Akka.Cluster.Cluster cluster)
    {
        var state = cluster.State;
        var members = state.Members.Select(Describe).ToList();
        // Per-observer reachability records are internal to Akka.Cluster: the reachable members stand for the observers.
        var reachable = state.Members.Where(m => !state.Unreachable.Contains(m)).Select(m => m.Address.ToString()).ToList();
        var unreachable = state.Unreachable.Select(m => new ClusterUnreachableMember(m.Address.ToString(), reachable)).ToList();
        var up = state.Members.Where(m => m.Status == MemberStatus.Up).ToList();
        var oldest = up.Count == 0 ? null : up.Aggregate((a, b) => a.IsOlderThan(b) ? a : b);
        var oldestPerRole = state.Members.SelectMany(m => m.Roles).Distinct().ToDictionary(role => role, role =>
        {
            var withRole = up.Where(m => m.HasRole(role)).ToList();
            return withRole.Count == 0 ? null : withRole.Aggregate((a, b) => a.IsOlderThan(b) ? a : b).Address.ToString();
        });
        return new ClusterMembers(cluster.SelfAddress.ToString(), members, unreachable, state.Leader?.ToString(), oldest?.Address.ToString(), oldestPerRole);
    }

    private static ClusterMember Describe(Member m) =>
        new(m.Address.ToString(), m.UniqueAddress.Uid.ToString(System.Globalization.CultureInfo.InvariantCulture), m.Status.ToString(), [.. m.Roles.Order()]);

    /// <summary>A member by its full address (akka.tcp://system@host:port), as Akka.Management takes it.</summary>
    private static Member? Find(Akka.Cluster.Cluster cluster, string address)
    {
        var text = Uri.UnescapeDataString(address);
        return cluster.State.Members.Concat(cluster.State.Unreachable).FirstOrDefault(m => m.Address.ToString() == text);
    }

    private static async Task<string?> OperationOf(HttpRequest request)
    {
        if (request.HasFormContentType)
            return (await request.ReadFormAsync()).TryGetValue("operation", out var value) ? value.ToString() : null;
        if (request.HasJsonContentType())
        {
            try
            {
                var body = await request.ReadFromJsonAsync<Dictionary<string, string>>();
                return body?.GetValueOrDefault("operation");
            }
            catch (System.Text.Json.JsonException)
            {
                return null;
            }
        }
        return request.Query.TryGetValue("operation", out var query) ? query.ToString() : null;
    }

    private static IResult Operate(Akka.Cluster.Cluster cluster, string address, string? operation)
    {
        var text = Uri.UnescapeDataString(address);
        switch (operation?.Trim().ToLowerInvariant())
        {
            case "join":
                Address target;
                try
                {
                    target = Address.Parse(text);
                }
                catch (Exception e) when (e is UriFormatException or ArgumentException or FormatException)
                {
                    return Message($"[{text}] is not an address like akka.tcp://system@host:port", StatusCodes.Status400BadRequest);
                }
                cluster.Join(target);
                return Message($"Joining {target}", StatusCodes.Status200OK);
            case "leave":
                if (Find(cluster, address) is not { } leaving)
                    return Message($"Member [{text}] not found", StatusCodes.Status404NotFound);
                cluster.Leave(leaving.Address);
                return Message($"Leaving {leaving.Address}", StatusCodes.Status200OK);
            case "down":
                if (Find(cluster, address) is not { } downing)
                    return Message($"Member [{text}] not found", StatusCodes.Status404NotFound);
                cluster.Down(downing.Address);
                return Message($"Downing {downing.Address}", StatusCodes.Status200OK);
            default:
                return Message("operation must be Leave, Down or Join (form field or JSON property 'operation')", StatusCodes.Status400BadRequest);
        }
    }

    private static IResult Message(string message, int status) => Results.Json(new { message }, statusCode: status);
}
