using System.Diagnostics;
using Akka.WhatsApp.Client.Storage;
using Akka.WhatsApp.LoadTest.Core;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;

namespace Akka.WhatsApp.LoadTest.Scenarios;

/// <summary>
/// The SDK's local history and search (the device's message store, no server needed): a durable store (messages.db
/// with synchronous = FULL, as `wa` runs it) filled with a year of messages over many chats, in several scripts and with
/// emoji, then each kind of search a user makes (by text across all chats, within one, by date, by sender, by media
/// kind, a later page, a two-letter text) timed query by query.
/// </summary>
public sealed class SearchScenario : IScenario
{
    /// <summary>Words messages are made of; the last ones are rare (one message in about a thousand has one).</summary>
    private static readonly string[] Common =
    [
        "see", "you", "tomorrow", "meeting", "dinner", "tonight", "thanks", "lunch", "coffee", "train", "late", "home",
        "привет", "спасибо", "завтра", "こんにちは", "ありがとう", "明日", "مرحبا", "شكرا", "नमस्ते", "धन्यवाद", "😂", "👍", "🎉", "❤️",
    ];

    private static readonly string[] Rare = ["invoice", "passport", "birthday", "Kilimanjaro", "фестиваль", "誕生日"];

    public string Name => "search";

    public string Usage => """
        The SDK's local message store: fill it with a year of messages, then time searches (text, chat, date, sender, media kind, pages).
          --messages 100000  --chats 200  --queries 200  --dir (a folder for the store; default: a temporary one)
        """;

    public Task<ScenarioRun> RunAsync(LoadContext context, ScenarioArgs args, CancellationToken cancellationToken)
    {
        var messages = args.Int("messages", 100_000);
        var chats = Math.Max(1, args.Int("chats", 200));
        var queries = Math.Max(1, args.Int("queries", 200));
        var given = args.String("dir", "");
        var dir = given.Length > 0 ? given : Directory.CreateTempSubdirectory("wa-search-bench-").FullName;
        var started = DateTimeOffset.UtcNow;
        var steps = new List<StepResult>();
        try
        {
            using var store = MessageStore.Open(Path.Combine(dir, $"messages-{Guid.NewGuid():N}.db"));
            var year = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
            steps.Add(Fill(store, messages, chats, year, cancellationToken));

            var random = new Random(7);
            var chat = ChatId.User("user-0");
            var cases = new (string Label, Func<int, SearchQuery> Query)[]
            {
                ("a common word, all chats", i => new SearchQuery(Common[i % 12])),
                ("a rare word, all chats", i => new SearchQuery(Rare[i % Rare.Length])),
                ("non-Latin text, all chats", i => new SearchQuery(Common[12 + i % 10])),
                ("an emoji (2 characters: scan)", i => new SearchQuery(Common[22 + i % 4])),
                ("a word within one chat", i => new SearchQuery(Common[i % 12], Chat: ChatId.User($"user-{i % chats}"))),
                ("a word in one month", i => new SearchQuery(Common[i % 12], From: year.AddMonths(i % 12), To: year.AddMonths(i % 12 + 1))),
                ("a word from one sender", i => new SearchQuery(Common[i % 12], Sender: $"user-{i % chats}")),
                ("the images of one chat", i => new SearchQuery("", Chat: ChatId.User($"user-{i % chats}"), Kinds: [ContentKind.Image])),
                ("page 5 of a common word", i => new SearchQuery(Common[i % 12], Offset: 80)),
                ("a common word, best match first", i => new SearchQuery(Common[i % 12], Order: SearchOrder.Relevance)),
                ("a rare word, best match first", i => new SearchQuery(Rare[i % Rare.Length], Order: SearchOrder.Relevance)),
            };
            foreach (var (label, query) in cases)
            {
                var latency = new LatencyRecorder("query");
                var found = 0L;
                store.Search(query(0)); // the first run of each shape pays for the JIT and the page cache
                var clock = Stopwatch.StartNew();
                for (var i = 0; i < queries; i++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var q = query(random.Next(1000));
                    var t = Stopwatch.GetTimestamp();
                    found += store.Search(q).Count;
                    latency.RecordElapsed(t, Stopwatch.GetTimestamp());
                }
                steps.Add(new StepResult
                {
                    Label = label, Seconds = clock.Elapsed.TotalSeconds, Throughput = queries / clock.Elapsed.TotalSeconds, ThroughputUnit = "queries/s",
                    Counts = new() { ["queries"] = queries, ["hits"] = found }, Latencies = [latency.Summarize()],
                });
            }
            steps[0].Figures["messages.db MB"] = Math.Round(new FileInfo(store.Path).Length / 1048576.0, 1);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            if (given.Length == 0)
                Directory.Delete(dir, recursive: true);
        }
        return Task.FromResult(new ScenarioRun
        {
            Scenario = Name,
            Title = $"search: the SDK's local store, {messages:N0} messages in {chats} chats",
            StartedAt = started,
            Parameters = new(args.Used),
            Steps = steps,
            Summary = string.Join("; ", steps.Where(s => s.Latencies.Count > 0).Select(s => $"{s.Label}: p99 {s.Latencies[0].P99:F1} ms")),
        });
    }

    /// <summary>
    /// Stores <paramref name="messages"/> pushes as the SDK does (in durable batches of 100 with the ack cursor), spread
    /// over a year and over the chats, one in ten an image, texts of 3 to 12 words.
    /// </summary>
    private static StepResult Fill(MessageStore store, int messages, int chats, DateTimeOffset year, CancellationToken ct)
    {
        var random = new Random(42);
        var latency = new LatencyRecorder("batch of 100 stored");
        var span = (year.AddYears(1) - year).TotalMilliseconds;
        var batch = new List<Frame>(100);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < messages; i++)
        {
            ct.ThrowIfCancellationRequested();
            var image = i / chats % 10 == 9; // one in ten of each chat
            var words = Enumerable.Range(0, random.Next(3, 13)).Select(_ => Common[random.Next(Common.Length)]);
            if (random.Next(1000) == 0)
                words = words.Append(Rare[random.Next(Rare.Length)]);
            batch.Add(new Frame
            {
                Deliver = new Deliver
                {
                    Seq = (ulong)i + 1, MessageId = ByteString.CopyFrom(Guid.NewGuid().ToByteArray()), FromUserId = $"user-{i % chats}", FromDeviceId = 1,
                    Kind = image ? ContentKind.Image : ContentKind.Text,
                    ServerTimestamp = (ulong)year.AddMilliseconds(span * i / messages).ToUnixTimeMilliseconds(),
                    Ciphertext = image ? ByteString.CopyFrom(new byte[64]) : ByteString.CopyFromUtf8(string.Join(' ', words)),
                },
            });
            if (batch.Count == 100 || i == messages - 1)
            {
                var t = Stopwatch.GetTimestamp();
                store.Save("me", batch, (ulong)i + 1);
                latency.RecordElapsed(t, Stopwatch.GetTimestamp());
                batch.Clear();
            }
        }
        return new StepResult
        {
            Label = "fill (durable batches of 100)", Seconds = clock.Elapsed.TotalSeconds, Throughput = messages / clock.Elapsed.TotalSeconds,
            ThroughputUnit = "msg/s", Counts = new() { ["stored"] = messages }, Latencies = [latency.Summarize()],
        };
    }
}
