using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Akka.WhatsApp.Host.Management;

/// <summary>The management HTTP API (routes compatible with Akka.Management where they overlap).</summary>
public static class ManagementRoutes
{
    public static IEndpointRouteBuilder MapManagement(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/health/alive", (NodeHealth health) => Answer(health.Alive()));
        routes.MapGet("/health/ready", async (NodeHealth health, CancellationToken ct) => Answer(await health.ReadyAsync(ct)));
        return routes;
    }

    private static IResult Answer(HealthReport report) =>
        Results.Json(new { status = report.Status, checks = report.Checks },
            statusCode: report.Ok ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
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
