using System.Net;
using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Configuration;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Akka.WhatsApp.Cluster.Accounts;
using Akka.WhatsApp.Cluster.Calls;
using Akka.WhatsApp.Cluster.Directory;
using Akka.WhatsApp.Cluster.Entities;
using Akka.WhatsApp.Cluster.Groups;
using Akka.WhatsApp.Cluster.Keys;
using Akka.WhatsApp.Cluster.Mailbox;
using Akka.WhatsApp.Cluster.Registration;
using Akka.WhatsApp.Cluster.Scheduling;
using Akka.WhatsApp.Cluster.Sync;
using Akka.WhatsApp.Domain.Registration;
using Akka.WhatsApp.Host.Registration;
using Akka.WhatsApp.Cluster.Presence;
using Akka.WhatsApp.Cluster.Status;
using Akka.WhatsApp.Edge;
using Akka.WhatsApp.Edge.Backend;
using Akka.WhatsApp.Edge.Tcp;
using Akka.WhatsApp.Host.Clustering;
using Akka.WhatsApp.Host.Management;
using Akka.WhatsApp.Host.Persistence;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using LogLevel = Akka.Event.LogLevel;

namespace Akka.WhatsApp.Host;

/// <summary>
/// One cluster node: the actor system with its shard regions and journal, the client edge and the
/// management HTTP API. The composition root of the server; Program.cs and the tests both build it here.
/// </summary>
public sealed class WhatsAppNode : IAsyncDisposable
{
    private WhatsAppNode(WebApplication app, HostSettings settings)
    {
        App = app;
        Settings = settings;
    }

    public WebApplication App { get; }

    public HostSettings Settings { get; }

    public ActorSystem System => App.Services.GetRequiredService<ActorSystem>();

    /// <summary>The client TCP endpoint, with the real port once started.</summary>
    public Task<IPEndPoint> EdgeEndpoint => App.Services.GetRequiredService<EdgeHostedService>().BoundEndpoint;

