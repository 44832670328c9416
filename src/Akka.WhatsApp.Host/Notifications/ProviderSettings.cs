using Akka.WhatsApp.Cluster.Notifications;
using Microsoft.Extensions.Configuration;

namespace Akka.WhatsApp.Host.Notifications;

/// <summary>
/// The third-party services a node talks to (PROTOCOL.md §16, README "Push and SMS"): APNs, FCM and Twilio, each on when
/// its variables are set, with credentials from the environment (files for keys), never from HOCON. A service given only
/// part of what it needs refuses the start, naming what is missing.
/// </summary>
public sealed record ProviderSettings
{
    public ApnsOptions? Apns { get; init; }
    public FcmOptions? Fcm { get; init; }
    public TwilioOptions? Twilio { get; init; }

    /// <summary>WA_PUSH_COALESCE_SECONDS: at most one push per device within this many seconds.</summary>
    public int CoalesceSeconds { get; init; } = 5;

    /// <summary>WA_PUSH_CA: a PEM file of certificates trusted besides the system's, for every provider.</summary>
    public string? TrustPemPath { get; init; }

    public bool PushEnabled => Apns is not null || Fcm is not null;

    public PushOptions PushOptions => new() { CoalesceWindow = TimeSpan.FromSeconds(CoalesceSeconds) };

    public static ProviderSettings From(IConfiguration config)
    {
        string? Text(string key) => config[key] is { Length: > 0 } v ? v.Trim() : null;
        var trust = Text("WA_PUSH_CA");
        var apns = Group(config, "APNs", "WA_APNS_KEY_FILE", "WA_APNS_KEY_ID", "WA_APNS_TEAM_ID", "WA_APNS_TOPIC");
        var fcm = Group(config, "FCM", "WA_FCM_CREDENTIALS");
        var twilio = Group(config, "Twilio", "WA_TWILIO_ACCOUNT_SID", "WA_TWILIO_AUTH_TOKEN", "WA_TWILIO_FROM");
        var apnsUrl = Text("WA_APNS_URL");
        var apnsSandboxUrl = Text("WA_APNS_SANDBOX_URL");
        var fcmProject = Text("WA_FCM_PROJECT");
        var fcmUrl = Text("WA_FCM_URL");
        var twilioVoiceFrom = Text("WA_TWILIO_VOICE_FROM");
        var twilioUrl = Text("WA_TWILIO_URL");
        var coalesce = config["WA_PUSH_COALESCE_SECONDS"] is { Length: > 0 } c
            ? int.TryParse(c, System.Globalization.CultureInfo.InvariantCulture, out var seconds) && seconds is >= 0 and <= 3600
                ? seconds
                : throw new InvalidOperationException($"WA_PUSH_COALESCE_SECONDS must be between 0 and 3600, not '{c}'")
            : 5;
        return new ProviderSettings
        {
            TrustPemPath = trust,
            CoalesceSeconds = coalesce,
            Apns = apns is null ? null : new ApnsOptions(apns[1], apns[2], ReadFile("WA_APNS_KEY_FILE", apns[0]), apns[3])
            {
                ProductionUrl = Url("WA_APNS_URL", apnsUrl) ?? ApnsOptions.Production,
                SandboxUrl = Url("WA_APNS_SANDBOX_URL", apnsSandboxUrl) ?? Url("WA_APNS_URL", apnsUrl) ?? ApnsOptions.Sandbox,
                TrustPemPath = trust,
            },
            Fcm = fcm is null ? null : new FcmOptions(ReadFile("WA_FCM_CREDENTIALS", fcm[0]))
            {
                Project = fcmProject ?? "",
                Url = Url("WA_FCM_URL", fcmUrl) ?? FcmOptions.DefaultUrl,
                TrustPemPath = trust,
            },
            Twilio = twilio is null ? null : new TwilioOptions(twilio[0], twilio[1], twilio[2], twilioVoiceFrom ?? "")
            {
                Url = Url("WA_TWILIO_URL", twilioUrl) ?? TwilioOptions.DefaultUrl,
                TrustPemPath = trust,
            },
        };
    }

    /// <summary>The values of <paramref name="keys"/> when all are set, null when none is; a part of them is refused.</summary>
    private static string[]? Group(IConfiguration config, string service, params string[] keys)
    {
        var values = keys.Select(k => config[k] is { Length: > 0 } v ? v.Trim() : null).ToArray();
        if (values.All(v => v is null))
            return null;
        var missing = keys.Where((_, i) => values[i] is null).ToList();
        return missing.Count == 0
            ? [.. values.Select(v => v!)]
            : throw new InvalidOperationException($"{service} is half configured: set {string.Join(", ", missing)} too (or unset {string.Join(", ", keys.Except(missing))})");
    }

    private static string ReadFile(string key, string path) => File.Exists(path)
        ? File.ReadAllText(path)
        : throw new InvalidOperationException($"{key} names {path}, which does not exist");

    private static Uri? Url(string key, string? text) => text is null ? null
        : Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "https" or "http"
            ? uri
            : throw new InvalidOperationException($"{key} must be an absolute http(s) URL, not '{text}'");

    /// <summary>The providers of the push pipeline, made once per node.</summary>
    public IReadOnlyList<IPushProvider> PushProviders(TimeProvider time)
    {
        var providers = new List<IPushProvider>();
        if (Apns is not null)
            providers.Add(new ApnsProvider(Apns, time));
        if (Fcm is not null)
            providers.Add(new FcmProvider(Fcm, time));
        return providers;
    }

    /// <summary>What the start log says about push and SMS.</summary>
    public string Describe(bool developmentSms) =>
        $"push {(PushEnabled ? "through " + string.Join(" and ", new[] { Apns is null ? null : "APNs", Fcm is null ? null : "FCM" }.OfType<string>()) : "off (set WA_APNS_* or WA_FCM_* to wake offline devices)")}; " +
        $"verification codes {(Twilio is not null ? "through Twilio" : developmentSms ? "through the development gateway (log and /dev/verification-codes)" : "not sent (no provider: registration fails)")}";
}
