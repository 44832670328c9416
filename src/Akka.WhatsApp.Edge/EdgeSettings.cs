namespace Akka.WhatsApp.Edge;

/// <summary>Settings of the client-facing edge listener.</summary>
public sealed record EdgeSettings
{
    /// <summary>Address to bind; 0.0.0.0 listens on every interface.</summary>
    public string Host { get; init; } = "0.0.0.0";

    /// <summary>TCP port; 0 picks a free one (tests).</summary>
    public int Port { get; init; } = 5222;

    /// <summary>Largest frame body accepted or sent, in bytes; announced in Welcome.</summary>
    public int MaxFrameSize { get; init; } = Protocol.Framing.FrameCodec.DefaultMaxFrameSize;

    /// <summary>How often clients must ping; a connection silent for three intervals is closed.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A connection that has not sent Hello this long after it opened is closed with HELLO_TIMEOUT: a flood of connections
    /// that never speak holds a socket each for seconds, not for the three heartbeat intervals of a silent client.
    /// </summary>
    public TimeSpan HelloTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>DotNetty worker event loops; sized to the core count (more was erratic on 2 cores).</summary>
    public int EventLoopThreads { get; init; } = Environment.ProcessorCount;

    /// <summary>Outbound bytes queued per connection before the channel reports itself unwritable.</summary>
    public int WriteBufferHighWaterMark { get; init; } = 256 * 1024;

    public int WriteBufferLowWaterMark { get; init; } = 64 * 1024;

    /// <summary>When set, clients must speak TLS (the framing is the same inside it).</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2? TlsCertificate { get; init; }

    /// <summary>
    /// Prekey bundle fetches per connection (PROTOCOL.md §13): enough to start sessions with a contact list, too few
    /// to drain another user's one-time prekeys quickly (each fetch takes one per device).
    /// </summary>
    public const int KeyFetchesPerSecond = 5;

    public const int KeyFetchBurst = 50;

    /// <summary>Sends per second allowed per connection on average (RATE_LIMITED beyond).</summary>
    public int SendsPerSecond { get; init; } = 200;

    /// <summary>Sends a connection may burst above the average.</summary>
    public int SendBurst { get; init; } = 400;

    /// <summary>
    /// How long a stopping edge waits for its clients to leave after asking them to reconnect elsewhere
    /// (<c>Reconnect</c>, PROTOCOL.md §18) before it closes the rest with SERVER_SHUTTING_DOWN.
    /// </summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The spread of the clients' reconnects (<c>Reconnect.delay_ms</c>): each waits a random part of it.</summary>
    public TimeSpan ReconnectSpread { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Unacked deliveries in flight per device (announced in LoginOk).</summary>
    public int DeliveryWindow { get; init; } = 500;

    /// <summary>This node's counts of failed logins and code requests per address and account (RATE_LIMITED beyond its limits).</summary>
    public Sessions.AuthThrottle AuthThrottle { get; init; } = new(new Sessions.AuthLimits());

    /// <summary>Where the edge counts connections, frames and messages: the node's registry, or one nobody scrapes.</summary>
    public Monitoring.EdgeMetrics Metrics { get; init; } = Monitoring.EdgeMetrics.Unregistered();
}
