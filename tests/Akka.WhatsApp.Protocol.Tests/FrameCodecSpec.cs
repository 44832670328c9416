using System.Buffers;
using Akka.WhatsApp.Protocol.Framing;
using FsCheck;
using FsCheck.Xunit;
using Google.Protobuf;
using Xunit;

namespace Akka.WhatsApp.Protocol.Tests;

/// <summary>Framing: a varint32 body length, then one Protobuf Frame; decoding never throws on bad input.</summary>
public sealed class FrameCodecSpec
{
    private const int Max = FrameCodec.DefaultMaxFrameSize;

    private static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    private static byte[] Prefix(uint length)
    {
        var buffer = new byte[Varint32.MaxLength];
        return buffer[..Varint32.Write(buffer, length)];
    }

    [Fact]
    public void Encode_writes_the_varint_body_length_followed_by_the_protobuf_body()
    {
        var frame = SamplePackets.Send();
        var body = frame.ToByteArray();

        var encoded = FrameCodec.Encode(frame);

        Assert.Equal(Concat(Prefix((uint)body.Length), body), encoded);
        Assert.Equal(encoded.Length, FrameCodec.EncodedSize(frame));
    }

    [Fact]
    public void WriteTo_a_buffer_writer_produces_the_same_bytes_as_Encode()
    {
        var writer = new ArrayBufferWriter<byte>(1);
        foreach (var frame in SamplePackets.All())
            FrameCodec.WriteTo(frame, writer);

        var expected = SamplePackets.All().SelectMany(FrameCodec.Encode).ToArray();
        Assert.Equal(expected, writer.WrittenSpan.ToArray());
    }

    [Fact]
    public void Representative_packets_round_trip_unchanged()
    {
        foreach (var frame in SamplePackets.All())
        {
            var encoded = FrameCodec.Encode(frame);
            Assert.Equal(DecodeStatus.Frame, FrameCodec.TryDecode(encoded, Max, out var decoded, out var consumed));
            Assert.Equal(encoded.Length, consumed);
            Assert.Equal(frame, decoded);
        }
    }

    [Fact]
    public void A_Send_keeps_every_per_device_ciphertext_and_its_metadata()
    {
        var decoded = RoundTrip(SamplePackets.Send());

        Assert.Equal(Frame.PacketOneofCase.Send, decoded.PacketCase);
        Assert.Equal(42u, decoded.RequestId);
        Assert.Equal(16, decoded.Send.MessageId.Length);
        Assert.Equal([1u, 3u], decoded.Send.Ciphertexts.Select(c => c.DeviceId));
        Assert.Equal(CiphertextType.PrekeyMessage, decoded.Send.Ciphertexts[1].Type);
        Assert.Equal(SamplePackets.Bytes(200, 2), decoded.Send.Ciphertexts[1].Ciphertext);
        Assert.Equal(2u, Assert.Single(decoded.Send.SelfCiphertexts).DeviceId);
        Assert.Equal(["u-carol"], decoded.Send.Mentions);
    }

    [Fact]
    public void A_group_Deliver_keeps_its_seq_group_position_and_target()
    {
        var decoded = RoundTrip(SamplePackets.Deliver()).Deliver;

        Assert.Equal(ulong.MaxValue - 1, decoded.Seq);
        Assert.Equal("g-family", decoded.GroupId);
        Assert.Equal(981ul, decoded.GroupSeq);
        Assert.Equal(SamplePackets.Id(3), decoded.TargetMessageId);
        Assert.Equal(ContentKind.Reaction, decoded.Kind);
    }

    [Fact]
    public void A_group_event_travels_as_a_system_Deliver()
    {
        var decoded = RoundTrip(SamplePackets.GroupEventDeliver()).Deliver;

        Assert.Equal(ContentKind.System, decoded.Kind);
        Assert.Equal(SystemEvent.EventOneofCase.GroupEvent, decoded.System.EventCase);
        Assert.Equal(["u-dave"], decoded.System.GroupEvent.UserIds);
    }

    [Fact]
    public void A_GroupSend_carries_exactly_one_of_sender_key_or_per_device_payload()
    {
        var senderKey = RoundTrip(SamplePackets.GroupSendWithSenderKey()).GroupSend;
        var perDevice = RoundTrip(SamplePackets.GroupSendPerDevice()).GroupSend;

        Assert.Equal(GroupSend.PayloadOneofCase.SenderKeyCiphertext, senderKey.PayloadCase);
        Assert.Equal(300, senderKey.SenderKeyCiphertext.Length);
        Assert.Equal(GroupSend.PayloadOneofCase.PerDevice, perDevice.PayloadCase);
        Assert.Equal(["u-bob", "u-carol"], perDevice.PerDevice.Items.Select(i => i.UserId));
    }

