using Akka.WhatsApp.Domain.Media;
using Akka.WhatsApp.Media.Local;
using Akka.WhatsApp.Media.S3;
using Microsoft.Extensions.Configuration;

namespace Akka.WhatsApp.Host.Media;

/// <summary>
/// Where a node keeps media (PROTOCOL.md §12, README "Media"): S3 (MinIO or any S3-compatible store) when WA_S3_ENDPOINT
/// is set, else the local disk under the data folder, served on a media HTTP port of its own with signed URLs (the
/// embedded default; one node, or nodes sharing the folder and WA_MEDIA_SECRET). Credentials come from the
/// environment only, never from HOCON.
/// </summary>
public sealed record MediaStoreSettings
{
    /// <summary>WA_S3_*: the S3 store, or null for the local one.</summary>
    public S3MediaOptions? S3 { get; init; }

    /// <summary>WA_MEDIA_HOST / WA_MEDIA_PORT: the local store's HTTP listener.</summary>
    public string Host { get; init; } = "0.0.0.0";

    public int Port { get; init; } = 8559;

    /// <summary>WA_MEDIA_PUBLIC_URL: the base of the local store's URLs as clients reach it (default http://127.0.0.1:{port}/).</summary>
    public Uri? PublicUrl { get; init; }

    /// <summary>WA_MEDIA_SECRET: base64 of the local store's URL-signing key (≥ 32 bytes); default: one made once and kept in the data folder.</summary>
    public byte[]? Secret { get; init; }

    /// <summary>WA_MEDIA_RETENTION_DAYS: how long chat media stays downloadable after upload.</summary>
    public int RetentionDays { get; init; } = 30;

    /// <summary>WA_MEDIA_UPLOADS_PER_MINUTE / WA_MEDIA_DAILY_MB: each user's upload rate and bytes per 24 hours.</summary>
    public int UploadsPerMinute { get; init; } = 60;

    public int DailyMegabytes { get; init; } = 10 * 1024;

    public MediaPolicy Policy => new()
    {
        ChatRetention = TimeSpan.FromDays(RetentionDays), UploadsPerMinute = UploadsPerMinute, DailyBytes = (long)DailyMegabytes << 20,
    };

    public string Describe(string dataDirectory) => S3 is { } s3
        ? $"S3 at {(s3.UseTls ? "https" : "http")}://{s3.Endpoint}, bucket {s3.Bucket}"
        : $"local disk {Path.GetFullPath(Path.Combine(dataDirectory, "media"))}, served on {Host}:{Port}";

    public static MediaStoreSettings From(IConfiguration config)
    {
        string? Text(string key) => config[key] is { Length: > 0 } v ? v.Trim() : null;
        int Number(string key, int fallback, int min, int max) => Text(key) is not { } text ? fallback
            : int.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var n) && n >= min && n <= max ? n
            : throw new InvalidOperationException($"{key} must be between {min} and {max}, not '{text}'");
        // Every key is read whether or not the others are set, so that HostSettings.Variables lists them all.
        var (endpoint, access, secret, bucket, region, tls, create) = (Text("WA_S3_ENDPOINT"), Text("WA_S3_ACCESS_KEY"), Text("WA_S3_SECRET_KEY"),
            Text("WA_S3_BUCKET"), Text("WA_S3_REGION"), Text("WA_S3_TLS"), Text("WA_S3_CREATE_BUCKET"));
        var publicUrl = Text("WA_MEDIA_PUBLIC_URL");
        var signing = Text("WA_MEDIA_SECRET");
        var settings = new MediaStoreSettings
        {
            Host = Text("WA_MEDIA_HOST") ?? "0.0.0.0",
            Port = Number("WA_MEDIA_PORT", 8559, 0, 65535),
            PublicUrl = publicUrl is null ? null
                : Uri.TryCreate(publicUrl, UriKind.Absolute, out var u) && u.Scheme is "http" or "https" ? u
                : throw new InvalidOperationException($"WA_MEDIA_PUBLIC_URL must be an absolute http(s) URL, not '{publicUrl}'"),
            Secret = signing is null ? null : DecodeSecret(signing),
            RetentionDays = Number("WA_MEDIA_RETENTION_DAYS", 30, 1, 3650),
            UploadsPerMinute = Number("WA_MEDIA_UPLOADS_PER_MINUTE", 60, 1, 100_000),
            DailyMegabytes = Number("WA_MEDIA_DAILY_MB", 10 * 1024, 1, int.MaxValue),
        };
        if (endpoint is null)
            return settings;
        string Required(string key, string? value) => value ?? throw new InvalidOperationException($"WA_S3_ENDPOINT is set: {key} is required too");
        return settings with
        {
            S3 = new S3MediaOptions
            {
                Endpoint = endpoint, AccessKey = Required("WA_S3_ACCESS_KEY", access), SecretKey = Required("WA_S3_SECRET_KEY", secret),
                Bucket = Required("WA_S3_BUCKET", bucket), Region = region ?? "us-east-1", UseTls = Flag("WA_S3_TLS", tls), CreateBucket = Flag("WA_S3_CREATE_BUCKET", create),
            },
        };
    }

    /// <summary>The store these settings name, not started yet.</summary>
    public IMediaStore CreateStore(string dataDirectory, TimeProvider time)
    {
        if (S3 is { } s3)
            return new S3MediaStore(s3);
        var root = Path.GetFullPath(Path.Combine(dataDirectory, "media"));
        return new LocalDiskMediaStore(new LocalMediaOptions
        {
            Root = root, BindAddress = Host, Port = Port, Time = time, Secret = Secret ?? KeptSecret(dataDirectory),
            // Port 0 (tests: any free port) leaves the URL to the store, which knows the port it bound.
            PublicBaseUrl = PublicUrl ?? (Port == 0 ? null : new Uri($"http://{(Host is "0.0.0.0" or "::" ? "127.0.0.1" : Host)}:{Port}/")),
        });
    }

    /// <summary>The signing key made on first start and kept (mode 600) in the data folder, so URLs survive a restart.</summary>
    private static byte[] KeptSecret(string dataDirectory)
    {
        Directory.CreateDirectory(dataDirectory);
        var path = Path.Combine(dataDirectory, "media-secret");
        if (!File.Exists(path))
        {
            var fresh = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            try
            {
                using var file = new FileStream(path, options);
                file.Write(fresh);
            }
            catch (IOException) when (File.Exists(path))
            {
                // Another node of this process made it first (tests): read theirs.
            }
        }
        var secret = File.ReadAllBytes(path);
        return secret.Length >= 32 ? secret : throw new InvalidOperationException($"{path} holds {secret.Length} bytes, not a 32-byte key: remove it to make a new one");
    }

    private static byte[] DecodeSecret(string base64)
    {
        try
        {
            var key = Convert.FromBase64String(base64);
            return key.Length >= 32 ? key : throw new InvalidOperationException($"WA_MEDIA_SECRET must be at least 32 bytes, base64; it is {key.Length}");
        }
        catch (FormatException)
        {
            throw new InvalidOperationException("WA_MEDIA_SECRET must be base64 (e.g. `head -c 32 /dev/urandom | base64`)");
        }
    }

    private static bool Flag(string key, string? value) => value?.ToLowerInvariant() switch
    {
        null => false,
        "on" or "true" or "1" or "yes" => true,
        "off" or "false" or "0" or "no" => false,
        _ => throw new InvalidOperationException($"{key} must be on or off, not '{value}'"),
    };
}
