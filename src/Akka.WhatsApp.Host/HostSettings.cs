using Microsoft.Extensions.Configuration;

namespace Akka.WhatsApp.Host;

/// <summary>Which journal and snapshot store the node uses.</summary>
public enum JournalKind
{
    /// <summary>A SQLite file: the embedded default for a single node.</summary>
    Sqlite,

    /// <summary>PostgreSQL: production and every multi-node cluster.</summary>
    Postgres,
}

/// <summary>
/// What differs per deployment, read from environment variables (WA_*) or any other configuration source.
/// Tuning lives in HOCON/; secrets never do.
/// </summary>
public sealed record HostSettings
{
    public string ActorSystemName { get; init; } = "whatsapp";

    /// <summary>WA_EDGE_HOST / WA_EDGE_PORT: the client TCP listener.</summary>
    public string EdgeHost { get; init; } = "0.0.0.0";
    public int EdgePort { get; init; } = 5222;

    /// <summary>
    /// WA_MANAGEMENT_HOST / WA_MANAGEMENT_PORT: health, cluster and metrics over HTTP. Loopback unless configured: other
    /// hosts reach it only when the operator says so (the image sets 0.0.0.0 for port publishing and probes).
    /// </summary>
    public string ManagementHost { get; init; } = "127.0.0.1";
    public int ManagementPort { get; init; } = 8558;

    /// <summary>WA_REMOTE_HOST / WA_REMOTE_PORT / WA_PUBLIC_HOST: Akka.Remote between cluster nodes.</summary>
    public string RemoteHost { get; init; } = "127.0.0.1";
    public int RemotePort { get; init; } = 4053;
    public string? PublicHost { get; init; }

    /// <summary>WA_SEED_NODES: comma-separated akka.tcp addresses; empty means this node forms its own cluster.</summary>
    public IReadOnlyList<string> SeedNodes { get; init; } = [];

    /// <summary>
    /// WA_DISCOVERY_ENDPOINTS: comma-separated host:port (Akka.Remote) of the cluster's nodes, resolved through
    /// Akka.Discovery's config method and joined as seed nodes when WA_SEED_NODES is empty.
    /// </summary>
    public IReadOnlyList<string> DiscoveryEndpoints { get; init; } = [];

    /// <summary>
    /// WA_DISCOVERY_DNS: host:port, a DNS name whose A/AAAA records are the cluster's nodes (a Kubernetes headless
    /// Service with publishNotReadyAddresses), looked up anew at each attempt, so scaling needs no list edited by hand.
    /// The nodes are then known by their IP addresses: each must advertise its own (WA_PUBLIC_HOST = the pod IP).
    /// </summary>
    public string? DiscoveryDns { get; init; }

    /// <summary>
    /// WA_ROLES: comma-separated cluster roles of this node. <c>edge</c> serves clients, <c>entities</c> hosts the
    /// shards (mailboxes, accounts, groups); other roles are labels. Empty means both.
    /// </summary>
    public IReadOnlyList<string> Roles { get; init; } = [];

    public const string EdgeRole = "edge";
    public const string EntitiesRole = "entities";

    /// <summary>The roles the node joins with: both edge and entities when none are configured.</summary>
    public IReadOnlyList<string> EffectiveRoles => Roles.Count == 0 ? [EdgeRole, EntitiesRole] : Roles;

    public bool ServesClients => EffectiveRoles.Contains(EdgeRole);

    /// <summary>WA_CALL_RING_SECONDS: how long a call rings before it ends NO_ANSWER (and leaves a missed call), §15.</summary>
    public int CallRingSeconds { get; init; } = 45;

    /// <summary>
    /// WA_TURN_URLS (comma-separated turn:/turns: URLs), WA_TURN_SECRET (coturn's static-auth-secret) and
    /// WA_TURN_TTL_SECONDS (default a day): the relays GetCallRelays hands out credentials for; none without URLs.
    /// </summary>
    public Domain.Calls.TurnSettings? Turn { get; init; }

    /// <summary>WA_DRAIN_SECONDS: how long a stopping node waits for its clients to move after the Reconnect hint.</summary>
    public int DrainSeconds { get; init; } = 10;

    /// <summary>
    /// WA_SBR_STABLE_AFTER: seconds the membership must be stable before the split-brain resolver (keep-majority)
    /// downs the unreachable side. Lower reacts faster to a dead node, higher tolerates longer pauses.
    /// </summary>
    public int SplitBrainStableAfterSeconds { get; init; } = 20;

