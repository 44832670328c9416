using Akka.WhatsApp.Domain;
using Xunit;

namespace Akka.WhatsApp.Domain.Tests;

public sealed class IdsSpec
{
    [Fact]
    public void A_message_id_round_trips_through_its_16_wire_bytes()
    {
        var id = MessageId.New();
        Assert.True(MessageId.TryFrom(id.ToByteArray(), out var back));
        Assert.Equal(id, back);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(15)]
    [InlineData(17)]
    public void A_message_id_of_any_other_length_is_refused(int length)
    {
        Assert.False(MessageId.TryFrom(new byte[length], out _));
    }
}