    [Fact]
    public void A_STALE_DEVICES_error_lists_missing_and_extra_devices_per_user()
    {
        var error = RoundTrip(SamplePackets.StaleDevicesError()).Error;

        Assert.Equal(ErrorCode.StaleDevices, error.Code);
        var stale = Assert.Single(error.StaleDevices);
        Assert.Equal([4u], stale.MissingDeviceIds);
        Assert.Equal([3u], stale.ExtraDeviceIds);
    }

    [Fact]
    public void Frame_split_at_every_byte_boundary_decodes_to_the_same_frame()
    {
        // 20 000 bytes of ciphertext: a 3-byte length prefix, so splits inside the prefix are covered too.
        var frame = SamplePackets.Send(ciphertextLength: 10_000);
        var encoded = FrameCodec.Encode(frame);
        Assert.Equal(3, encoded.Length - frame.CalculateSize());

        for (var available = 0; available < encoded.Length; available++)
        {
            var status = FrameCodec.TryDecode(encoded.AsSpan(0, available), Max, out var partial, out var consumed);
            Assert.True(status == DecodeStatus.NeedMoreData, $"{available} of {encoded.Length} bytes gave {status}");
            Assert.Null(partial);
            Assert.Equal(0, consumed);
        }

        Assert.Equal(DecodeStatus.Frame, FrameCodec.TryDecode(encoded, Max, out var whole, out var all));
        Assert.Equal(encoded.Length, all);
        Assert.Equal(frame, whole);
    }

    [Fact]
    public void Many_frames_in_one_buffer_decode_in_order_each_consuming_exactly_its_bytes()
    {
        var frames = Enumerable.Range(1, 50)
            .Select(i => new Frame { RequestId = (uint)i, Ping = new Ping { ClientTimestamp = (ulong)i * 1000 } })
            .Append(SamplePackets.Send())
            .ToList();
        ReadOnlySpan<byte> buffer = frames.SelectMany(FrameCodec.Encode).ToArray();

        var decoded = new List<Frame>();
        while (FrameCodec.TryDecode(buffer, Max, out var frame, out var consumed) == DecodeStatus.Frame)
        {
            decoded.Add(frame!);
            buffer = buffer[consumed..];
        }

        Assert.True(buffer.IsEmpty);
        Assert.Equal(frames, decoded);
    }

    [Fact]
    public void An_oversize_length_prefix_is_TooLarge_as_soon_as_the_prefix_is_read()
    {
        var prefixOnly = Prefix(Max + 1);

        Assert.Equal(DecodeStatus.TooLarge, FrameCodec.TryDecode(prefixOnly, Max, out var frame, out var consumed));
        Assert.Null(frame);
        Assert.Equal(0, consumed);
        Assert.Equal(DecodeStatus.TooLarge, FrameCodec.TryDecode(Prefix(uint.MaxValue), Max, out _, out _));
    }

    [Fact]
    public void A_frame_of_exactly_the_maximum_size_is_accepted()
    {
        var frame = new Frame { Deliver = new Deliver { Ciphertext = ByteString.CopyFrom(new byte[100]) } };
        var max = frame.CalculateSize();
        var encoded = FrameCodec.Encode(frame);

        Assert.Equal(DecodeStatus.NeedMoreData, FrameCodec.TryDecode(encoded.AsSpan(0, 2), max, out _, out _));
        Assert.Equal(DecodeStatus.Frame, FrameCodec.TryDecode(encoded, max, out _, out _));
        Assert.Equal(DecodeStatus.TooLarge, FrameCodec.TryDecode(encoded, max - 1, out _, out _));
    }

    [Fact]
    public void A_zero_length_frame_decodes_to_an_empty_frame_without_a_packet()
    {
        byte[] bytes = [0x00, 0x00];

        Assert.Equal(DecodeStatus.Frame, FrameCodec.TryDecode(bytes, Max, out var frame, out var consumed));
        Assert.Equal(1, consumed);
        Assert.Equal(Frame.PacketOneofCase.None, frame!.PacketCase);
        Assert.Equal(0u, frame.RequestId);
    }