    /// <summary>WA_JOURNAL: sqlite (default) or postgres.</summary>
    public JournalKind Journal { get; init; } = JournalKind.Sqlite;

    /// <summary>WA_DATA_DIR: where the embedded SQLite file lives.</summary>
    public string DataDirectory { get; init; } = "data";

    /// <summary>WA_POSTGRES: the Npgsql connection string when WA_JOURNAL=postgres.</summary>
    public string? PostgresConnectionString { get; init; }

    /// <summary>WA_SHARDS: shards per entity type.</summary>
    public int NumberOfShards { get; init; } = 100;

    /// <summary>WA_HEARTBEAT_SECONDS: the client ping interval announced in Welcome.</summary>
    public int HeartbeatSeconds { get; init; } = 30;

    /// <summary>WA_MAX_FRAME: the largest frame in bytes.</summary>
    public int MaxFrameSize { get; init; } = Protocol.Framing.FrameCodec.DefaultMaxFrameSize;

    /// <summary>WA_SEND_RATE: 1:1 sends per second allowed per connection (bursts of twice that).</summary>
    public int SendRate { get; init; } = 200;

    /// <summary>
    /// WA_LOGIN_FAILURES_PER_ADDRESS / WA_LOGIN_FAILURES_PER_ACCOUNT: failed logins (and code verifications) a client
    /// address, or an account, may have per minute on a node before it is answered RATE_LIMITED for the rest of the minute.
    /// WA_CODE_REQUESTS_PER_ADDRESS: verification codes one address may request per 10 minutes (each is an SMS).
    /// An IPv6 client counts by its /64.
    /// </summary>
    public int LoginFailuresPerAddress { get; init; } = 20;
    public int LoginFailuresPerAccount { get; init; } = 10;
    public int CodeRequestsPerAddress { get; init; } = 20;

    /// <summary>WA_GROUP_MAX_MEMBERS: the most members a group may have (the requirements ask for 1,024).</summary>
    public int MaxGroupMembers { get; init; } = 1024;

    /// <summary>WA_GROUP_FANOUT_PARALLELISM: member mailboxes one group writes to at the same time.</summary>
    public int GroupFanOutParallelism { get; init; } = 1024;

    /// <summary>WA_SNAPSHOT_EVERY: events between mailbox snapshots; older events are deleted once a snapshot covers them.</summary>
    public int SnapshotEvery { get; init; } = 1000;

    /// <summary>
    /// WA_TLS_CERT / WA_TLS_PASSWORD: a PKCS#12 (.pfx) certificate; when set the edge speaks TLS only (1.2 or 1.3).
    /// WA_TLS_KEY: the private key as PEM, when WA_TLS_CERT is a PEM certificate (chain) instead, as a Kubernetes TLS Secret holds them.
    /// </summary>
    public string? TlsCertificatePath { get; init; }
    public string? TlsCertificatePassword { get; init; }
    public string? TlsKeyPath { get; init; }

    /// <summary>Whether Akka.Remote binds to every interface (0.0.0.0, ::) and so cannot advertise that address to other nodes.</summary>
    public bool RemoteHostIsWildcard => RemoteHost is "0.0.0.0" or "::" or "[::]" or "*";

    /// <summary>Whether this node is meant to join others (seed nodes or discovery), not form a cluster of its own.</summary>
    public bool JoinsOthers => SeedNodes.Count > 0 || DiscoveryEndpoints.Count > 0 || DiscoveryDns is not null;

    /// <summary>WA_DEV_SMS: on = the development SMS gateway (codes in the log and at /dev/verification-codes/{phone}).</summary>
    public bool DevelopmentSms { get; init; } = true;

    /// <summary>WA_DEV_SMS_OPEN: on = /dev/verification-codes answers any caller, not only loopback (it hands out login codes).</summary>
    public bool DevelopmentSmsOpen { get; init; }

    /// <summary>Media (WA_S3_*, WA_MEDIA_*): S3 when configured, else the local disk with its own HTTP port.</summary>
    public Host.Media.MediaStoreSettings Media { get; init; } = new();

    /// <summary>APNs, FCM and Twilio (WA_APNS_*, WA_FCM_*, WA_TWILIO_*, WA_PUSH_*): each on when configured.</summary>
    public Notifications.ProviderSettings Providers { get; init; } = new();

    /// <summary>WA_HOCON_DIR: the folder of the HOCON files (defaults to the copy next to the binaries).</summary>
    public string HoconDirectory { get; init; } = Path.Combine(AppContext.BaseDirectory, "HOCON");

