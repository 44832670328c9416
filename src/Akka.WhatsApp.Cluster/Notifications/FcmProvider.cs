using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.WhatsApp.Domain.Accounts;
using Akka.WhatsApp.Domain.Notifications;
using Google.Apis.Auth.OAuth2;
using Google.Apis.Auth.OAuth2.Responses;
using Polly;

namespace Akka.WhatsApp.Cluster.Notifications;

/// <summary>WA_FCM_*: the Firebase project's service-account key (the JSON file the console hands out) and where FCM is.</summary>
public sealed record FcmOptions(string ServiceAccountJson)
{
    /// <summary>The project to send through; empty = the key's project_id.</summary>
    public string Project { get; init; } = "";
    public static readonly Uri DefaultUrl = new("https://fcm.googleapis.com");

    public Uri Url { get; init; } = DefaultUrl;
    public string? TrustPemPath { get; init; }
    public int RatePerSecond { get; init; } = 5000;
    public int Retries { get; init; } = 3;
    public TimeSpan FirstRetryDelay { get; init; } = TimeSpan.FromMilliseconds(200);
}

/// <summary>
/// Firebase Cloud Messaging, HTTP v1 (<c>POST /v1/projects/{project}/messages:send</c>). Access tokens come from the
/// service-account key through Google's auth library (the JWT-bearer grant, RS256, at the key's token_uri), cached until
/// shortly before they expire. Messages are data-only and high priority, so the app wakes and fetches; they carry a
/// type and a badge, nothing of the content.
/// </summary>
public sealed class FcmProvider : IPushProvider, IDisposable
{
    public const string Scope = "https://www.googleapis.com/auth/firebase.messaging";

    private readonly FcmOptions _options;
    private readonly HttpClient _http;
    private readonly ServiceAccountCredential _credential;
    private readonly ResiliencePipeline<HttpResponseMessage> _retries;
    private readonly Uri _send;

    public FcmProvider(FcmOptions options, TimeProvider time)
    {
        _options = options;
        var key = JsonNode.Parse(options.ServiceAccountJson) ?? throw new InvalidOperationException("WA_FCM_CREDENTIALS is not a service-account key");
        string Field(string name) => key[name]?.GetValue<string>() is { Length: > 0 } v
            ? v
            : throw new InvalidOperationException($"the FCM service-account key has no {name}");
        var project = options.Project.Length > 0 ? options.Project : Field("project_id");
        var tokenUri = key["token_uri"]?.GetValue<string>() is { Length: > 0 } uri ? uri : GoogleAuthConsts.OidcTokenUrl;
        _credential = new ServiceAccountCredential(new ServiceAccountCredential.Initializer(Field("client_email"), tokenUri)
        {
            Scopes = [Scope],
            HttpClientFactory = new TrustingFactory(options.TrustPemPath),
        }.FromPrivateKey(Field("private_key")));
        _http = ProviderHttp.Client(options.TrustPemPath, TimeSpan.FromSeconds(15));
        _retries = ProviderHttp.Retries(options.Retries, options.FirstRetryDelay, time);
        _send = new Uri(options.Url, $"/v1/projects/{Uri.EscapeDataString(project)}/messages:send");
    }

    public string Name => "fcm";

    public int Platform => PushRegistration.Fcm;

    public int RatePerSecond => _options.RatePerSecond;

    public async Task<PushOutcome> SendAsync(PushNotification push, CancellationToken cancellationToken)
    {
        try
        {
            var token = await _credential.GetAccessTokenForRequestAsync(cancellationToken: cancellationToken);
            using var response = await _retries.ExecuteAsync(async ct => await _http.SendAsync(Request(push, token), ct), cancellationToken);
            if (response.IsSuccessStatusCode)
                return new PushOutcome(push, PushResult.Sent, "ok");
            var reason = ReasonOf(await response.Content.ReadAsStringAsync(cancellationToken)) ?? ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
            return reason is "UNREGISTERED" or "INVALID_ARGUMENT"
                ? new PushOutcome(push, PushResult.TokenInvalid, reason)
                : new PushOutcome(push, PushResult.Failed, reason);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or TokenResponseException)
        {
            return new PushOutcome(push, PushResult.Failed, e is TokenResponseException ? "oauth" : "unreachable");
        }
    }

    /// <summary>FCM's error code (details[].errorCode, e.g. UNREGISTERED), else the status (INVALID_ARGUMENT, UNAVAILABLE).</summary>
    private static string? ReasonOf(string body)
    {
        try
        {
            var error = JsonNode.Parse(body)?["error"];
            if (error?["details"] is JsonArray details)
                foreach (var detail in details)
                    if (detail?["errorCode"]?.GetValue<string>() is { Length: > 0 } code)
                        return code;
            return error?["status"]?.GetValue<string>();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private HttpRequestMessage Request(PushNotification push, string accessToken)
    {
        var call = push.Kind == PushKind.Call;
        var message = new JsonObject
        {
            ["message"] = new JsonObject
            {
                ["token"] = push.Token,
                // Data only: the app decides what to show after it fetched; FCM data values are strings.
                ["data"] = new JsonObject { ["type"] = call ? "call" : "new_messages", ["badge"] = push.Badge.ToString(System.Globalization.CultureInfo.InvariantCulture) },
                ["android"] = new JsonObject
                {
                    ["priority"] = "HIGH",
                    ["collapse_key"] = push.CollapseId,
                    ["ttl"] = call ? "30s" : "86400s",
                },
            },
        };
        var request = new HttpRequestMessage(HttpMethod.Post, _send)
        {
            Content = new StringContent(message.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        return request;
    }

    public void Dispose() => _http.Dispose();

    /// <summary>The auth library's HTTP client, trusting WA_PUSH_CA as the push client does.</summary>
    private sealed class TrustingFactory(string? trust) : Google.Apis.Http.HttpClientFactory
    {
        protected override HttpMessageHandler CreateHandler(Google.Apis.Http.CreateHttpClientArgs args) =>
            trust is null ? base.CreateHandler(args) : ProviderHttp.Handler(trust);
    }
}
