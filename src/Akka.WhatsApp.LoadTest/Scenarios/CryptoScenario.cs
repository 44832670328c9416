using System.Diagnostics;
using Akka.WhatsApp.Client.Crypto;
using Akka.WhatsApp.LoadTest.Core;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;

namespace Akka.WhatsApp.LoadTest.Scenarios;

/// <summary>
/// The client-side cost of end-to-end encryption (PROTOCOL.md §13a), on this machine and without a server: key
/// generation for a registration, PQXDH session setups, Double Ratchet and sender-key messages encrypted and decrypted.
/// Each on a durable key store (keys.db with synchronous = FULL, as `wa` runs it) and on an in-memory one (the
/// cryptography alone).
/// </summary>
public sealed class CryptoScenario : IScenario
{
    public string Name => "crypto";

    public string Usage => """
        The SDK's encryption cost, no server needed: registrations (key generation), PQXDH session setups/s, ratchet and sender-key messages/s.
          --sessions 200  --messages 5000  --size 100  --dir (a folder for the durable key stores; default: a temporary one)
        """;

    public Task<ScenarioRun> RunAsync(LoadContext context, ScenarioArgs args, CancellationToken cancellationToken)
    {
        var sessions = args.Int("sessions", 200);
        var messages = args.Int("messages", 5000);
        var size = args.Int("size", 100);
        var given = args.String("dir", "");
        var dir = given.Length > 0 ? given : Directory.CreateTempSubdirectory("wa-crypto-bench-").FullName;
        var started = DateTimeOffset.UtcNow;
        var steps = new List<StepResult>();
        try
        {
            // A short pass first, so that the measured ones do not pay for the JIT.
            foreach (var _ in Measure("warm-up", KeyStore.InMemory, 20, 200, size, cancellationToken))
            {
            }
            foreach (var durable in new[] { false, true })
            {
                var n = 0;
                KeyStore Store() => durable ? KeyStore.Open(Path.Combine(dir, $"keys-{n++}-{Guid.NewGuid():N}.db")) : KeyStore.InMemory();
                steps.AddRange(Measure(durable ? "durable keys.db" : "in memory", Store, sessions, messages, size, cancellationToken));
            }
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
            Title = $"crypto: the SDK's end-to-end encryption on one core, {size} B payloads",
            StartedAt = started,
            Parameters = new(args.Used),
            Steps = steps,
            Summary = string.Join("; ", steps.Select(s => $"{s.Label}: {s.Throughput:F0} {s.ThroughputUnit}")),
        });
    }

    private static IEnumerable<StepResult> Measure(string store, Func<KeyStore> open, int sessions, int messages, int size, CancellationToken ct)
    {
        var now = DateTimeOffset.UtcNow;
        var stores = new List<KeyStore>();
        KeyStore Open()
        {
            var s = open();
            stores.Add(s);
            return s;
        }
        try
        {
            // A registration's keys: identity, signed prekey, last-resort and 20 one-time ML-KEM keys, 100 one-time X25519 keys.
            var registrations = Math.Max(1, sessions / 20);
            var keygen = new LatencyRecorder("keys for one registration");
            var bobs = new List<(EndToEnd E2e, UploadKeys Published)>();
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < registrations; i++)
            {
                ct.ThrowIfCancellationRequested();
                var t = Stopwatch.GetTimestamp();
                var e2e = new EndToEnd(Open(), $"bob{i}", 1);
                bobs.Add((e2e, e2e.FullUpload(now)));
                keygen.RecordElapsed(t, Stopwatch.GetTimestamp());
            }
            yield return Step($"{store}: registration keys", registrations, clock.Elapsed, "registrations/s", keygen);

            // Session setups: PQXDH by the sender, then the responder's half with the first message.
            var alice = new EndToEnd(Open(), "alice", 1);
            var setup = new LatencyRecorder("initiate + respond");
            var payload = new E2eContent { Body = ByteString.CopyFrom(new byte[size]) };
            clock.Restart();
            for (var i = 0; i < sessions; i++)
            {
                ct.ThrowIfCancellationRequested();
                var (bob, published) = bobs[i % bobs.Count];
                var k = i / bobs.Count % published.OneTimePrekeys.Count;
                var bundle = new PreKeyBundle
                {
                    DeviceId = (uint)(i + 1), RegistrationId = published.RegistrationId, IdentityKey = published.IdentityKey, SignedPrekey = published.SignedPrekey,
                    OneTimePrekey = published.OneTimePrekeys[k], KemPrekey = published.KemLastResortPrekey,
                };
                var t = Stopwatch.GetTimestamp();
                alice.Start("bob", bundle);
                var first = alice.Encrypt("bob", bundle.DeviceId, payload);
                bob.Decrypt("alice", (uint)(i + 1), first.Type, first.Ciphertext);
                bob.Commit();
                setup.RecordElapsed(t, Stopwatch.GetTimestamp());
            }
            yield return Step($"{store}: session setups", sessions, clock.Elapsed, "sessions/s", setup);

            // Ratchet messages both ways on one session (a DH step every 10 messages), encrypt and decrypt timed apart.
            var (peer, _) = bobs[0];
            var encrypt = new LatencyRecorder("encrypt");
            var decrypt = new LatencyRecorder("decrypt");
            clock.Restart();
            for (var i = 0; i < messages; i++)
            {
                ct.ThrowIfCancellationRequested();
                var fromAlice = i / 10 % 2 == 0;
                var (from, to, toName, fromName) = fromAlice ? (alice, peer, "bob", "alice") : (peer, alice, "alice", "bob");
                var t0 = Stopwatch.GetTimestamp();
                var c = from.Encrypt(toName, 1, payload);
                var t1 = Stopwatch.GetTimestamp();
                to.Decrypt(fromName, 1, c.Type, c.Ciphertext);
                to.Commit();
                decrypt.RecordElapsed(t1, Stopwatch.GetTimestamp());
                encrypt.RecordElapsed(t0, t1);
            }
            yield return Step($"{store}: ratchet messages", messages, clock.Elapsed, "msg/s", encrypt, decrypt);

            // Sender keys: one encryption per group message, one decryption per member.
            const string group = "0123456789abcdef0123456789abcdef";
            peer.Accept("alice", 1, alice.OwnSenderKey(group, out _).Distribution(group));
            var groupEncrypt = new LatencyRecorder("encrypt");
            var groupDecrypt = new LatencyRecorder("decrypt");
            clock.Restart();
            for (var i = 0; i < messages; i++)
            {
                ct.ThrowIfCancellationRequested();
                var t0 = Stopwatch.GetTimestamp();
                var c = alice.GroupEncrypt(group, payload);
                var t1 = Stopwatch.GetTimestamp();
                peer.Decrypt("alice", 1, CiphertextType.SenderKeyMessage, c, group);
                peer.Commit();
                groupDecrypt.RecordElapsed(t1, Stopwatch.GetTimestamp());
                groupEncrypt.RecordElapsed(t0, t1);
            }
            yield return Step($"{store}: sender-key messages", messages, clock.Elapsed, "msg/s", groupEncrypt, groupDecrypt);
        }
        finally
        {
            foreach (var s in stores)
                s.Dispose();
        }
    }

    private static StepResult Step(string label, int count, TimeSpan elapsed, string unit, params LatencyRecorder[] latencies) => new()
    {
        Label = label,
        Seconds = elapsed.TotalSeconds,
        Throughput = count / elapsed.TotalSeconds,
        ThroughputUnit = unit,
        Counts = new() { ["done"] = count },
        Latencies = [.. latencies.Select(l => l.Summarize())],
    };
}
