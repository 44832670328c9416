using System.Diagnostics;
using System.Net;
using Akka.WhatsApp.Client;
using Akka.WhatsApp.Client.Media;
using Akka.WhatsApp.LoadTest.Core;
using Akka.WhatsApp.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Akka.WhatsApp.LoadTest.Scenarios;

/// <summary>
/// The media path (PROTOCOL.md §12) under concurrent uploaders, each a connected user looping over its own random
/// bytes: the full upload as the SDK makes it (<see cref="MediaTransfer.UploadAsync"/>: encrypt, RequestUploadUrl, PUT,
/// UploadComplete), each part timed from the outside; then every upload downloaded back and compared byte for byte.
/// Beside them, at the same concurrency and with the same bytes, the physical limits the overhead is a ratio of: a
/// file written and fsynced (the local store fsyncs each object), and a plain HTTP PUT to a sink on loopback that
/// discards the body.
/// </summary>
public sealed class MediaScenario : IScenario
{
    /// <summary>MB in this report: 2^20 bytes, so that --size 1048576 is "1 MB".</summary>
    private const double Mb = 1 << 20;

    /// <summary>The requirement: a 1 MB upload within 2 s at p95 (with 50 concurrent uploaders).</summary>
    private const double RequirementMs = 2000;

    /// <summary>An uploader that failed this many times in a row stops, rather than spinning on a dead connection.</summary>
    private const int MaxConsecutiveFailures = 10;

    private const string Upload = "upload";
    private const string Download = "download";
    private const string Disk = "disk write + fsync (baseline)";
    private const string PlainPut = "plain HTTP PUT (baseline)";

    private static readonly MediaReference Template = new() { MimeType = "application/octet-stream" };

    public string Name => "media";

    public string Usage => """
        Media uploads (encrypt + RequestUploadUrl + PUT + UploadComplete) by concurrent uploaders, their downloads verified byte for byte,
        beside a disk write + fsync and a plain HTTP PUT to a loopback sink with the same bytes and concurrency (the physical limits).
          --uploaders 50  --size 1048576 (bytes per upload)  --seconds 20 (per step)  --warmup 2 (seconds of untimed uploads and PUTs first)
          --kind image  --per-user 60 (uploads before an uploader continues as a fresh user: the server's WA_MEDIA_UPLOADS_PER_MINUTE)
        """;

