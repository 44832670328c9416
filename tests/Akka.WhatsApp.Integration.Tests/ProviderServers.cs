using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Akka.WhatsApp.Cluster.Notifications;
using Akka.WhatsApp.Host.Notifications;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Akka.WhatsApp.Integration.Tests;

/// <summary>One request a provider server accepted or refused, as it arrived.</summary>
public sealed record ProviderRequest(string Service, string Path, IReadOnlyDictionary<string, string> Headers, string Body, DateTimeOffset At, int Status)
{
    public string Header(string name) => Headers.TryGetValue(name, out var v) ? v : "";
}

/// <summary>
/// Local servers speaking the real wire formats of the services the node calls but that cannot run here (the tests'
/// only stand-ins, as the README allows): APNs (HTTP/2 over TLS, the provider token's ES256 signature checked with the
/// team key), Google's OAuth token endpoint (the service account's RS256 assertion checked) with the FCM HTTP v1 send
/// endpoint (the access token checked), and Twilio's Messages/Calls resources (basic auth checked). One Kestrel on a
/// loopback port with a self-signed certificate the node is told to trust (WA_PUSH_CA).
/// </summary>
public sealed class ProviderServers : IAsyncDisposable
{
    public const string TeamId = "TEAM123456";
    public const string KeyId = "KEY7654321";
    public const string Topic = "com.example.wa";
    public const string Project = "wa-test";
    public const string ClientEmail = "push@wa-test.iam.gserviceaccount.com";
    public const string TwilioSid = "AC0123456789abcdef0123456789abcdef";
    public const string TwilioToken = "twilio-auth-token";
    public const string TwilioFrom = "+15550001111";

    private readonly WebApplication _app;
    private readonly ECDsa _apnsKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly RSA _fcmKey = RSA.Create(2048);
    private readonly ConcurrentDictionary<string, bool> _accessTokens = new();
    private int _failNext;

    public ConcurrentQueue<ProviderRequest> Requests { get; } = new();

    /// <summary>APNs answers 410 Unregistered for these device tokens; FCM answers 404 UNREGISTERED.</summary>
    public ConcurrentDictionary<string, bool> GoneTokens { get; } = new();

    /// <summary>Phone numbers Twilio refuses with 400 (21211, an invalid To).</summary>
    public ConcurrentDictionary<string, bool> RefusedPhones { get; } = new();

    /// <summary>The next <paramref name="count"/> push requests are answered 503 with Retry-After: 1 (an outage).</summary>
    public void FailNext(int count) => Interlocked.Exchange(ref _failNext, count);

    public Uri Url { get; private set; } = null!;

    public string CaPath { get; }

    private ProviderServers(WebApplication app, string caPath)
    {
        _app = app;
        CaPath = caPath;
    }

