using System.Diagnostics;
using System.Net.Sockets;
using Akka.WhatsApp.Client;
using Akka.WhatsApp.Host;
using Akka.WhatsApp.Protocol;
using Akka.WhatsApp.Protocol.Framing;
using Google.Protobuf;
using Xunit;
using Xunit.Abstractions;
using static Akka.WhatsApp.Integration.Tests.TestUsers;

namespace Akka.WhatsApp.Integration.Tests;

/// <summary>
/// Slow and stuck clients (#21 item 3): devices that log in and then stop reading while messages pour in. Their
/// deliveries wait (delivery window, socket write water marks) with the entries kept in their mailboxes; other
/// clients keep chatting meanwhile; once a stuck device reads again it gets its whole backlog, in order, once.
/// </summary>
public sealed class StuckClientsSpec(ITestOutputHelper output)
{
    private const int StuckDevices = 5;
    private const int MessagesEach = 600;
    private const int BodyBytes = 16 * 1024; // 600 × 16 KiB = 9.4 MiB per device: more than loopback socket buffers hold
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    /// <summary>A device logged in over a socket with a small receive buffer that its test stops reading.</summary>
    private sealed class StuckDevice : IAsyncDisposable
    {
        private readonly TcpClient _tcp;
        private readonly NetworkStream _stream;
        private readonly FrameReader _reader;

        private StuckDevice(TcpClient tcp)
        {
            _tcp = tcp;
            _stream = tcp.GetStream();
            _reader = new FrameReader(_stream);
        }

        public static async Task<StuckDevice> LoginAsync(int port, Credentials credentials)
        {
            var tcp = new TcpClient { ReceiveBufferSize = 4096 };
            await tcp.ConnectAsync("127.0.0.1", port);
            var device = new StuckDevice(tcp);
            await device._stream.WriteFrameAsync(new Frame { RequestId = 1, Hello = new Hello { ProtocolVersion = ProtocolVersion.Current, ClientName = "stuck", Platform = Platform.Android } });
            await device.ReadUntilAsync(Frame.PacketOneofCase.Welcome);
            await device._stream.WriteFrameAsync(new Frame
            {
                RequestId = 2,
                Login = new Login { UserId = credentials.UserId, DeviceId = credentials.DeviceId, Token = ByteString.CopyFrom(credentials.Token) },
            });
            await device.ReadUntilAsync(Frame.PacketOneofCase.LoginOk);
            await device.ReadUntilAsync(Frame.PacketOneofCase.QueueEmpty);
            return device; // from here on nobody reads until DrainAsync
        }

        private async Task ReadUntilAsync(Frame.PacketOneofCase kind)
        {
            while (await _reader.ReadAsync().AsTask().WaitAsync(Wait) is { } frame)
                if (frame.PacketCase == kind)
                    return;
            throw new IOException($"closed before {kind}");
        }

        /// <summary>Reads and acknowledges until <paramref name="count"/> messages arrived; their texts in arrival order.</summary>
        public async Task<List<string>> DrainAsync(int count)
        {
            var texts = new List<string>();
            ulong lastSeq = 0;
            while (texts.Count < count && await _reader.ReadAsync().AsTask().WaitAsync(Wait) is { } frame)
            {
                if (frame.PacketCase != Frame.PacketOneofCase.Deliver)
                    continue;
                Assert.True(frame.Deliver.Seq > lastSeq, $"seq {frame.Deliver.Seq} after {lastSeq}");
                lastSeq = frame.Deliver.Seq;
                texts.Add(frame.Deliver.Ciphertext.Span[..8].ToArray() is var head ? System.Text.Encoding.ASCII.GetString(head) : "");
                if (texts.Count % 50 == 0 || texts.Count == count)
                    await _stream.WriteFrameAsync(new Frame { Ack = new Ack { UpToSeq = lastSeq } });
            }
            return texts;
        }

        public ValueTask DisposeAsync()
        {
            _tcp.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    [Fact]
    public async Task Devices_that_stop_reading_keep_their_backlog_in_order_while_the_others_chat_on()
    {
        var settings = await TestNodes.SettingsAsync(JournalKind.Sqlite) with { SendRate = 100_000, HeartbeatSeconds = 3600 };
        await using var node = await TestNodes.StartAsync(settings);
        var port = (await node.EdgeEndpoint).Port;
        var sender = await RegisterAsync(node);
        var (alice, bob) = (await RegisterAsync(node), await RegisterAsync(node));
        var stuckUsers = await Task.WhenAll(Enumerable.Range(0, StuckDevices).Select(_ => RegisterAsync(node)));
        var stuck = new List<StuckDevice>();
        foreach (var user in stuckUsers)
            stuck.Add(await StuckDevice.LoginAsync(port, user));
        try
        {
            GC.Collect();
            var heapBefore = GC.GetTotalMemory(forceFullCollection: true);

            // 3,000 messages of 16 KiB to devices that read nothing, while alice and bob chat.
            await using var s = await ConnectAsync(node, sender);
            var pouring = Task.WhenAll(stuckUsers.Select(async user =>
            {
                for (var i = 0; i < MessagesEach; i++)
                {
                    var body = new byte[BodyBytes];
                    System.Text.Encoding.ASCII.GetBytes(i.ToString("D8", System.Globalization.CultureInfo.InvariantCulture), body);
                    await s.SendAsync(user.UserId, body);
                }
            }));
            await using var a = await ConnectAsync(node, alice);
            await using var b = await ConnectAsync(node, bob);
            var latencies = new List<double>();
            for (var i = 0; i < 50; i++)
            {
                var clock = Stopwatch.StartNew();
                await a.SendAsync(bob.UserId, Payload($"chat {i}"));
                var got = await b.NextAsync<MessageReceived>(timeout: Wait);
                latencies.Add(clock.Elapsed.TotalMilliseconds);
                Assert.Equal($"chat {i}", got.Single().Text());
            }
            await pouring.WaitAsync(TimeSpan.FromMinutes(3));
            GC.Collect();
            var heapAfter = GC.GetTotalMemory(forceFullCollection: true);
            latencies.Sort();
            output.WriteLine($"{StuckDevices} stuck devices, {StuckDevices * MessagesEach} × {BodyBytes / 1024} KiB accepted for them; " +
                $"alice→bob during it: p50 {latencies[latencies.Count / 2]:F1} ms, max {latencies[^1]:F1} ms; " +
                $"managed heap {heapBefore / 1048576.0:F1} → {heapAfter / 1048576.0:F1} MiB");

            // Reading again, each stuck device gets all it was sent, in the order it was sent, once.
            foreach (var device in stuck)
            {
                var texts = await device.DrainAsync(MessagesEach);
                var expected = Enumerable.Range(0, MessagesEach).Select(i => i.ToString("D8", System.Globalization.CultureInfo.InvariantCulture)).ToList();
                var first = Enumerable.Range(0, MessagesEach).FirstOrDefault(i => texts[i] != expected[i], -1);
                Assert.True(first < 0, $"at {first}: got {string.Join(", ", texts.Skip(Math.Max(0, first - 3)).Take(8))}");
            }
        }
        finally
        {
            foreach (var device in stuck)
                await device.DisposeAsync();
        }
    }
}