    public async Task<ScenarioRun> RunAsync(LoadContext context, ScenarioArgs args, CancellationToken cancellationToken)
    {
        var count = args.Int("uploaders", 50);
        var size = args.Int("size", 1 << 20);
        var seconds = TimeSpan.FromSeconds(args.Double("seconds", 20));
        var warmup = TimeSpan.FromSeconds(args.Double("warmup", 2));
        var kindName = args.String("kind", "image");
        var perUser = args.Int("per-user", 60);
        if (count <= 0 || size <= 0 || perUser <= 0 || !(seconds > TimeSpan.Zero) || warmup < TimeSpan.Zero)
            throw new ArgumentException("media needs --uploaders, --size, --per-user and --seconds above 0, and --warmup of 0 or more");
        var kind = Enum.TryParse<MediaKind>(kindName.Replace("-", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal), ignoreCase: true, out var k)
                   && k is not MediaKind.Unspecified && Enum.IsDefined(k)
            ? k
            : throw new ArgumentException($"--kind is one of {string.Join(", ", Enum.GetNames<MediaKind>().Skip(1).Select(n => n.ToLowerInvariant()))}, not '{kindName}'");
        var started = DateTimeOffset.UtcNow;

        var dir = Directory.CreateTempSubdirectory("wa-media-bench-").FullName;
        await using var users = new UserPool(context, count);
        var uploaders = Enumerable.Range(0, count).Select(i => new Uploader(i, size)).ToList();
        var steps = new List<StepResult>();
        try
        {
            // Every uploader starts with a user of its own, all connected before the clock starts.
            foreach (var u in uploaders)
                u.Client = await users.NextAsync(cancellationToken);

            var upload = await UploadStepAsync(context, uploaders, users, kind, perUser, warmup, seconds, cancellationToken);
            var download = await DownloadStepAsync(context, uploaders, dir, cancellationToken);
            var disk = await DiskStepAsync(context, uploaders, dir, seconds, cancellationToken);
            var put = await PlainPutStepAsync(context, uploaders, warmup, seconds, cancellationToken);
            steps.AddRange([upload.Result, download.Result, disk.Result, put.Result]);

            // The overhead over the physical limits, as ratios (1 = as fast as the limit).
            foreach (var (step, timing) in new[] { (upload.Result, upload.Timing), (download.Result, download.Timing) })
            {
                Ratio(step, "MB/s ÷ plain PUT MB/s", step.Figures.GetValueOrDefault("MB/s"), put.Result.Figures.GetValueOrDefault("MB/s"));
                Ratio(step, "MB/s ÷ disk fsync MB/s", step.Figures.GetValueOrDefault("MB/s"), disk.Result.Figures.GetValueOrDefault("MB/s"));
                Ratio(step, "p95 ÷ plain PUT p95", timing.P95 ?? 0, put.Timing.P95 ?? 0);
            }
            upload.Result.Counts["users"] = users.Count;
            upload.Result.Notes.Add($"each blob is {MediaCipher.EncryptedLengthOf(size):N0} bytes (AES-CBC padding and a {MediaCipher.MacSize}-byte MAC on {size:N0} bytes); " +
                                    "MB/s counts plaintext, MB = 1,048,576 bytes; the parts are timed around the SDK's calls: encrypt (to a temporary file) until " +
                                    "the plaintext is read to its end, RequestUploadUrl until the PUT goes out, PUT until its answer, UploadComplete until the reference is back");
            upload.Result.Notes.Add($"each user makes at most {perUser} uploads (the server allows {perUser} a minute per user by default), then its uploader " +
                                    $"continues as a fresh user: {users.Count} users for {upload.Result.Count("done") + upload.Warmed} uploads including the warm-up");
            put.Result.Notes.Add("the sink is Kestrel in the generator's process, reading and dropping the body; the generator, the sink and the server share this machine");

            var p95 = upload.Timing.P95;
            var verdict = size == 1 << 20 && p95 is { } p ? (p < RequirementMs ? ": met" : ": NOT met") : "";
            return new ScenarioRun
            {
                Scenario = Name,
                Title = $"media: {count} concurrent uploaders of {Size(size)} {kindName} media, their downloads, and the disk and HTTP limits",
                StartedAt = started,
                Parameters = new(args.Used),
                Steps = steps,
                Summary = $"{Size(size)} upload p95 {Ms(p95)} ms with {count} uploaders (requirement < {RequirementMs:0} ms{verdict}); " +
                          $"{Mbps(upload.Result)} MB/s up, {Mbps(download.Result)} MB/s down; plain PUT {Mbps(put.Result)} MB/s, disk write + fsync {Mbps(disk.Result)} MB/s",
            };
        }
        finally
        {
            foreach (var u in uploaders)
                u.Dispose();
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// Every uploader uploads its bytes again and again: for <paramref name="warmup"/> untimed (the JIT, the pools), then
    /// for <paramref name="seconds"/> timed. A user whose budget is spent, or who was rate limited, is replaced by a fresh one.
    /// </summary>
    private static async Task<(StepResult Result, Timing Timing, long Warmed)> UploadStepAsync(LoadContext context, List<Uploader> uploaders, UserPool users,
        MediaKind kind, int perUser, TimeSpan warmup, TimeSpan seconds, CancellationToken ct)
    {
        var errors = new Dictionary<string, long>();
        context.Progress.WriteLine($"loadtest: {uploaders.Count} uploaders, {warmup.TotalSeconds:0.#} s warm-up");
        await Task.WhenAll(uploaders.Select(u => UploadLoopAsync(u, users, kind, perUser, warmup, null, errors, ct)));
        var warmed = uploaders.Sum(u => (long)u.WarmUp.Count);

        context.Progress.WriteLine($"loadtest: uploading for {seconds.TotalSeconds:0.#} s");
        var parts = new UploadParts();
        var cpuFrom = context.Stats.Take();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(uploaders.Select(u => UploadLoopAsync(u, users, kind, perUser, seconds, parts, errors, ct)));
        var elapsed = clock.Elapsed;
        var cpu = context.Stats.Between(cpuFrom, context.Stats.Take());
        var done = uploaders.Sum(u => (long)u.Uploaded.Count);
        var result = Step(Upload, elapsed, done, "uploads/s", done * (long)uploaders[0].Data.Length, parts.Whole, errors, cpu,
            parts.Encrypt, parts.UploadUrl, parts.Put, parts.Complete);
        if (uploaders.Count(u => u.GaveUp) is > 0 and var gaveUp)
            result.Notes.Add($"{gaveUp} uploaders stopped after {MaxConsecutiveFailures} failures in a row");
        return (result, parts.Whole, warmed);
    }

    private static async Task UploadLoopAsync(Uploader u, UserPool users, MediaKind kind, int perUser, TimeSpan length, UploadParts? parts,
        Dictionary<string, long> errors, CancellationToken ct)
    {
        var end = Stopwatch.GetTimestamp() + (long)(length.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < end && !u.GaveUp)
        {
            if (u.ClientUploads >= perUser)
            {
                u.Client = await users.NextAsync(ct);
                u.ClientUploads = 0;
            }
            u.ClientUploads++;
            var plaintext = new Plaintext(u.Data);
            u.Timer.Clear();
            var begin = Stopwatch.GetTimestamp();
            try
            {
                var reference = await new MediaTransfer(u.Client!, u.Http).UploadAsync(plaintext, kind, Template, cancellationToken: ct);
                var finished = Stopwatch.GetTimestamp();
                u.Failures = 0;
                if (parts is null)
                {
                    u.WarmUp.Add(reference);
                    continue;
                }
                u.Uploaded.Add(reference);
                parts.Whole.Record(begin, finished);
                parts.Encrypt.RecordElapsed(begin, plaintext.EndedAt);
                parts.UploadUrl.RecordElapsed(plaintext.EndedAt, u.Timer.SentAt);
                parts.Put.RecordElapsed(u.Timer.SentAt, u.Timer.AnsweredAt);
                parts.Complete.RecordElapsed(u.Timer.AnsweredAt, finished);
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                Count(errors, (parts is null ? "warm-up " : "") + CodeOf(e));
                if (e is ServerErrorException { Code: ErrorCode.RateLimited })
                    u.ClientUploads = perUser; // the server allows fewer than --per-user: on with a fresh user
                if (++u.Failures >= MaxConsecutiveFailures)
                    u.GaveUp = true;
            }
        }
    }

    /// <summary>Every uploader downloads what it uploaded (the warm-up's first, untimed), each checked against its bytes and deleted.</summary>
    private static async Task<(StepResult Result, Timing Timing)> DownloadStepAsync(LoadContext context, List<Uploader> uploaders, string dir, CancellationToken ct)
    {
        var errors = new Dictionary<string, long>();
        var whole = new Timing("download + decrypt");
        var url = new LatencyRecorder("RequestDownloadUrl");
        var fetch = new LatencyRecorder("GET + check + decrypt");
        long verified = 0, corrupt = 0;
        context.Progress.WriteLine($"loadtest: downloading {uploaders.Sum(u => u.Uploaded.Count)} uploads");
        await Task.WhenAll(uploaders.Select(u => DownloadAllAsync(u, u.WarmUp, timed: false)));
        var cpuFrom = context.Stats.Take();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(uploaders.Select(u => DownloadAllAsync(u, u.Uploaded, timed: true)));
        var elapsed = clock.Elapsed;
        var cpu = context.Stats.Between(cpuFrom, context.Stats.Take());
        var done = whole.Recorder.Count;
        var result = Step(Download, elapsed, done, "downloads/s", done * (long)uploaders[0].Data.Length, whole, errors, cpu, url, fetch);
        result.Counts["verified"] = verified;
        result.Counts["corrupt"] = corrupt;
        result.Notes.Add("the SDK checks the blob's SHA-256 and MAC and the plaintext's SHA-256 while decrypting; each file is then compared with the bytes " +
                         "uploaded outside the timing; a mismatch or a failed check counts as an error \"corrupt\"");
        return (result, whole);

        async Task DownloadAllAsync(Uploader u, List<MediaReference> references, bool timed)
        {
            for (var n = 0; n < references.Count; n++)
            {
                var path = Path.Combine(dir, $"download-{u.Index}-{(timed ? "" : "warm-")}{n}");
                u.Timer.Clear();
                var begin = Stopwatch.GetTimestamp();
                try
                {
                    await new MediaTransfer(u.Client!, u.Http).DownloadAsync(references[n], path, cancellationToken: ct);
                    var finished = Stopwatch.GetTimestamp();
                    if (!timed)
                        continue;
                    whole.Record(begin, finished);
                    url.RecordElapsed(begin, u.Timer.SentAt);
                    fetch.RecordElapsed(u.Timer.SentAt, finished);
                    if ((await File.ReadAllBytesAsync(path, ct)).AsSpan().SequenceEqual(u.Data))
                    {
                        Interlocked.Increment(ref verified);
                        continue;
                    }
                    Interlocked.Increment(ref corrupt);
                    Count(errors, "corrupt");
                }
                catch (Exception e) when (!ct.IsCancellationRequested)
                {
                    if (e is MediaIntegrityException && timed)
                        Interlocked.Increment(ref corrupt);
                    Count(errors, (timed ? "" : "warm-up ") + CodeOf(e));
                }
                finally
                {
                    File.Delete(path);
                    File.Delete(path + ".blob"); // what a failed download leaves to resume from
                }
            }
        }
    }

    /// <summary>The disk's limit: each uploader's bytes written to a new file and fsynced, again and again, each on a thread of its own (the writes block).</summary>
    private static async Task<(StepResult Result, Timing Timing)> DiskStepAsync(LoadContext context, List<Uploader> uploaders, string dir, TimeSpan seconds,
        CancellationToken ct)
    {
        var errors = new Dictionary<string, long>();
        var timing = new Timing("write + fsync");
        context.Progress.WriteLine($"loadtest: writing files with fsync for {seconds.TotalSeconds:0.#} s");
        var cpuFrom = context.Stats.Take();
        var clock = Stopwatch.StartNew();
        var end = Stopwatch.GetTimestamp() + (long)(seconds.TotalSeconds * Stopwatch.Frequency);
        await Task.WhenAll(uploaders.Select(u => Task.Factory.StartNew(() =>
        {
            for (var n = 0; Stopwatch.GetTimestamp() < end && !ct.IsCancellationRequested; n++)
            {
                var path = Path.Combine(dir, $"disk-{u.Index}-{n}");
                var begin = Stopwatch.GetTimestamp();
                try
                {
                    using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024))
                    {
                        file.Write(u.Data);
                        file.Flush(flushToDisk: true);
                    }
                    timing.Record(begin, Stopwatch.GetTimestamp());
                }
                catch (IOException e)
                {
                    Count(errors, CodeOf(e));
                }
                finally
                {
                    File.Delete(path);
                }
            }
        }, ct, TaskCreationOptions.LongRunning, TaskScheduler.Default)));
        ct.ThrowIfCancellationRequested();
        var elapsed = clock.Elapsed;
        var cpu = context.Stats.Between(cpuFrom, context.Stats.Take());
        var done = timing.Recorder.Count;
        return (Step(Disk, elapsed, done, "writes/s", done * (long)uploaders[0].Data.Length, timing, errors, cpu), timing);
    }

