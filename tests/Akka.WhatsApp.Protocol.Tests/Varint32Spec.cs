using Akka.WhatsApp.Protocol.Framing;
using FsCheck.Xunit;
using Google.Protobuf;
using Xunit;

namespace Akka.WhatsApp.Protocol.Tests;

/// <summary>The varint32 length prefix: unsigned LEB128, at most 5 bytes, at most 32 bits.</summary>
public sealed class Varint32Spec
{
    public static TheoryData<uint, int> EdgeValues => new()
    {
        { 0u, 1 },
        { 1u, 1 },
        { 127u, 1 },
        { 128u, 2 },
        { 16383u, 2 },
        { 16384u, 3 },
        { (1u << 21) - 1, 3 },
        { 1u << 21, 4 },
        { (1u << 28) - 1, 4 },
        { 1u << 28, 5 },
        { uint.MaxValue, 5 },
    };

    [Theory]
    [MemberData(nameof(EdgeValues))]
    public void Edge_values_round_trip_in_the_minimal_number_of_bytes(uint value, int expectedSize)
    {
        var buffer = new byte[Varint32.MaxLength];
        var written = Varint32.Write(buffer, value);

        Assert.Equal(expectedSize, written);
        Assert.Equal(expectedSize, Varint32.SizeOf(value));
        Assert.Equal(VarintStatus.Ok, Varint32.TryRead(buffer.AsSpan(0, written), out var read, out var bytesRead));
        Assert.Equal(value, read);
        Assert.Equal(written, bytesRead);
    }

    [Property(MaxTest = 2000)]
    public void Every_value_is_encoded_exactly_like_Protobuf_encodes_a_uint32(uint value)
    {
        var expected = new byte[CodedOutputStream.ComputeUInt32Size(value)];
        var output = new CodedOutputStream(expected);
        output.WriteUInt32(value);
        output.Flush();

        var buffer = new byte[Varint32.MaxLength];
        var written = Varint32.Write(buffer, value);

        Assert.Equal(expected, buffer[..written]);
        Assert.Equal(VarintStatus.Ok, Varint32.TryRead(buffer, out var read, out _));
        Assert.Equal(value, read);
    }

    [Theory]
    [MemberData(nameof(EdgeValues))]
    public void Every_truncated_varint_needs_more_data(uint value, int size)
    {
        var buffer = new byte[Varint32.MaxLength];
        Varint32.Write(buffer, value);

        for (var length = 0; length < size; length++)
        {
            Assert.Equal(VarintStatus.NeedMoreData, Varint32.TryRead(buffer.AsSpan(0, length), out var read, out var bytesRead));
            Assert.Equal(0u, read);
            Assert.Equal(0, bytesRead);
        }
    }

    [Fact]
    public void A_six_byte_varint_is_malformed()
    {
        byte[] sixBytes = [0x80, 0x80, 0x80, 0x80, 0x80, 0x01];
        Assert.Equal(VarintStatus.Malformed, Varint32.TryRead(sixBytes, out var value, out var bytesRead));
        Assert.Equal(0u, value);
        Assert.Equal(0, bytesRead);
    }

    [Fact]
    public void A_continuation_bit_on_the_fifth_byte_is_malformed_without_waiting_for_a_sixth()
    {
        byte[] fiveBytes = [0xFF, 0xFF, 0xFF, 0xFF, 0x8F];
        Assert.Equal(VarintStatus.Malformed, Varint32.TryRead(fiveBytes, out _, out _));
    }

    [Theory]
    [InlineData(0x10)]
    [InlineData(0x1F)]
    [InlineData(0x7F)]
    public void A_fifth_byte_with_bits_beyond_32_is_malformed(byte fifth)
    {
        byte[] bytes = [0xFF, 0xFF, 0xFF, 0xFF, fifth];
        Assert.Equal(VarintStatus.Malformed, Varint32.TryRead(bytes, out _, out _));
    }

    [Fact]
    public void A_non_minimal_encoding_within_five_bytes_is_accepted()
    {
        byte[] paddedZero = [0x80, 0x80, 0x80, 0x80, 0x00];
        Assert.Equal(VarintStatus.Ok, Varint32.TryRead(paddedZero, out var value, out var bytesRead));
        Assert.Equal(0u, value);
        Assert.Equal(5, bytesRead);
    }

    [Fact]
    public void Only_the_varint_is_read_and_the_bytes_after_it_are_left_alone()
    {
        byte[] bytes = [0xAC, 0x02, 0xFF, 0xFF];
        Assert.Equal(VarintStatus.Ok, Varint32.TryRead(bytes, out var value, out var bytesRead));
        Assert.Equal(300u, value);
        Assert.Equal(2, bytesRead);
    }

    [Fact]
    public void Writing_into_a_span_too_short_for_the_value_throws()
    {
        var buffer = new byte[2];
        Assert.Throws<ArgumentException>(() => Varint32.Write(buffer, 16384));
    }
}