    /// <summary>
    /// WA_LOADTEST_TOKEN: when set (at least 16 characters), POST /loadtest/users on the management port creates
    /// accounts in bulk for load tests, for callers presenting this token. Unset (the default), the route does not exist.
    /// </summary>
    public string? LoadTestToken { get; init; }

    /// <summary>WA_MANAGEMENT_TOKEN: the operator token the cluster routes of the management API ask for (none: they refuse).</summary>
    public string? ManagementToken { get; init; }

    /// <summary>WA_MANAGEMENT_READ_OPEN: on = the read-only cluster routes answer without the token.</summary>
    public bool ManagementReadOpen { get; init; }

    public string SqlitePath => Path.GetFullPath(Path.Combine(DataDirectory, "whatsapp.db"));

    /// <summary>
    /// Every WA_* variable the host reads, found by letting <see cref="From"/> read an empty configuration that
    /// notes what is asked of it: the list cannot drift from the code (deploy files and the README are checked
    /// against it).
    /// </summary>
    public static IReadOnlyList<string> Variables { get; } = RecordVariables();

    private static string[] RecordVariables()
    {
        var recording = new RecordingConfiguration();
        From(recording);
        return [.. recording.Asked.Distinct()];
    }

    private sealed class RecordingConfiguration : IConfiguration
    {
        public List<string> Asked { get; } = [];

        public string? this[string key]
        {
            get
            {
                Asked.Add(key);
                return null;
            }
            set => throw new NotSupportedException();
        }

        public IConfigurationSection GetSection(string key) => throw new NotSupportedException();

        public IEnumerable<IConfigurationSection> GetChildren() => [];

        public Microsoft.Extensions.Primitives.IChangeToken GetReloadToken() => throw new NotSupportedException();
    }

    /// <summary>Reads WA_* keys; anything absent keeps its default.</summary>
    public static HostSettings From(IConfiguration config)
    {
        var d = new HostSettings();
        return new HostSettings
        {
            EdgeHost = config["WA_EDGE_HOST"] ?? d.EdgeHost,
            EdgePort = Int(config, "WA_EDGE_PORT", d.EdgePort),
            ManagementHost = config["WA_MANAGEMENT_HOST"] ?? d.ManagementHost,
            ManagementPort = Int(config, "WA_MANAGEMENT_PORT", d.ManagementPort),
            RemoteHost = config["WA_REMOTE_HOST"] ?? d.RemoteHost,
            RemotePort = Int(config, "WA_REMOTE_PORT", d.RemotePort),
            PublicHost = config["WA_PUBLIC_HOST"],
            SeedNodes = List(config["WA_SEED_NODES"]),
            Roles = List(config["WA_ROLES"]),
            DiscoveryEndpoints = List(config["WA_DISCOVERY_ENDPOINTS"]),
            DiscoveryDns = config["WA_DISCOVERY_DNS"] is { Length: > 0 } dns ? dns.Trim() : null,
            DrainSeconds = Int(config, "WA_DRAIN_SECONDS", d.DrainSeconds),
            SplitBrainStableAfterSeconds = Int(config, "WA_SBR_STABLE_AFTER", d.SplitBrainStableAfterSeconds),
            Journal = ParseJournal(config["WA_JOURNAL"]),
            DataDirectory = config["WA_DATA_DIR"] ?? d.DataDirectory,
            PostgresConnectionString = config["WA_POSTGRES"],
            NumberOfShards = Int(config, "WA_SHARDS", d.NumberOfShards),
            HeartbeatSeconds = Int(config, "WA_HEARTBEAT_SECONDS", d.HeartbeatSeconds),
            MaxFrameSize = Int(config, "WA_MAX_FRAME", d.MaxFrameSize),
            HoconDirectory = config["WA_HOCON_DIR"] ?? d.HoconDirectory,
            DevelopmentSms = Switch(config, "WA_DEV_SMS", d.DevelopmentSms),
            DevelopmentSmsOpen = Switch(config, "WA_DEV_SMS_OPEN", d.DevelopmentSmsOpen),
            Providers = Notifications.ProviderSettings.From(config),
            Media = Host.Media.MediaStoreSettings.From(config),
            SendRate = Int(config, "WA_SEND_RATE", d.SendRate),
            LoginFailuresPerAddress = Int(config, "WA_LOGIN_FAILURES_PER_ADDRESS", d.LoginFailuresPerAddress),
            LoginFailuresPerAccount = Int(config, "WA_LOGIN_FAILURES_PER_ACCOUNT", d.LoginFailuresPerAccount),
            CodeRequestsPerAddress = Int(config, "WA_CODE_REQUESTS_PER_ADDRESS", d.CodeRequestsPerAddress),
            TlsCertificatePath = config["WA_TLS_CERT"] is { Length: > 0 } cert ? cert : null,
            TlsCertificatePassword = config["WA_TLS_PASSWORD"],
            TlsKeyPath = config["WA_TLS_KEY"] is { Length: > 0 } key ? key : null,
            SnapshotEvery = Int(config, "WA_SNAPSHOT_EVERY", d.SnapshotEvery),
            MaxGroupMembers = Int(config, "WA_GROUP_MAX_MEMBERS", d.MaxGroupMembers),
            GroupFanOutParallelism = Int(config, "WA_GROUP_FANOUT_PARALLELISM", d.GroupFanOutParallelism),
            LoadTestToken = config["WA_LOADTEST_TOKEN"] is { Length: > 0 } token ? token : null,
            ManagementToken = config["WA_MANAGEMENT_TOKEN"] is { Length: > 0 } operatorToken ? operatorToken : null,
            ManagementReadOpen = Switch(config, "WA_MANAGEMENT_READ_OPEN", d.ManagementReadOpen),
            CallRingSeconds = Int(config, "WA_CALL_RING_SECONDS", d.CallRingSeconds),
            Turn = TurnFrom(config),
        }.Validated();
    }