    /// <summary>The HTTP limit: the same bytes PUT by the same number of clients to a Kestrel sink on 127.0.0.1 that reads and drops them.</summary>
    private static async Task<(StepResult Result, Timing Timing)> PlainPutStepAsync(LoadContext context, List<Uploader> uploaders, TimeSpan warmup,
        TimeSpan seconds, CancellationToken ct)
    {
        var listening = await StartSinkAsync(uploaders[0].Data.Length, ct);
        await using var sink = listening.Sink;
        var target = listening.Target;
        var errors = new Dictionary<string, long>();
        var timing = new Timing("PUT");
        context.Progress.WriteLine($"loadtest: plain PUTs to {target} for {seconds.TotalSeconds:0.#} s");
        await Task.WhenAll(uploaders.Select(u => PutLoopAsync(u, warmup, null)));
        var cpuFrom = context.Stats.Take();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(uploaders.Select(u => PutLoopAsync(u, seconds, timing)));
        var elapsed = clock.Elapsed;
        var cpu = context.Stats.Between(cpuFrom, context.Stats.Take());
        var done = timing.Recorder.Count;
        return (Step(PlainPut, elapsed, done, "PUTs/s", done * (long)uploaders[0].Data.Length, timing, errors, cpu), timing);

        async Task PutLoopAsync(Uploader u, TimeSpan length, Timing? timed)
        {
            var end = Stopwatch.GetTimestamp() + (long)(length.TotalSeconds * Stopwatch.Frequency);
            var failures = 0;
            while (Stopwatch.GetTimestamp() < end && failures < MaxConsecutiveFailures)
            {
                var begin = Stopwatch.GetTimestamp();
                try
                {
                    using var content = new ByteArrayContent(u.Data);
                    using var response = await u.Http.PutAsync(target, content, ct);
                    response.EnsureSuccessStatusCode();
                    timed?.Record(begin, Stopwatch.GetTimestamp());
                    failures = 0;
                }
                catch (Exception e) when (!ct.IsCancellationRequested)
                {
                    Count(errors, (timed is null ? "warm-up " : "") + CodeOf(e));
                    failures++;
                }
            }
        }
    }