    /// <summary>The management base address (http://host:port), known once started.</summary>
    public Uri ManagementUri =>
        new(App.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    /// <summary>
    /// A node of <paramref name="settings"/>. <paramref name="time"/> is the clock of the edge and of every entity
    /// (the system clock unless a test gives its own).
    /// </summary>
    public static WhatsAppNode Create(HostSettings settings, string[]? args = null, Action<ILoggingBuilder>? logging = null, TimeProvider? time = null)
    {
        settings.Validated();
        JournalSetup.Prepare(settings);

        var builder = WebApplication.CreateBuilder(args ?? []);
        builder.WebHost.UseUrls($"http://{settings.ManagementHost}:{settings.ManagementPort}");
        // Draining clients, then handing shards off and leaving the cluster.
        builder.WebHost.UseShutdownTimeout(TimeSpan.FromSeconds(settings.DrainSeconds + 30));
        if (logging is not null)
            logging(builder.Logging);
        builder.Logging.AddFilter("Microsoft.AspNetCore", Microsoft.Extensions.Logging.LogLevel.Warning);

        builder.Services.AddSingleton(time ?? TimeProvider.System);
        // /health/alive and /health/ready are ASP.NET Core health checks: Akka.Hosting's actor-system liveness and
        // Akka.Cluster.Hosting's cluster readiness, with our journal probe beside them (NodeHealth), mapped in ManagementRoutes.
        builder.Services.AddHealthChecks();
        // Metrics per node (tests run several in one process): the node's own registry, never prometheus-net's static one.
        var metrics = Prometheus.Metrics.NewCustomRegistry();
        builder.Services.AddSingleton(metrics);
        builder.Services.AddSingleton<NodeMetrics>();
        var (provider, connectionString) = JournalSetup.Database(settings);
        builder.Services.AddSingleton<IPhoneDirectory>(new SqlPhoneDirectory(provider, connectionString));
        if (settings.DevelopmentSms)
        {
            builder.Services.AddSingleton<DevelopmentSmsGateway>();
            builder.Services.AddSingleton<ISmsGateway>(sp => sp.GetRequiredService<DevelopmentSmsGateway>());
        }
        else if (settings.Providers.Twilio is { } twilio)
        {
            builder.Services.AddSingleton<ISmsGateway>(sp => new Cluster.Notifications.TwilioSmsGateway(twilio, sp.GetRequiredService<TimeProvider>()));
        }
        else
        {
            builder.Services.AddSingleton<ISmsGateway, UnconfiguredSmsGateway>();
        }
        builder.Services.AddSingleton(sp =>
        {
            var clock = sp.GetRequiredService<TimeProvider>();
            return new Cluster.Notifications.PushService(settings.Providers.PushProviders(clock), settings.Providers.PushOptions,
                new Cluster.Notifications.PushMetrics(metrics), clock);
        });
        builder.Services.AddAkka(settings.ActorSystemName, (akka, sp) => ConfigureAkka(akka, settings, sp));

        // Media (§12): the catalog beside the journal, the store (S3, or the local disk with its HTTP port) started
        // before the edge takes clients, and the sweeper of what expired.
        var mediaCatalog = new Cluster.Media.SqlMediaCatalog(provider, connectionString);
        builder.Services.AddSingleton<Domain.Media.IMediaCatalog>(mediaCatalog);
        builder.Services.AddSingleton(sp => settings.Media.CreateStore(settings.DataDirectory, sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton(sp => new Domain.Media.MediaService(sp.GetRequiredService<Domain.Media.IMediaStore>(), mediaCatalog,
            settings.Media.Policy, sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddHostedService(sp => new Media.MediaHostedService(sp.GetRequiredService<Domain.Media.IMediaStore>(),
            sp.GetRequiredService<Domain.Media.MediaService>(), mediaCatalog, sp.GetRequiredService<ActorSystem>(), metrics));

        // Registered after Akka so that on shutdown the edge stops taking traffic before the actor system leaves.
        builder.Services.AddSingleton(new EdgeSettings
        {
            Host = settings.EdgeHost,
            Port = settings.EdgePort,
            MaxFrameSize = settings.MaxFrameSize,
            HeartbeatInterval = TimeSpan.FromSeconds(settings.HeartbeatSeconds),
            SendsPerSecond = settings.SendRate,
            TlsCertificate = settings.LoadTlsCertificate(),
            AuthThrottle = new Edge.Sessions.AuthThrottle(new Edge.Sessions.AuthLimits
            {
                FailuresPerAddress = settings.LoginFailuresPerAddress,
                FailuresPerAccount = settings.LoginFailuresPerAccount,
                CodeRequestsPerAddress = settings.CodeRequestsPerAddress,
            }),
            SendBurst = 2 * settings.SendRate,
            DrainTimeout = TimeSpan.FromSeconds(settings.DrainSeconds),
            Metrics = new Edge.Monitoring.EdgeMetrics(metrics),
        });
        // The edge reaches the entities through the shard-region proxies registered once the actor system runs.
        builder.Services.AddSingleton(sp => new Lazy<EdgeBackend>(() => BackendOf(sp, settings)));
        builder.Services.AddSingleton<IClientTransport>(sp =>
        {
            var backend = sp.GetRequiredService<Lazy<EdgeBackend>>();
            return new DotNettyTransport(sp.GetRequiredService<EdgeSettings>(), sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILoggerFactory>(), () => backend.Value);
        });
        builder.Services.AddSingleton<EdgeHostedService>();
        if (settings.ServesClients)
            builder.Services.AddHostedService(sp => sp.GetRequiredService<EdgeHostedService>());

        var app = builder.Build();
        app.MapManagement();
        app.MapClusterRoutes(settings.ManagementToken, settings.ManagementReadOpen);
        app.MapMetrics();
        app.MapDashboard(settings.ManagementToken, settings.ManagementReadOpen);
        if (settings.DevelopmentSms)
            app.MapDevelopmentRoutes(settings.DevelopmentSmsOpen);
        if (settings.LoadTestToken is { } loadTestToken)
            app.MapLoadTestProvisioning(loadTestToken);

        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Akka.WhatsApp.Host");
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            // A node that left the cluster (DELETE /cluster/members/…, or downed) has no actor system left: the
            // process ends too, and its supervisor (systemd, Kubernetes) decides whether it comes back.
            app.Services.GetRequiredService<ActorSystem>().WhenTerminated.ContinueWith(_ => app.Lifetime.StopApplication(),
                TaskScheduler.Default);
            log.LogInformation("Management HTTP on {Address} (/health/alive, /health/ready, /metrics, /dashboard)", string.Join(", ",
                app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses));
            log.LogInformation("Journal: {Journal}", JournalSetup.Describe(settings));
            log.LogInformation("Notifications: {Providers}", settings.Providers.Describe(settings.DevelopmentSms));
            log.LogInformation("Media: {Store}", settings.Media.Describe(settings.DataDirectory));
            if (settings.LoadTestToken is not null)
                log.LogWarning("WA_LOADTEST_TOKEN is set: POST /loadtest/users creates accounts without SMS verification. Never in production.");
            log.LogInformation("Cluster node akka.tcp://{System}@{Host}:{Port}, seed nodes: {Seeds}",
                settings.ActorSystemName, settings.PublicHost ?? settings.RemoteHost, settings.RemotePort,
                settings.SeedNodes.Count > 0 ? string.Join(", ", settings.SeedNodes)
                : settings.DiscoveryEndpoints.Count > 0 ? "through discovery of " + string.Join(", ", settings.DiscoveryEndpoints)
                : settings.DiscoveryDns is { } dns ? "through DNS discovery of " + dns
                : "none (forms its own cluster)");
            if (settings.RemoteHostIsWildcard && settings.PublicHost is null)
                log.LogWarning("WA_REMOTE_HOST={Host} without WA_PUBLIC_HOST: this node advertises akka.tcp://{System}@{Host}:{Port}, which no other node can reach. " +
                    "Fine for a node on its own; set WA_PUBLIC_HOST before adding nodes", settings.RemoteHost, settings.ActorSystemName, settings.RemoteHost, settings.RemotePort);
        });
        return new WhatsAppNode(app, settings);
    }

    private static EdgeBackend BackendOf(IServiceProvider services, HostSettings settings)
    {
        var system = services.GetRequiredService<ActorSystem>();
        var registry = ActorRegistry.For(system);
        return new EdgeBackend
        {
            System = system,
            Mailboxes = registry.Get<MailboxRegion>(),
            Accounts = registry.Get<AccountRegion>(),
            Groups = registry.Get<GroupRegion>(),
            Verifications = registry.Get<VerificationRegion>(),
            Keys = registry.Get<KeysRegion>(),
            PresenceBus = registry.Get<PresenceBus>(),
            Directory = services.GetRequiredService<IPhoneDirectory>(),
            Media = services.GetRequiredService<Domain.Media.MediaService>(),
            Calls = registry.Get<Cluster.Calls.CallRegion>(),
            Schedules = registry.Get<Cluster.Scheduling.ScheduleRegion>(),
            HistorySync = registry.Get<Cluster.Sync.HistorySyncRegion>(),
            Status = registry.Get<Cluster.Status.StatusRegion>(),
            Turn = settings.Turn,
            Time = services.GetRequiredService<TimeProvider>(),
        };
    }

    private static void ConfigureAkka(AkkaConfigurationBuilder akka, HostSettings settings, IServiceProvider services)
    {
        // Shards live on nodes with the entities role (every node, unless WA_ROLES says otherwise); a node without
        // it reaches them through proxies.
        var entities = new EntitySettings(settings.NumberOfShards, HostSettings.EntitiesRole) { SnapshotEvery = settings.SnapshotEvery };
        akka.AddSetup(new EntityClockSetup(services.GetRequiredService<TimeProvider>()));
        var hocon = (string file) => ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(settings.HoconDirectory, file)));

        akka.WithActorSystemLivenessCheck(tags: [ManagementRoutes.Alive])
            .WithAkkaClusterReadinessCheck(tags: [ManagementRoutes.Ready])
            .WithHealthCheck("journal", (system, _, ct) => NodeHealth.JournalCheckAsync(system, ct), tags: [ManagementRoutes.Ready]);
        akka.ConfigureLoggers(loggers =>
            {
                loggers.LogLevel = LogLevel.InfoLevel;
                loggers.ClearLoggers();
                loggers.AddLoggerFactory();
            })
            .AddHocon(JournalSetup.Config(settings), HoconAddMode.Prepend)
            .AddHocon(ConfigurationFactory.ParseString($$"""
                akka.cluster.split-brain-resolver.stable-after = {{settings.SplitBrainStableAfterSeconds}}s
                akka.coordinated-shutdown.phases.before-service-unbind.timeout = {{settings.DrainSeconds + 5}}s
                """), HoconAddMode.Prepend)
            .AddHocon(hocon("cluster.conf"), HoconAddMode.Append)
            .AddHocon(hocon("base.conf"), HoconAddMode.Append)
            .WithRemoting(new RemoteOptions
            {
                HostName = settings.RemoteHost,
                Port = settings.RemotePort,
                PublicHostName = settings.PublicHost,
            })
            .WithClustering(new ClusterOptions
            {
                SeedNodes = settings.SeedNodes.ToArray(),
                Roles = settings.EffectiveRoles.ToArray(),
            })
            .AddMailboxSharding(entities, services.GetRequiredService<Cluster.Notifications.PushService>())
            .AddAccountSharding(entities)
            .AddKeysSharding(entities)
            .AddGroupSharding(entities, new GroupOptions
            {
                MaxMembers = settings.MaxGroupMembers,
                FanOutParallelism = settings.GroupFanOutParallelism,
                SnapshotEvery = settings.SnapshotEvery,
            })
            .AddScheduleSharding(entities, new Cluster.Scheduling.ScheduleOptions { SnapshotEvery = settings.SnapshotEvery })
            .AddCallSharding(entities, new Cluster.Calls.CallOptions { RingTimeout = TimeSpan.FromSeconds(settings.CallRingSeconds) },
                services.GetRequiredService<Cluster.Notifications.PushService>())
            .AddHistorySyncSharding(entities)
            .AddStatusSharding(entities, new Cluster.Status.StatusOptions { SnapshotEvery = settings.SnapshotEvery },
                () => services.GetRequiredService<Domain.Media.MediaService>())
            .AddPresenceBus()
            .WithActors((system, _) => system.ActorOf(NodeStatsActor.PropsFor(services.GetRequiredService<EdgeSettings>().Metrics), NodeStatsActor.Name))
            .AddVerificationSharding(entities, services.GetRequiredService<ISmsGateway>(), services.GetRequiredService<IPhoneDirectory>());

        if (settings.SeedNodes.Count == 0 && settings.DiscoveryEndpoints.Count > 0)
            akka.AddHocon(ClusterFormation.DiscoveryConfig(settings.DiscoveryEndpoints), HoconAddMode.Prepend);
        else if (settings.SeedNodes.Count == 0 && settings.DiscoveryDns is { } dns)
            akka.AddHocon(ClusterFormation.DnsDiscoveryConfig(dns), HoconAddMode.Prepend);
        akka.AddStartup((system, registry) =>
        {
            // Every region and port the edge needs exists now: a missing one fails the start, not the first request.
            if (settings.ServesClients)
                _ = services.GetRequiredService<Lazy<EdgeBackend>>().Value;
            ClusterFormation.Join(system, settings);
            // Whatever starts the shutdown (the host stopping, a Leave through the management API, being downed),
            // the clients are asked to move first, while this node's shards still answer; then the shards are
            // handed off and the node leaves. When the host stops the edge itself first, this finds it drained.
            if (settings.ServesClients)
            {
                var transport = services.GetRequiredService<IClientTransport>();
                CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseBeforeServiceUnbind, "drain-client-edge", async () =>
                {
                    await transport.StopAsync(CancellationToken.None);
                    return Done.Instance;
                });
            }
        });
    }

    public Task StartAsync(CancellationToken cancellationToken = default) => App.StartAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken = default) => App.StopAsync(cancellationToken);

    public Task RunAsync() => App.RunAsync();

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
