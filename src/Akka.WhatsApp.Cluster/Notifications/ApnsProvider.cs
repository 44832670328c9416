using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.WhatsApp.Domain.Accounts;
using Akka.WhatsApp.Domain.Notifications;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Polly;

namespace Akka.WhatsApp.Cluster.Notifications;

/// <summary>WA_APNS_*: the team's token-signing key and where APNs is.</summary>
/// <param name="PrivateKeyPem">The .p8 key (PKCS#8 PEM of a P-256 key) from the Apple developer account.</param>
/// <param name="Topic">The app's bundle id, used when a device registered no app id.</param>
public sealed record ApnsOptions(string TeamId, string KeyId, string PrivateKeyPem, string Topic)
{
    public static readonly Uri Production = new("https://api.push.apple.com");
    public static readonly Uri Sandbox = new("https://api.sandbox.push.apple.com");

    public Uri ProductionUrl { get; init; } = Production;
    public Uri SandboxUrl { get; init; } = Sandbox;
    public string? TrustPemPath { get; init; }
    public int RatePerSecond { get; init; } = 5000;
    public int Retries { get; init; } = 3;
    public TimeSpan FirstRetryDelay { get; init; } = TimeSpan.FromMilliseconds(200);
}

/// <summary>
/// Apple Push Notification service, token-based (HTTP/2, <c>POST /3/device/{token}</c>, an ES256 JWT of the team's key
/// in <c>authorization: bearer</c>, renewed every 40 minutes: Apple refuses tokens older than an hour and refreshing
/// more often than every 20). Alerts say only that messages arrived (a localization key the app translates, a badge);
/// calls go to the PushKit token with <c>apns-push-type: voip</c>.
/// </summary>
public sealed class ApnsProvider : IPushProvider, IDisposable
{
    private static readonly TimeSpan TokenLifetime = TimeSpan.FromMinutes(40);

    private readonly ApnsOptions _options;
    private readonly HttpClient _http;
    private readonly TimeProvider _time;
    private readonly ResiliencePipeline<HttpResponseMessage> _retries;
    private readonly ECDsa _key;
    private readonly Lock _gate = new();
    private (string Jwt, DateTimeOffset At)? _token;

    public ApnsProvider(ApnsOptions options, TimeProvider time)
    {
        _options = options;
        _time = time;
        _key = ECDsa.Create();
        _key.ImportFromPem(options.PrivateKeyPem);
        _http = ProviderHttp.Client(options.TrustPemPath, TimeSpan.FromSeconds(15));
        _retries = ProviderHttp.Retries(options.Retries, options.FirstRetryDelay, time);
    }

    public string Name => "apns";

    public int Platform => PushRegistration.Apns;

    public int RatePerSecond => _options.RatePerSecond;

    /// <summary>The provider token, made again once it is <see cref="TokenLifetime"/> old or APNs said it expired.</summary>
    private string Jwt(bool renew)
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            if (!renew && _token is { } t && now - t.At < TokenLifetime)
                return t.Jwt;
            var jwt = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
            {
                Issuer = _options.TeamId,
                IssuedAt = now.UtcDateTime,
                SigningCredentials = new SigningCredentials(new ECDsaSecurityKey(_key) { KeyId = _options.KeyId }, SecurityAlgorithms.EcdsaSha256),
            });
            _token = (jwt, now);
            return jwt;
        }
    }

    public async Task<PushOutcome> SendAsync(PushNotification push, CancellationToken cancellationToken)
    {
        var (status, reason) = await PostAsync(push, renew: false, cancellationToken);
        if (status == HttpStatusCode.Forbidden && reason == "ExpiredProviderToken")
            (status, reason) = await PostAsync(push, renew: true, cancellationToken);
        return status switch
        {
            HttpStatusCode.OK => new PushOutcome(push, PushResult.Sent, "ok"),
            HttpStatusCode.Gone => new PushOutcome(push, PushResult.TokenInvalid, reason ?? "Unregistered"),
            HttpStatusCode.BadRequest when reason is "BadDeviceToken" or "DeviceTokenNotForTopic" => new PushOutcome(push, PushResult.TokenInvalid, reason),
            _ => new PushOutcome(push, PushResult.Failed, reason ?? ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture)),
        };
    }

    private async Task<(HttpStatusCode Status, string? Reason)> PostAsync(PushNotification push, bool renew, CancellationToken cancellationToken)
    {
        var jwt = Jwt(renew);
        try
        {
            using var response = await _retries.ExecuteAsync(async ct => await _http.SendAsync(Request(push, jwt), ct), cancellationToken);
            if (response.StatusCode == HttpStatusCode.OK)
                return (response.StatusCode, null);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            return (response.StatusCode, ReasonOf(body));
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return (HttpStatusCode.ServiceUnavailable, "unreachable");
        }
    }

    private static string? ReasonOf(string body)
    {
        try
        {
            return JsonDocument.Parse(body).RootElement.TryGetProperty("reason", out var r) ? r.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private HttpRequestMessage Request(PushNotification push, string jwt)
    {
        var registration = push.Registration;
        var host = registration.Sandbox ? _options.SandboxUrl : _options.ProductionUrl;
        var topic = registration.AppId.Length > 0 ? registration.AppId : _options.Topic;
        var call = push.Kind == PushKind.Call;
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(host, "/3/device/" + Uri.EscapeDataString(push.Token)))
        {
            Content = new StringContent(Payload(push), Encoding.UTF8, "application/json"),
            // APNs speaks HTTP/2 only (a request message does not take the client's default version).
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("bearer", jwt);
        request.Headers.Add("apns-topic", call ? topic + ".voip" : topic);
        request.Headers.Add("apns-push-type", call ? "voip" : "alert");
        request.Headers.Add("apns-priority", "10");
        // A message push may wait a day for the phone; a call rings now or never.
        request.Headers.Add("apns-expiration", call ? "0"
            : _time.GetUtcNow().AddDays(1).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.Add("apns-collapse-id", push.CollapseId);
        return request;
    }

    /// <summary>No content, ever: a localization key the app shows as "New messages", the badge, and for calls only that one rings.</summary>
    public static string Payload(PushNotification push) => (push.Kind == PushKind.Call
        ? new JsonObject { ["aps"] = new JsonObject(), ["type"] = "call" }
        : new JsonObject
        {
            ["aps"] = new JsonObject { ["alert"] = new JsonObject { ["loc-key"] = "NEW_MESSAGES" }, ["badge"] = push.Badge, ["sound"] = "default" },
        }).ToJsonString();

    public void Dispose()
    {
        _http.Dispose();
        _key.Dispose();
    }
}