    private static async Task<(WebApplication Sink, Uri Target)> StartSinkAsync(int size, CancellationToken ct)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = size + 1;
            kestrel.Listen(IPAddress.Loopback, 0);
        });
        builder.Services.AddRoutingCore();
        var app = builder.Build();
        app.Map("/sink", async http =>
        {
            var body = http.Request.BodyReader;
            while (true)
            {
                var read = await body.ReadAsync(http.RequestAborted);
                body.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted)
                    break;
            }
            http.Response.StatusCode = StatusCodes.Status200OK;
        });
        await app.StartAsync(ct);
        // Port 0 asked for any free port: the addresses feature has the one bound.
        var bound = new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
        return (app, new Uri(bound, "/sink"));
    }

    private static StepResult Step(string label, TimeSpan elapsed, long done, string unit, long bytes, Timing timing, Dictionary<string, long> errors, CpuSplit cpu,
        params LatencyRecorder[] more)
    {
        var result = new StepResult
        {
            Label = label,
            Seconds = elapsed.TotalSeconds,
            Throughput = done / elapsed.TotalSeconds,
            ThroughputUnit = unit,
            Counts = new() { ["done"] = done },
            Errors = errors,
            Latencies = [timing.Recorder.Summarize(), .. more.Select(l => l.Summarize())],
            Cpu = cpu,
        };
        if (done > 0)
        {
            result.Figures["MB/s"] = Math.Round(bytes / Mb / elapsed.TotalSeconds, 1);
            result.Figures["p95 ms"] = Math.Round(timing.P95!.Value, 1);
        }
        return result;
    }

    private static void Ratio(StepResult step, string name, double value, double limit)
    {
        if (value > 0 && limit > 0)
            step.Figures[name] = Math.Round(value / limit, 2);
    }

    private static string Mbps(StepResult step) => step.Figures.TryGetValue("MB/s", out var v) ? v.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture) : "–";

    private static string Ms(double? ms) => ms is { } v ? v.ToString("0", System.Globalization.CultureInfo.InvariantCulture) : "–";

    private static string Size(long bytes) => bytes % (1 << 20) == 0 ? $"{bytes >> 20} MB" : bytes % 1024 == 0 ? $"{bytes >> 10} KB" : $"{bytes:N0} B";

    /// <summary>A failure by what caused it: the HTTP status of a refused PUT or GET, "corrupt" for media that did not verify, else the server's error code.</summary>
    private static string CodeOf(Exception e) => e switch
    {
        HttpRequestException { StatusCode: { } status } => $"HTTP {(int)status}",
        MediaIntegrityException => "corrupt",
        _ => ErrorCodes.Of(e),
    };

    private static void Count(Dictionary<string, long> errors, string code)
    {
        lock (errors)
            errors[code] = errors.GetValueOrDefault(code) + 1;
    }

    /// <summary>A latency kept for the report (p50 … max) and for its p95, which the requirement is stated in and the report's table has no column for.</summary>
    private sealed class Timing(string name)
    {
        private readonly List<long> _microseconds = [];

        public LatencyRecorder Recorder { get; } = new(name);

        public double? P95
        {
            get
            {
                lock (_microseconds)
                {
                    if (_microseconds.Count == 0)
                        return null;
                    _microseconds.Sort();
                    return _microseconds[(int)Math.Ceiling(0.95 * _microseconds.Count) - 1] / 1000.0;
                }
            }
        }

        public void Record(long from, long to)
        {
            Recorder.RecordElapsed(from, to);
            lock (_microseconds)
                _microseconds.Add(Math.Max(0, to - from) * 1_000_000 / Stopwatch.Frequency);
        }
    }

    private sealed class UploadParts
    {
        public Timing Whole { get; } = new("encrypt + RequestUploadUrl + PUT + UploadComplete");
        public LatencyRecorder Encrypt { get; } = new("encrypt");
        public LatencyRecorder UploadUrl { get; } = new("RequestUploadUrl");
        public LatencyRecorder Put { get; } = new("PUT");
        public LatencyRecorder Complete { get; } = new("UploadComplete");
    }

    /// <summary>One uploader: its random bytes (made once), its HTTP client (a connection pool of its own, timed), its current user and what it uploaded.</summary>
    private sealed class Uploader : IDisposable
    {
        public Uploader(int index, int size)
        {
            Index = index;
            Data = new byte[size];
            Random.Shared.NextBytes(Data);
            Http = new HttpClient(Timer);
        }

        public int Index { get; }

        public byte[] Data { get; }

        public RequestTimer Timer { get; } = new() { InnerHandler = new SocketsHttpHandler() };

        public HttpClient Http { get; }

        public WhatsAppClient? Client { get; set; }

        /// <summary>Uploads <see cref="Client"/>'s user has made.</summary>
        public int ClientUploads { get; set; }

        public int Failures { get; set; }

        public bool GaveUp { get; set; }

        public List<MediaReference> WarmUp { get; } = [];

        public List<MediaReference> Uploaded { get; } = [];

        public void Dispose() => Http.Dispose();
    }

    /// <summary>Connected users handed out one at a time, provisioned and connected a batch at a time when none is left.</summary>
    private sealed class UserPool(LoadContext context, int batch) : IAsyncDisposable
    {
        private readonly SemaphoreSlim _gate = new(1, 1);
        private readonly Queue<WhatsAppClient> _spare = new();
        private readonly List<WhatsAppClient> _all = [];

        public int Count => _all.Count;

        public async Task<WhatsAppClient> NextAsync(CancellationToken ct)
        {
            await _gate.WaitAsync(ct);
            try
            {
                if (_spare.Count == 0)
                    foreach (var client in await context.OnlineUsersAsync(batch, ct))
                    {
                        _all.Add(client);
                        _spare.Enqueue(client);
                    }
                return _spare.Dequeue();
            }
            finally
            {
                _gate.Release();
            }
        }

        public async ValueTask DisposeAsync()
        {
            await LoadContext.DisposeAllAsync(_all);
            _gate.Dispose();
        }
    }

    /// <summary>The bytes to upload, noting when the cipher has read them to their end: the encryption is then done but for the last block and the MAC.</summary>
    private sealed class Plaintext(byte[] data) : Stream
    {
        private int _position;

        public long EndedAt { get; private set; }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => data.Length;

        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException();
        }

        public override int Read(Span<byte> buffer)
        {
            var n = Math.Min(buffer.Length, data.Length - _position);
            data.AsSpan(_position, n).CopyTo(buffer);
            _position += n;
            if (n == 0 && buffer.Length > 0 && EndedAt == 0)
                EndedAt = Stopwatch.GetTimestamp();
            return n;
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Task.FromResult(Read(buffer, offset, count));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>Notes when the last HTTP request went out and when its answer's headers came back (for a PUT: once the store has the bytes).</summary>
    private sealed class RequestTimer : DelegatingHandler
    {
        public long SentAt { get; private set; }

        public long AnsweredAt { get; private set; }

        public void Clear() => SentAt = AnsweredAt = 0;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            SentAt = Stopwatch.GetTimestamp();
            try
            {
                return await base.SendAsync(request, cancellationToken);
            }
            finally
            {
                AnsweredAt = Stopwatch.GetTimestamp();
            }
        }
    }
}
