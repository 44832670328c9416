using Akka.WhatsApp.Protocol.Framing;
using FsCheck;
using FsCheck.Xunit;
using Google.Protobuf;
using Xunit;

namespace Akka.WhatsApp.Protocol.Tests;

/// <summary>Reading frames from a stream whatever the read sizes, and writing them back.</summary>
public sealed class FrameReaderSpec
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private static async Task<List<Frame>> ReadAllAsync(FrameReader reader)
    {
        var frames = new List<Frame>();
        while (await reader.ReadAsync().AsTask().WaitAsync(Wait) is { } frame)
            frames.Add(frame);
        return frames;
    }

    private static byte[] EncodeAll(IEnumerable<Frame> frames) => frames.SelectMany(FrameCodec.Encode).ToArray();

    [Fact]
    public async Task A_stream_that_returns_one_byte_per_read_yields_every_frame_in_order()
    {
        var frames = SamplePackets.All().ToList();
        var stream = new ChunkedStream(EncodeAll(frames), chunkSize: 1);

        var read = await ReadAllAsync(new FrameReader(stream));

        Assert.Equal(frames, read);
        Assert.True(stream.Reads >= EncodeAll(frames).Length, "every byte should have come in its own read");
    }

    [Fact]
    public async Task Many_frames_arriving_in_one_read_are_returned_one_by_one()
    {
        var frames = Enumerable.Range(1, 200).Select(i => new Frame { RequestId = (uint)i, Ping = new Ping { ClientTimestamp = (ulong)i } }).ToList();
        var bytes = EncodeAll(frames);
        var stream = new ChunkedStream(bytes, chunkSize: bytes.Length);

        var read = await ReadAllAsync(new FrameReader(stream));

        Assert.Equal(frames, read);
        // The 4 KiB internal buffer holds many frames, so far fewer reads than frames were needed.
        Assert.True(stream.Reads < frames.Count / 4, $"{stream.Reads} reads for {frames.Count} frames");
    }

    [Fact]
    public async Task A_frame_larger_than_the_initial_buffer_is_read_across_many_reads()
    {
        var big = SamplePackets.Send(ciphertextLength: 20_000);
        var frames = new[] { SamplePackets.Hello(), big, SamplePackets.Deliver() };

        var read = await ReadAllAsync(new FrameReader(new ChunkedStream(EncodeAll(frames), chunkSize: 1000)));

        Assert.Equal(frames, read);
    }

    [Fact]
    public async Task An_empty_stream_is_a_clean_end_and_returns_null()
    {
        var reader = new FrameReader(new MemoryStream());
        Assert.Null(await reader.ReadAsync());
    }

    [Fact]
    public async Task The_end_of_the_stream_inside_a_frame_throws_FrameFormatException_at_every_cut()
    {
        var encoded = FrameCodec.Encode(SamplePackets.Send());

        for (var cut = 1; cut < encoded.Length; cut += cut < 10 ? 1 : 37)
        {
            var reader = new FrameReader(new ChunkedStream(encoded[..cut], chunkSize: 7));
            var e = await Assert.ThrowsAsync<FrameFormatException>(() => reader.ReadAsync().AsTask());
            Assert.Equal(DecodeStatus.NeedMoreData, e.Status);
        }
    }

    [Fact]
    public async Task An_oversize_frame_throws_TooLarge_before_its_body_is_read()
    {
        var prefix = new byte[Varint32.MaxLength];
        var n = Varint32.Write(prefix, 1025);
        var bytes = prefix[..n].Concat(new byte[1025]).ToArray();
        var reader = new FrameReader(new ChunkedStream(bytes, chunkSize: 1) { ForbidReadsAfter = n }, maxFrameSize: 1024);

        var e = await Assert.ThrowsAsync<FrameFormatException>(() => reader.ReadAsync().AsTask());

        Assert.Equal(DecodeStatus.TooLarge, e.Status);
    }

    [Fact]
    public async Task A_malformed_body_throws_MalformedBody_and_the_reader_stays_failed()
    {
        byte[] bytes = [4, 0xFF, 0xFF, 0xFF, 0xFF, .. FrameCodec.Encode(SamplePackets.Hello())];
        var reader = new FrameReader(new MemoryStream(bytes));

        var first = await Assert.ThrowsAsync<FrameFormatException>(() => reader.ReadAsync().AsTask());
        var second = await Assert.ThrowsAsync<FrameFormatException>(() => reader.ReadAsync().AsTask());

        Assert.Equal(DecodeStatus.MalformedBody, first.Status);
        Assert.Equal(DecodeStatus.MalformedBody, second.Status);
    }

    [Fact]
    public async Task A_malformed_length_prefix_throws_MalformedLength()
    {
        var reader = new FrameReader(new MemoryStream([0x80, 0x80, 0x80, 0x80, 0x80, 0x00]));
        var e = await Assert.ThrowsAsync<FrameFormatException>(() => reader.ReadAsync().AsTask());
        Assert.Equal(DecodeStatus.MalformedLength, e.Status);
    }

    [Fact]
    public async Task A_pending_read_on_an_idle_stream_is_cancellable()
    {
        var reader = new FrameReader(new SilentStream());
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reader.ReadAsync(cancel.Token).AsTask().WaitAsync(Wait));
    }

    [Fact]
    public async Task WriteFrameAsync_writes_exactly_what_Encode_produces()
    {
        var stream = new MemoryStream();
        foreach (var frame in SamplePackets.All())
            await stream.WriteFrameAsync(frame);

        Assert.Equal(EncodeAll(SamplePackets.All()), stream.ToArray());
    }

    [Fact]
    public async Task Frames_written_with_WriteFrameAsync_read_back_through_a_real_pipe()
    {
        using var server = new System.IO.Pipes.AnonymousPipeServerStream(System.IO.Pipes.PipeDirection.Out);
        using var client = new System.IO.Pipes.AnonymousPipeClientStream(System.IO.Pipes.PipeDirection.In, server.ClientSafePipeHandle);
        var frames = SamplePackets.All().Append(SamplePackets.Send(ciphertextLength: 15_000)).ToList();

        var writer = Task.Run(async () =>
        {
            foreach (var frame in frames)
                await server.WriteFrameAsync(frame);
            server.Dispose();
        });
        var read = await ReadAllAsync(new FrameReader(client));
        await writer.WaitAsync(Wait);

        Assert.Equal(frames, read);
    }

    [Property(MaxTest = 200)]
    public async Task Any_sequence_of_frames_cut_into_random_chunks_reads_back_identically(PositiveInt count, int seed)
    {
        var random = new Random(seed);
        var frames = Enumerable.Range(0, count.Get % 30 + 1)
            .Select(i => new Frame
            {
                RequestId = (uint)random.Next(),
                Deliver = new Deliver { Seq = (ulong)i, Ciphertext = ByteString.CopyFrom(new byte[random.Next(0, 9000)]) },
            })
            .ToList();
        var stream = new ChunkedStream(EncodeAll(frames), () => random.Next(1, 5000));

        var read = await ReadAllAsync(new FrameReader(stream));

        Assert.Equal(frames, read);
    }
}