    public static async Task<ProviderServers> StartAsync()
    {
        var certificate = Akka.WhatsApp.LoadTest.Core.PushSink.LoopbackCertificate("wa-test-providers");
        var caPath = Path.Combine(Directory.CreateTempSubdirectory("wa-providers-").FullName, "ca.pem");
        await File.WriteAllTextAsync(caPath, certificate.ExportCertificatePem());
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen =>
        {
            listen.Protocols = HttpProtocols.Http1AndHttp2;
            listen.UseHttps(certificate);
        }));
        var app = builder.Build();
        var servers = new ProviderServers(app, caPath);
        servers.Map(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        servers.Url = new Uri(address.Replace("[::1]", "127.0.0.1", StringComparison.Ordinal));
        return servers;
    }

    /// <summary>What a node needs to use these servers for APNs, FCM and (when <paramref name="sms"/>) Twilio.</summary>
    public ProviderSettings Settings(bool sms = false, int coalesceSeconds = 30) => new()
    {
        TrustPemPath = CaPath,
        CoalesceSeconds = coalesceSeconds,
        Apns = new ApnsOptions(TeamId, KeyId, _apnsKey.ExportPkcs8PrivateKeyPem(), Topic)
        {
            ProductionUrl = Url, SandboxUrl = Url, TrustPemPath = CaPath, FirstRetryDelay = TimeSpan.FromMilliseconds(100),
        },
        Fcm = new FcmOptions(ServiceAccountJson()) { Url = Url, TrustPemPath = CaPath, FirstRetryDelay = TimeSpan.FromMilliseconds(100) },
        Twilio = sms ? new TwilioOptions(TwilioSid, TwilioToken, TwilioFrom) { Url = Url, TrustPemPath = CaPath } : null,
    };

    /// <summary>The key file the Firebase console hands out, for this server's token endpoint.</summary>
    public string ServiceAccountJson() => new JsonObject
    {
        ["type"] = "service_account",
        ["project_id"] = Project,
        ["private_key_id"] = "k1",
        ["private_key"] = _fcmKey.ExportPkcs8PrivateKeyPem(),
        ["client_email"] = ClientEmail,
        ["token_uri"] = new Uri(Url, "/token").ToString(),
    }.ToJsonString();

    public IReadOnlyList<ProviderRequest> For(string service, string token) =>
        [.. Requests.Where(r => r.Service == service && (r.Path.Contains(token, StringComparison.Ordinal) || r.Body.Contains(token, StringComparison.Ordinal)))];

    private void Map(WebApplication app)
    {
        app.MapPost("/3/device/{token}", async (HttpContext http, string token) =>
        {
            var body = await new StreamReader(http.Request.Body).ReadToEndAsync();
            var (status, reason) = await ApnsAnswerAsync(http, token);
            Record("apns", http, body, status);
            return reason is null ? Results.Ok() : Results.Json(new { reason }, statusCode: status);
        });
        app.MapPost("/token", async (HttpContext http) =>
        {
            var form = await http.Request.ReadFormAsync();
            var invalid = form["grant_type"] != "urn:ietf:params:oauth:grant-type:jwt-bearer" ? "grant_type" : await InvalidAssertionAsync(form["assertion"].ToString());
            var valid = invalid is null;
            Record("oauth", http, invalid ?? "", valid ? 200 : 400);
            if (!valid)
                return Results.Json(new { error = "invalid_grant" }, statusCode: 400);
            var access = "ya29.test-" + Guid.NewGuid().ToString("N");
            _accessTokens[access] = true;
            return Results.Json(new { access_token = access, expires_in = 3600, token_type = "Bearer" });
        });
        app.MapPost("/v1/projects/{project}/messages:send", async (HttpContext http, string project) =>
        {
            var body = await new StreamReader(http.Request.Body).ReadToEndAsync();
            var bearer = http.Request.Headers.Authorization.ToString();
            int status;
            IResult result;
            if (project != Project || !bearer.StartsWith("Bearer ", StringComparison.Ordinal) || !_accessTokens.ContainsKey(bearer[7..]))
                (status, result) = (401, Results.Json(new { error = new { code = 401, status = "UNAUTHENTICATED" } }, statusCode: 401));
            else if (Interlocked.Decrement(ref _failNext) >= 0)
                (status, result) = (503, Unavailable(http, new { error = new { code = 503, status = "UNAVAILABLE" } }));
            else if (JsonNode.Parse(body)?["message"]?["token"]?.GetValue<string>() is { } token && GoneTokens.ContainsKey(token))
                (status, result) = (404, Results.Json(new
                {
                    error = new
                    {
                        code = 404, status = "NOT_FOUND",
                        details = new object[] { new Dictionary<string, string> { ["@type"] = "type.googleapis.com/google.firebase.fcm.v1.FcmError", ["errorCode"] = "UNREGISTERED" } },
                    },
                }, statusCode: 404));
            else
                (status, result) = (200, Results.Json(new { name = $"projects/{Project}/messages/{Guid.NewGuid():N}" }));
            Record("fcm", http, body, status);
            return result;
        });
        app.MapPost("/2010-04-01/Accounts/{sid}/{resource}", async (HttpContext http, string sid, string resource) =>
        {
            var form = await http.Request.ReadFormAsync();
            var body = string.Join("&", form.Select(f => $"{f.Key}={f.Value}"));
            var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(TwilioSid + ":" + TwilioToken));
            var service = resource == "Calls.json" ? "twilio-call" : "twilio-sms";
            if (sid != TwilioSid || http.Request.Headers.Authorization != expected || resource is not ("Messages.json" or "Calls.json"))
            {
                Record(service, http, body, 401);
                return Results.Json(new { code = 20003, message = "Authenticate", status = 401 }, statusCode: 401);
            }
            if (RefusedPhones.ContainsKey(form["To"].ToString()))
            {
                Record(service, http, body, 400);
                return Results.Json(new { code = 21211, message = "Invalid 'To' Phone Number", status = 400 }, statusCode: 400);
            }
            Record(service, http, body, 201);
            return Results.Json(new { sid = (resource == "Calls.json" ? "CA" : "SM") + Guid.NewGuid().ToString("N"), status = "queued" }, statusCode: 201);
        });
    }

    private async Task<(int Status, string? Reason)> ApnsAnswerAsync(HttpContext http, string token)
    {
        if (http.Request.Protocol != "HTTP/2")
            return (400, "BadRequest: not HTTP/2");
        var authorization = http.Request.Headers.Authorization.ToString();
        if (!authorization.StartsWith("bearer ", StringComparison.Ordinal) || !await ValidProviderTokenAsync(authorization[7..]))
            return (403, "InvalidProviderToken");
        var topic = http.Request.Headers["apns-topic"].ToString();
        var type = http.Request.Headers["apns-push-type"].ToString();
        if (!(type == "alert" && topic == Topic || type == "voip" && topic == Topic + ".voip"))
            return (400, "TopicDisallowed");
        if (Interlocked.Decrement(ref _failNext) >= 0)
        {
            http.Response.Headers.RetryAfter = "1";
            return (503, "ServiceUnavailable");
        }
        return GoneTokens.ContainsKey(token) ? (410, "Unregistered") : (200, null);
    }

    private static IResult Unavailable(HttpContext http, object body)
    {
        http.Response.Headers.RetryAfter = "1";
        return Results.Json(body, statusCode: 503);
    }

    private async Task<bool> ValidProviderTokenAsync(string jwt)
    {
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(jwt, new TokenValidationParameters
        {
            IssuerSigningKey = new ECDsaSecurityKey(ECDsa.Create(_apnsKey.ExportParameters(false))) { KeyId = KeyId },
            ValidIssuer = TeamId,
            ValidateAudience = false,
            ValidateLifetime = false,
            RequireExpirationTime = false,
            ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
        });
        return result.IsValid && result.SecurityToken is JsonWebToken t && t.Kid == KeyId
               && t.TryGetPayloadValue<long>("iat", out var iat) && Math.Abs(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - iat) < 3600;
    }

    /// <summary>Why the assertion is not one Google would take (null: it is).</summary>
    private async Task<string?> InvalidAssertionAsync(string jwt)
    {
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(jwt, new TokenValidationParameters
        {
            IssuerSigningKey = new RsaSecurityKey(_fcmKey.ExportParameters(false)),
            ValidIssuer = ClientEmail,
            // Google's token endpoint wants its own URL as the audience, wherever the key's token_uri points.
            ValidAudience = "https://oauth2.googleapis.com/token",
            ValidAlgorithms = [SecurityAlgorithms.RsaSha256],
        });
        if (!result.IsValid)
            return (result.Exception?.Message ?? "invalid");
        return result.SecurityToken is JsonWebToken t && t.TryGetPayloadValue<string>("scope", out var scope) && scope == FcmProvider.Scope ? null : "scope";
    }

    private void Record(string service, HttpContext http, string body, int status) => Requests.Enqueue(new ProviderRequest(service, http.Request.Path,
        http.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString()), body, DateTimeOffset.UtcNow, status));

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _apnsKey.Dispose();
        _fcmKey.Dispose();
    }
}
