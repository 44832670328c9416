using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Akka.WhatsApp.Host.Management;

/// <summary>The management HTTP API (routes compatible with Akka.Management where they overlap).</summary>
public static class ManagementRoutes
{
    /// <summary>The health-check tags of /health/alive (the actor system runs) and /health/ready (cluster Up, journal answering).</summary>
    public const string Alive = "alive";
    public const string Ready = "ready";

    public static IEndpointRouteBuilder MapManagement(this IEndpointRouteBuilder routes)
    {
        routes.MapHealthChecks("/health/alive", Options(Alive));
        routes.MapHealthChecks("/health/ready", Options(Ready));
        return routes;
    }

    private static Microsoft.AspNetCore.Diagnostics.HealthChecks.HealthCheckOptions Options(string tag) => new()
    {
        Predicate = check => check.Tags.Contains(tag),
        ResultStatusCodes =
        {
            [Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy] = StatusCodes.Status200OK,
            [Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Degraded] = StatusCodes.Status200OK,
            [Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
        },
        // {"status": "Healthy", "checks": {"<name>": {"status": ..., "description": ...}}}: which check failed, and why.
        ResponseWriter = (context, report) =>
        {
            context.Response.ContentType = "application/json";
            return context.Response.WriteAsJsonAsync(new
            {
                status = report.Status.ToString(),
                checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), description = e.Value.Description }),
            });
        },
    };
}

/// <summary>Routes that exist only with the development SMS gateway.</summary>
public static class DevelopmentRoutes
{
    public static IEndpointRouteBuilder MapDevelopmentRoutes(this IEndpointRouteBuilder routes, bool open = false)
    {
        routes.MapGet("/dev/verification-codes/{phone}", (string phone, HttpContext http, Registration.DevelopmentSmsGateway sms) =>
            !open && !(http.Connection.RemoteIpAddress is { } caller && System.Net.IPAddress.IsLoopback(caller))
                ? Results.Json(new { error = "the development codes answer loopback callers only (WA_DEV_SMS_OPEN=on opens them)" }, statusCode: StatusCodes.Status403Forbidden)
                : sms.LatestCode(phone) is { } code
                ? Results.Json(new { phone, code })
                : Results.Json(new { error = $"no code was sent to {phone} by this node" }, statusCode: StatusCodes.Status404NotFound));
        return routes;
    }
}