    private static Domain.Calls.TurnSettings? TurnFrom(IConfiguration config)
    {
        var urls = List(config["WA_TURN_URLS"]);
        var secret = config["WA_TURN_SECRET"];
        var ttl = Int(config, "WA_TURN_TTL_SECONDS", 86_400);
        if (urls.Count == 0)
            return null;
        if (string.IsNullOrEmpty(secret))
            throw new InvalidOperationException("WA_TURN_URLS needs WA_TURN_SECRET, the relays' static-auth-secret");
        if (urls.FirstOrDefault(u => !u.StartsWith("turn:", StringComparison.Ordinal) && !u.StartsWith("turns:", StringComparison.Ordinal)) is { } bad)
            throw new InvalidOperationException($"WA_TURN_URLS takes turn: or turns: URLs, not '{bad}'");
        if (ttl < 60)
            throw new InvalidOperationException($"WA_TURN_TTL_SECONDS must be at least 60, not {ttl}");
        return new Domain.Calls.TurnSettings(urls, secret, TimeSpan.FromSeconds(ttl));
    }

    /// <summary>The edge's certificate: PKCS#12 from WA_TLS_CERT, or PEM from WA_TLS_CERT and WA_TLS_KEY; none without WA_TLS_CERT.</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2? LoadTlsCertificate()
    {
        if (TlsCertificatePath is null)
            return null;
        if (TlsKeyPath is null)
            return System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12FromFile(TlsCertificatePath, TlsCertificatePassword);
        // A PEM pair gives a certificate with an ephemeral key, which SslStream cannot use on every platform:
        // round-trip it through PKCS#12 so it carries its key like a loaded .pfx.
        using var pem = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(TlsCertificatePath, TlsKeyPath);
        return System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12(
            pem.Export(System.Security.Cryptography.X509Certificates.X509ContentType.Pkcs12), null);
    }

