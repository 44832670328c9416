using System.Collections.Concurrent;
using System.Threading.Channels;
using Akka.Event;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.Streams.Supervision;
using Akka.WhatsApp.Domain.Accounts;
using Akka.WhatsApp.Domain.Notifications;

namespace Akka.WhatsApp.Cluster.Notifications;

/// <summary>How the node's push pipeline behaves (WA_PUSH_* in the host).</summary>
public sealed record PushOptions
{
    /// <summary>At most one push per device within this window: a burst of messages wakes the app once.</summary>
    public TimeSpan CoalesceWindow { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a device's push settings are used before they are asked of its account again.</summary>
    public TimeSpan ProfileTtl { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Candidates waiting at most; beyond, new ones are dropped (and counted): the message path never waits for push.</summary>
    public int QueueSize { get; init; } = 10_000;

    /// <summary>Account look-ups in flight at once.</summary>
    public int LookupParallelism { get; init; } = 32;

    /// <summary>Provider requests in flight at once, per provider (HTTP/2 multiplexes them over few connections).</summary>
    public int SendParallelism { get; init; } = 64;

    public TimeSpan LookupTimeout { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>Where a mailbox offers push candidates (<see cref="PushRequest"/>) on its node; <see cref="Off"/> when push is not configured.</summary>
public sealed class PushQueue
{
    private readonly ChannelWriter<PushRequest>? _writer;
    private readonly PushMetrics _metrics;

    internal PushQueue(ChannelWriter<PushRequest>? writer, PushMetrics metrics)
    {
        _writer = writer;
        _metrics = metrics;
    }

    public static readonly PushQueue Off = new(null, PushMetrics.Unregistered());

    /// <summary>A queue into <paramref name="writer"/> (the pipeline's channel, or a test's).</summary>
    public static PushQueue Into(ChannelWriter<PushRequest> writer, PushMetrics metrics) => new(writer, metrics);

    public bool Enabled => _writer is not null;

    /// <summary>Never blocks: a full queue drops the candidate (the device is pushed with the next message).</summary>
    public void Offer(PushRequest request)
    {
        if (_writer is null)
            return;
        if (!_writer.TryWrite(request))
            _metrics.Skipped("dropped");
    }
}

/// <summary>
/// The node's push pipeline (PROTOCOL.md §16), an Akka.Streams graph with bounded buffers and backpressure:
/// <code>
/// bounded queue → device's settings (cached account look-up) → PushPolicy → coalesce per device → per provider: shape to
/// its rate → HTTP (retries inside the provider) → results (a dead token is removed from the device, metrics)
/// </code>
/// Candidates come from the mailboxes of this node, so a device is pushed by the node that hosts its mailbox, once.
/// A slow or failing provider fills only its own in-flight slots and then this queue; mailboxes never wait for it.
/// </summary>
public sealed class PushPipeline
{
    private readonly ConcurrentDictionary<(UserId, DeviceId), (PushProfile Profile, DateTimeOffset At)> _profiles = new();
    private long _profilesPrunedAt;
    private readonly IActorRef _accounts;
    private readonly IReadOnlyDictionary<int, IPushProvider> _providers;
    private readonly PushOptions _options;
    private readonly PushMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILoggingAdapter _log;

    private PushPipeline(ActorSystem system, IActorRef accounts, IReadOnlyList<IPushProvider> providers, PushOptions options, PushMetrics metrics, TimeProvider time)
    {
        _accounts = accounts;
        _providers = providers.ToDictionary(p => p.Platform);
        _options = options;
        _metrics = metrics;
        _time = time;
        _log = Logging.GetLogger(system, typeof(PushPipeline));
    }

    /// <summary>Starts the pipeline on <paramref name="system"/>; without providers push is off and the queue ignores candidates.</summary>
    public static PushQueue Start(ActorSystem system, IActorRef accounts, IReadOnlyList<IPushProvider> providers, PushOptions options,
        PushMetrics metrics, TimeProvider time)
    {
        if (providers.Count == 0)
            return PushQueue.Off;
        var channel = Channel.CreateBounded<PushRequest>(new BoundedChannelOptions(options.QueueSize)
        {
            FullMode = BoundedChannelFullMode.DropWrite,
            SingleReader = true,
        });
        var pipeline = new PushPipeline(system, accounts, providers, options, metrics, time);
        pipeline.Graph(ChannelSource.FromReader(channel.Reader))
            .WithAttributes(ActorAttributes.CreateSupervisionStrategy(Deciders.ResumingDecider))
            .RunWith(Sink.ForEach<PushOutcome>(pipeline.OnOutcome), system.Materializer());
        system.RegisterOnTermination(() => channel.Writer.TryComplete());
        return PushQueue.Into(channel.Writer, metrics);
    }

    private Source<PushOutcome, NotUsed> Graph(Source<PushRequest, NotUsed> candidates)
    {
        var decided = candidates
            .SelectAsync(_options.LookupParallelism, async request => (Request: request, Profile: await ProfileAsync(request)))
            .Where(Allowed)
            .StatefulSelectMany(Coalescing);
        return (Source<PushOutcome, NotUsed>)decided
            .GroupBy(Math.Max(1, _providers.Count), push => push.Registration.Platform)
            .Throttle(RateOf(_providers.Values.Min(p => p.RatePerSecond)), TimeSpan.FromSeconds(1), RateOf(_providers.Values.Min(p => p.RatePerSecond)), ThrottleMode.Shaping)
            .SelectAsyncUnordered(_options.SendParallelism, SendAsync)
            .MergeSubstreams();
    }

    private static int RateOf(int perSecond) => Math.Max(1, perSecond);

    private async Task<PushProfile?> ProfileAsync(PushRequest request)
    {
        var key = (request.User, request.Device);
        var now = _time.GetUtcNow();
        if (_profiles.TryGetValue(key, out var cached) && now - cached.At < _options.ProfileTtl)
            return cached.Profile;
        try
        {
            var reply = await _accounts.Ask<IAccountReply>(new AccountCommands.GetPushProfile(request.User, request.Device), _options.LookupTimeout);
            if (reply is not AccountReplies.PushProfileIs { Profile: var profile })
                return null;
            PruneProfiles(now);
            _profiles[key] = (profile, now);
            return profile;
        }
        catch (Exception e) when (e is TimeoutException or AskTimeoutException or TaskCanceledException)
        {
            return null;
        }
    }

    /// <summary>
    /// Drops expired profiles, at most once per TTL: the cache then holds at most the devices looked up within two TTLs,
    /// and a miss never scans it (a scan per miss, once it was full of fresh entries, was quadratic in a burst).
    /// </summary>
    private void PruneProfiles(DateTimeOffset now)
    {
        var last = Interlocked.Read(ref _profilesPrunedAt);
        if (now.UtcTicks - last < _options.ProfileTtl.Ticks || Interlocked.CompareExchange(ref _profilesPrunedAt, now.UtcTicks, last) != last)
            return;
        foreach (var (key, entry) in _profiles)
            if (now - entry.At >= _options.ProfileTtl)
                _profiles.TryRemove(key, out _);
    }

    private bool Allowed((PushRequest Request, PushProfile? Profile) candidate)
    {
        if (candidate.Profile is not { } profile)
        {
            _metrics.Skipped("unavailable");
            return false;
        }
        var skip = PushPolicy.Decide(profile, candidate.Request.Chat, candidate.Request.Kind, _time.GetUtcNow());
        if (skip == PushSkip.None && _providers.ContainsKey(profile.Registration!.Platform))
            return true;
        _metrics.Skipped(skip switch
        {
            PushSkip.NoRegistration => "no_registration",
            PushSkip.Muted => "muted",
            PushSkip.DoNotDisturb => "do_not_disturb",
            PushSkip.NoVoipToken => "no_voip_token",
            _ => "provider_not_configured",
        });
        return false;
    }

    /// <summary>
    /// One push per device per window; calls are never held back by a message push. The state is bounded: entries
    /// older than the window are dropped once per window, so it holds at most the devices pushed within two windows.
    /// </summary>
    private Func<(PushRequest Request, PushProfile? Profile), IEnumerable<PushNotification>> Coalescing()
    {
        var last = new Dictionary<(UserId, DeviceId, PushKind), DateTimeOffset>();
        var prunedAt = DateTimeOffset.MinValue;
        return candidate =>
        {
            var (request, profile) = candidate;
            var now = _time.GetUtcNow();
            var key = (request.User, request.Device, request.Kind);
            if (request.Kind == PushKind.Message && last.TryGetValue(key, out var at) && now - at < _options.CoalesceWindow)
            {
                _metrics.Skipped("coalesced");
                return [];
            }
            if (now - prunedAt >= _options.CoalesceWindow)
            {
                prunedAt = now;
                foreach (var (pushed, pushedAt) in last)
                    if (now - pushedAt >= _options.CoalesceWindow)
                        last.Remove(pushed);
            }
            last[key] = now;
            return [new PushNotification(request.User, request.Device, profile!.Registration!, request.Kind, request.Badge, request.StoredAt)];
        };
    }

    private async Task<PushOutcome> SendAsync(PushNotification push)
    {
        var provider = _providers[push.Registration.Platform];
        try
        {
            return await provider.SendAsync(push, CancellationToken.None);
        }
        catch (Exception e)
        {
            // Providers map what they know to outcomes; anything else must not stop the stream.
            _log.Warning("Push to {0} device {1} through {2} failed: {3}", push.User.Value, push.Device.Value, provider.Name, e.Message);
            return new PushOutcome(push, PushResult.Failed, e.GetType().Name);
        }
    }

    private void OnOutcome(PushOutcome outcome)
    {
        var push = outcome.Push;
        var provider = _providers[push.Registration.Platform].Name;
        switch (outcome.Result)
        {
            case PushResult.Sent:
                _metrics.Sent(provider, _time.GetUtcNow() - push.StoredAt);
                break;
            case PushResult.TokenInvalid:
                _metrics.Failed(provider, outcome.Reason);
                _metrics.TokenRemoved(provider);
                _profiles.TryRemove((push.User, push.Device), out _);
                // Asked, not told, so that the account's answer does not end as a dead letter; a lost removal is redone by the next push.
                _ = _accounts.Ask<IAccountReply>(new AccountCommands.RemovePushToken(push.User, push.Device, push.Token), _options.LookupTimeout)
                    .ContinueWith(static t => t.Exception, TaskContinuationOptions.OnlyOnFaulted);
                _log.Info("Push token of {0} device {1} removed: {2} said {3}", push.User.Value, push.Device.Value, provider, outcome.Reason);
                break;
            default:
                _metrics.Failed(provider, outcome.Reason);
                break;
        }
    }
}