    [Fact]
    public void A_six_byte_length_prefix_is_MalformedLength()
    {
        byte[] bytes = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x00];
        Assert.Equal(DecodeStatus.MalformedLength, FrameCodec.TryDecode(bytes, Max, out var frame, out var consumed));
        Assert.Null(frame);
        Assert.Equal(0, consumed);
    }

    [Fact]
    public void A_body_that_is_not_protobuf_is_MalformedBody_and_reports_the_bytes_of_the_bad_frame()
    {
        // Field number 0 / wire type 7 is not a legal Protobuf tag.
        byte[] bytes = [4, 0xFF, 0xFF, 0xFF, 0xFF, 0x00];
        Assert.Equal(DecodeStatus.MalformedBody, FrameCodec.TryDecode(bytes, Max, out var frame, out var consumed));
        Assert.Null(frame);
        Assert.Equal(5, consumed);
    }

    [Fact]
    public void A_body_cut_inside_a_field_is_MalformedBody()
    {
        var body = SamplePackets.Hello().ToByteArray();
        var cut = body[..^3];
        Assert.Equal(DecodeStatus.MalformedBody, FrameCodec.TryDecode(Concat(Prefix((uint)cut.Length), cut), Max, out _, out _));
    }

    [Fact]
    public void Unknown_fields_and_packets_of_newer_peers_are_ignored()
    {
        var hello = SamplePackets.Hello().ToByteArray();
        // A packet number this version does not know (field 199, bytes) and an unknown envelope field (field 9, varint).
        var unknown = new byte[16];
        var output = new CodedOutputStream(unknown);
        output.WriteTag(9, WireFormat.WireType.Varint);
        output.WriteUInt64(5);
        output.WriteTag(199, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(1, 2, 3));
        output.Flush();
        var unknownBytes = unknown[..(int)output.Position];

        var withKnownPacket = Concat(unknownBytes, hello);
        Assert.Equal(DecodeStatus.Frame, FrameCodec.TryDecode(Concat(Prefix((uint)withKnownPacket.Length), withKnownPacket), Max, out var known, out _));
        Assert.Equal(SamplePackets.Hello(), known);

        Assert.Equal(DecodeStatus.Frame, FrameCodec.TryDecode(Concat(Prefix((uint)unknownBytes.Length), unknownBytes), Max, out var newer, out _));
        Assert.Equal(Frame.PacketOneofCase.None, newer!.PacketCase);
    }

    [Fact]
    public void A_string_field_with_invalid_UTF8_is_MalformedBody()
    {
        // Hello (field 10) { client_name (field 2) = 0xFF 0xFE }: strings on the wire must be valid UTF-8.
        byte[] body = [0x52, 0x04, 0x12, 0x02, 0xFF, 0xFE];
        Assert.Equal(DecodeStatus.MalformedBody, FrameCodec.TryDecode(Concat(Prefix((uint)body.Length), body), Max, out var frame, out _));
        Assert.Null(frame);
    }

    [Fact]
    public void Deeply_nested_messages_are_MalformedBody_not_a_stack_overflow()
    {
        // 200 nested groups of unknown field 9 (start-group tag 0x4B, end-group tag 0x4C): deeper than the parser's limit.
        var body = Enumerable.Repeat((byte)0x4B, 200).Concat(Enumerable.Repeat((byte)0x4C, 200)).ToArray();
        Assert.Equal(DecodeStatus.MalformedBody, FrameCodec.TryDecode(Concat(Prefix((uint)body.Length), body), Max, out _, out _));
    }

    [Fact]
    public void A_negative_maximum_is_a_programming_error()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => FrameCodec.TryDecode([0], -1, out _, out _));
    }

    [Property(MaxTest = 3000)]
    public bool Random_bytes_never_make_TryDecode_throw_only_return_a_status(byte[] garbage, PositiveInt maxFrameSize)
    {
        var status = FrameCodec.TryDecode(garbage, maxFrameSize.Get, out var frame, out var consumed);
        return status switch
        {
            DecodeStatus.Frame => frame is not null && consumed > 0 && consumed <= garbage.Length,
            DecodeStatus.MalformedBody => frame is null && consumed > 0 && consumed <= garbage.Length,
            _ => frame is null && consumed == 0,
        };
    }

    [Property(MaxTest = 3000)]
    public bool Random_bodies_behind_a_valid_length_never_make_TryDecode_throw(byte[] body)
    {
        var bytes = Concat(Prefix((uint)body.Length), body);
        var status = FrameCodec.TryDecode(bytes, Max, out var frame, out var consumed);
        return status switch
        {
            DecodeStatus.Frame => frame is not null && consumed == bytes.Length,
            DecodeStatus.MalformedBody => frame is null && consumed == bytes.Length,
            _ => false,
        };
    }

    [Fact]
    public void Mutated_real_frames_never_make_TryDecode_throw()
    {
        // Structured fuzzing: flip bytes of valid frames, which reaches deeper into the parser than random bytes.
        var random = new Random(20240501);
        var samples = SamplePackets.All().Select(FrameCodec.Encode).Where(b => b.Length > 2).ToArray();
        var statuses = new HashSet<DecodeStatus>();
        for (var i = 0; i < 20_000; i++)
        {
            var bytes = (byte[])samples[random.Next(samples.Length)].Clone();
            for (var flips = random.Next(1, 4); flips > 0; flips--)
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            statuses.Add(FrameCodec.TryDecode(bytes, Max, out _, out _));
        }
        Assert.Contains(DecodeStatus.Frame, statuses);
        Assert.Contains(DecodeStatus.MalformedBody, statuses);
    }

    private static Frame RoundTrip(Frame frame)
    {
        Assert.Equal(DecodeStatus.Frame, FrameCodec.TryDecode(FrameCodec.Encode(frame), Max, out var decoded, out _));
        Assert.Equal(frame, decoded);
        return decoded!;
    }
}