    /// <summary>Refuses settings that cannot work, with a message naming the variable to fix.</summary>
    public HostSettings Validated()
    {
        if (Journal == JournalKind.Postgres && string.IsNullOrWhiteSpace(PostgresConnectionString))
            throw new InvalidOperationException("WA_JOURNAL=postgres needs WA_POSTGRES, the PostgreSQL connection string");
        if (MaxFrameSize is < 1024 or > 16 * 1024 * 1024)
            throw new InvalidOperationException($"WA_MAX_FRAME must be between 1024 and 16777216 bytes, not {MaxFrameSize}");
        if (HeartbeatSeconds is < 1 or > 3600)
            throw new InvalidOperationException($"WA_HEARTBEAT_SECONDS must be between 1 and 3600, not {HeartbeatSeconds}");
        if (TlsCertificatePath is not null && !File.Exists(TlsCertificatePath))
            throw new InvalidOperationException($"WA_TLS_CERT names {TlsCertificatePath}, which does not exist");
        if (TlsKeyPath is not null && TlsCertificatePath is null)
            throw new InvalidOperationException("WA_TLS_KEY needs WA_TLS_CERT, the PEM certificate it belongs to");
        if (TlsKeyPath is not null && !File.Exists(TlsKeyPath))
            throw new InvalidOperationException($"WA_TLS_KEY names {TlsKeyPath}, which does not exist");
        if (MaxGroupMembers < 2)
            throw new InvalidOperationException($"WA_GROUP_MAX_MEMBERS must be at least 2, not {MaxGroupMembers}");
        if (GroupFanOutParallelism < 1)
            throw new InvalidOperationException($"WA_GROUP_FANOUT_PARALLELISM must be positive, not {GroupFanOutParallelism}");
        if (LoginFailuresPerAddress < 1 || LoginFailuresPerAccount < 1 || CodeRequestsPerAddress < 1)
            throw new InvalidOperationException("WA_LOGIN_FAILURES_PER_ADDRESS, WA_LOGIN_FAILURES_PER_ACCOUNT and WA_CODE_REQUESTS_PER_ADDRESS must be positive");
        if (SendRate < 1)
            throw new InvalidOperationException($"WA_SEND_RATE must be positive, not {SendRate}");
        if (ManagementToken is { Length: < 16 })
            throw new InvalidOperationException("WA_MANAGEMENT_TOKEN must be at least 16 characters (it guards leaving and downing nodes)");
        if (LoadTestToken is { Length: < 16 })
            throw new InvalidOperationException("WA_LOADTEST_TOKEN must be at least 16 characters (it guards bulk account creation)");
        if (SplitBrainStableAfterSeconds < 1)
            throw new InvalidOperationException($"WA_SBR_STABLE_AFTER must be at least 1 second, not {SplitBrainStableAfterSeconds}");
        if (DiscoveryEndpoints.FirstOrDefault(e => !System.Text.RegularExpressions.Regex.IsMatch(e, @"^[^:\s""]+:\d{1,5}$")) is { } bad)
            throw new InvalidOperationException($"WA_DISCOVERY_ENDPOINTS takes host:port entries, not '{bad}'");
        if (DiscoveryDns is not null && !System.Text.RegularExpressions.Regex.IsMatch(DiscoveryDns, @"^[^:\s""]+:\d{1,5}$"))
            throw new InvalidOperationException($"WA_DISCOVERY_DNS takes one host:port (a DNS name and the Akka.Remote port), not '{DiscoveryDns}'");
        if (DiscoveryDns is not null && DiscoveryEndpoints.Count > 0)
            throw new InvalidOperationException("WA_DISCOVERY_DNS and WA_DISCOVERY_ENDPOINTS are two ways to find the nodes: set one");
        // A node bound to every interface would tell the others to reach it at 0.0.0.0: they never could.
        if (RemoteHostIsWildcard && PublicHost is null && JoinsOthers)
            throw new InvalidOperationException($"WA_REMOTE_HOST={RemoteHost} binds every interface, so other nodes need WA_PUBLIC_HOST: the host name or IP they reach this node at");
        if (DevelopmentSms && Providers.Twilio is not null)
            throw new InvalidOperationException("Twilio is configured and so is the development SMS gateway: set WA_DEV_SMS=off to send codes through Twilio");
        if (CallRingSeconds < 1)
            throw new InvalidOperationException($"WA_CALL_RING_SECONDS must be at least 1, not {CallRingSeconds}");
        if (NumberOfShards < 1)
            throw new InvalidOperationException($"WA_SHARDS must be positive, not {NumberOfShards}");
        return this;
    }

    private static int Int(IConfiguration config, string key, int fallback) =>
        config[key] is not { } text
            ? fallback
            : int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var v) && v >= 0
                ? v
                : throw new InvalidOperationException($"{key} must be a non-negative integer, not '{text}'");

    private static bool Switch(IConfiguration config, string key, bool fallback) => config[key]?.Trim().ToLowerInvariant() switch
    {
        null or "" => fallback,
        "on" or "true" or "1" or "yes" => true,
        "off" or "false" or "0" or "no" => false,
        var other => throw new InvalidOperationException($"{key} must be on or off, not '{other}'"),
    };

    private static IReadOnlyList<string> List(string? text) =>
        string.IsNullOrWhiteSpace(text) ? [] : text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static JournalKind ParseJournal(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        null or "" or "sqlite" => JournalKind.Sqlite,
        "postgres" or "postgresql" => JournalKind.Postgres,
        _ => throw new InvalidOperationException($"WA_JOURNAL must be 'sqlite' or 'postgres', not '{text}'"),
    };
}
