using System.Net;
using System.Net.Http.Headers;
using System.Security;
using System.Text;
using System.Text.Json.Nodes;
using Akka.WhatsApp.Domain.Registration;
using Polly;

namespace Akka.WhatsApp.Cluster.Notifications;

/// <summary>WA_TWILIO_*: the account, its auth token and the sender (a number or a messaging service).</summary>
/// <param name="From">An E.164 number of the account, or a messaging service sid (MG…) for SMS.</param>
/// <param name="VoiceFrom">The number voice calls come from; empty = <paramref name="From"/> (which must then be a number).</param>
public sealed record TwilioOptions(string AccountSid, string AuthToken, string From, string VoiceFrom = "")
{
    public static readonly Uri DefaultUrl = new("https://api.twilio.com");

    public Uri Url { get; init; } = DefaultUrl;
    public string? TrustPemPath { get; init; }
    public int Retries { get; init; } = 2;
    public TimeSpan FirstRetryDelay { get; init; } = TimeSpan.FromMilliseconds(300);
}

/// <summary>
/// Verification codes through Twilio's REST API: an SMS (<c>POST /2010-04-01/Accounts/{sid}/Messages.json</c>) or, for
/// CODE_DELIVERY_VOICE, a call that reads the digits out (<c>Calls.json</c> with inline TwiML), with HTTP basic auth of
/// the account sid and auth token. 429 and 5xx are retried with backoff; anything else Twilio refuses (an invalid
/// number, a blocked region) throws, and the client is answered UNAVAILABLE.
/// </summary>
public sealed class TwilioSmsGateway : ISmsGateway, IDisposable
{
    private readonly TwilioOptions _options;
    private readonly HttpClient _http;
    private readonly ResiliencePipeline<HttpResponseMessage> _retries;

    public TwilioSmsGateway(TwilioOptions options, TimeProvider time)
    {
        _options = options;
        _http = ProviderHttp.Client(options.TrustPemPath, TimeSpan.FromSeconds(15));
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes(options.AccountSid + ":" + options.AuthToken)));
        _retries = ProviderHttp.Retries(options.Retries, options.FirstRetryDelay, time);
    }

    public async Task SendCodeAsync(string phone, string code, CodeChannel channel, CancellationToken cancellationToken)
    {
        var voice = channel == CodeChannel.Voice;
        var resource = $"/2010-04-01/Accounts/{Uri.EscapeDataString(_options.AccountSid)}/{(voice ? "Calls" : "Messages")}.json";
        using var response = await _retries.ExecuteAsync(async ct => await _http.PostAsync(new Uri(_options.Url, resource), Form(phone, code, voice), ct),
            cancellationToken);
        if (response.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK)
            return;
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        throw new InvalidOperationException($"Twilio refused the verification {(voice ? "call" : "SMS")}: {(int)response.StatusCode} {ErrorOf(body)}");
    }

    private FormUrlEncodedContent Form(string phone, string code, bool voice)
    {
        if (voice)
        {
            // Digits read one by one, twice.
            var digits = SecurityElement.Escape(string.Join(", ", code.ToCharArray()));
            var twiml = $"<Response><Say>Your verification code is {digits}.</Say><Pause length=\"1\"/><Say>Again: {digits}.</Say></Response>";
            return new FormUrlEncodedContent([new("To", phone), new("From", _options.VoiceFrom.Length > 0 ? _options.VoiceFrom : _options.From), new("Twiml", twiml)]);
        }
        var from = _options.From.StartsWith("MG", StringComparison.Ordinal) ? "MessagingServiceSid" : "From";
        return new FormUrlEncodedContent([new("To", phone), new(from, _options.From), new("Body", $"Your verification code is {code}. Do not share it with anyone.")]);
    }

    private static string ErrorOf(string body)
    {
        try
        {
            var error = JsonNode.Parse(body);
            return $"(code {error?["code"]}) {error?["message"]}";
        }
        catch (System.Text.Json.JsonException)
        {
            return body.Length > 200 ? body[..200] : body;
        }
    }

    public void Dispose() => _http.Dispose();
}
