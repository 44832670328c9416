using Akka.WhatsApp.Edge.Tcp;
using Akka.WhatsApp.Protocol;
using Akka.WhatsApp.Protocol.Framing;
using DotNetty.Buffers;
using DotNetty.Transport.Channels.Embedded;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Akka.WhatsApp.Edge.Tests;

/// <summary>The real connection pipeline (decoder, encoder, session) on DotNetty's EmbeddedChannel.</summary>
public sealed class PipelineSpec
{
    private static readonly EdgeSettings Settings = new() { MaxFrameSize = 4096, HeartbeatInterval = TimeSpan.FromSeconds(30) };

    private static EmbeddedChannel NewChannel()
    {
        var channel = new EmbeddedChannel();
        new DotNettyTransport(Settings, TimeProvider.System, NullLoggerFactory.Instance)
            .ConfigurePipeline(channel.Pipeline, NullLogger.Instance);
        channel.Pipeline.FireChannelActive();
        return channel;
    }

    private static IByteBuffer Bytes(params byte[] bytes) => Unpooled.WrappedBuffer(bytes);

    private static List<Frame> Outbound(EmbeddedChannel channel)
    {
        var bytes = new List<byte>();
        while (channel.ReadOutbound<IByteBuffer>() is { } buffer)
        {
            var chunk = new byte[buffer.ReadableBytes];
            buffer.GetBytes(buffer.ReaderIndex, chunk);
            bytes.AddRange(chunk);
            buffer.Release();
        }
        var frames = new List<Frame>();
        var span = bytes.ToArray().AsSpan();
        while (FrameCodec.TryDecode(span, 1024 * 1024, out var frame, out var consumed) == DecodeStatus.Frame)
        {
            frames.Add(frame!);
            span = span[consumed..];
        }
        Assert.True(span.IsEmpty, "the server wrote a partial frame");
        return frames;
    }

    private static byte[] Encode(Frame frame) => FrameCodec.Encode(frame);

    private static Frame HelloFrame(uint requestId = 1) =>
        new() { RequestId = requestId, Hello = new Hello { ProtocolVersion = ProtocolVersion.Current } };

    [Fact]
    public void A_reply_above_the_maximum_frame_is_never_sent_its_request_gets_INTERNAL_instead()
    {
        var channel = NewChannel();
        var huge = new Frame { RequestId = 7, GroupList = new GroupList() };
        huge.GroupList.Groups.Add(new GroupInfo { Description = new string('x', 5000) });
        channel.WriteAndFlushAsync(huge);

        var sent = Assert.Single(Outbound(channel));
        Assert.True(sent.CalculateSize() <= Settings.MaxFrameSize);
        Assert.Equal((7u, ErrorCode.Internal), (sent.RequestId, sent.Error.Code));
    }

    [Fact]
    public void Hello_split_into_single_bytes_is_answered_with_one_Welcome()
    {
        var channel = NewChannel();
        foreach (var b in Encode(HelloFrame(9)))
            channel.WriteInbound(Bytes(b));

        var reply = Assert.Single(Outbound(channel));
        Assert.Equal(9u, reply.RequestId);
        Assert.Equal(Frame.PacketOneofCase.Welcome, reply.PacketCase);
        Assert.Equal(4096u, reply.Welcome.MaxFrame);
        Assert.True(channel.Active);
    }

    [Fact]
    public void Many_frames_in_one_buffer_are_answered_in_order()
    {
        var channel = NewChannel();
        var bytes = Encode(HelloFrame(1))
            .Concat(Encode(new Frame { RequestId = 2, Ping = new Ping { ClientTimestamp = 20 } }))
            .Concat(Encode(new Frame { RequestId = 3, Ping = new Ping { ClientTimestamp = 30 } }))
            .ToArray();
        channel.WriteInbound(Bytes(bytes));

        var replies = Outbound(channel);
        Assert.Equal([1u, 2u, 3u], replies.Select(f => f.RequestId));
        Assert.Equal([Frame.PacketOneofCase.Welcome, Frame.PacketOneofCase.Pong, Frame.PacketOneofCase.Pong], replies.Select(f => f.PacketCase));
        Assert.Equal(30ul, replies[2].Pong.ClientTimestamp);
    }

    [Fact]
    public void An_oversize_length_prefix_is_refused_before_the_body_arrives_and_the_channel_closes()
    {
        var channel = NewChannel();
        var prefix = new byte[5];
        var n = Varint32.Write(prefix, 4097);
        channel.WriteInbound(Bytes(prefix[..n]));
        channel.RunPendingTasks();

        var reply = Assert.Single(Outbound(channel));
        Assert.Equal(ErrorCode.FrameTooLarge, reply.Error.Code);
        Assert.False(channel.Open);
    }

    [Fact]
    public void A_first_frame_above_1024_bytes_is_refused_FRAME_TOO_LARGE_though_the_maximum_frame_is_larger()
    {
        var channel = NewChannel();
        var hello = HelloFrame();
        hello.Hello.ClientName = new string('c', 1100);
        channel.WriteInbound(Bytes(Encode(hello)));
        channel.RunPendingTasks();

        var reply = Assert.Single(Outbound(channel));
        Assert.Equal(ErrorCode.FrameTooLarge, reply.Error.Code);
        Assert.False(channel.Open);
    }

    [Fact]
    public void After_Hello_frames_up_to_the_maximum_frame_are_read()
    {
        var channel = NewChannel();
        var ping = new Frame { RequestId = 2, Ping = new Ping { ClientTimestamp = 5 } };
        // An unknown field (number 15) of 1,100 bytes: ignored, but it makes the frame larger than a Hello may be.
        Google.Protobuf.MessageExtensions.MergeFrom(ping.Ping, new byte[] { 0x7A, 0xCC, 0x08 }.Concat(new byte[1100]).ToArray());
        Assert.InRange(ping.CalculateSize(), FrameDecoder.MaxHelloSize + 1, Settings.MaxFrameSize);
        channel.WriteInbound(Bytes([.. Encode(HelloFrame()), .. Encode(ping)]));

        Assert.Equal([Frame.PacketOneofCase.Welcome, Frame.PacketOneofCase.Pong], Outbound(channel).Select(f => f.PacketCase));
        Assert.True(channel.Open);
    }

    [Fact]
    public void A_malformed_varint_is_refused_MALFORMED_FRAME_and_the_rest_of_the_stream_is_ignored()
    {
        var channel = NewChannel();
        channel.WriteInbound(Bytes(0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF));
        channel.RunPendingTasks();

        var reply = Assert.Single(Outbound(channel));
        Assert.Equal(ErrorCode.MalformedFrame, reply.Error.Code);
        Assert.False(channel.Open);
    }
}
