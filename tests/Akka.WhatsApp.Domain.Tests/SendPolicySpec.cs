using Akka.WhatsApp.Domain.Mailbox;
using Akka.WhatsApp.Domain.Messaging;
using Xunit;

namespace Akka.WhatsApp.Domain.Tests;

public sealed class SendPolicySpec
{
    private static readonly UserId Bob = new("bob");

    [Theory]
    [InlineData(new uint[] { 1, 2 }, new uint[] { 1, 2 }, null, new uint[0], new uint[0])]
    [InlineData(new uint[] { 1, 2, 3 }, new uint[] { 1 }, null, new uint[] { 2, 3 }, new uint[0])]
    [InlineData(new uint[] { 1 }, new uint[] { 1, 7 }, null, new uint[0], new uint[] { 7 })]
    [InlineData(new uint[] { 1, 2 }, new uint[] { 2 }, 1u, new uint[0], new uint[0])]   // the sender's own copies skip the sending device
    [InlineData(new uint[] { 1, 2 }, new uint[] { 1, 2 }, 1u, new uint[0], new uint[] { 1 })]
    public void A_message_covers_exactly_the_current_devices(uint[] current, uint[] given, uint? sending, uint[] missing, uint[] extra)
    {
        var mismatch = SendPolicy.Mismatch(Bob, current, given, sending);
        if (missing.Length == 0 && extra.Length == 0)
        {
            Assert.Null(mismatch);
            return;
        }
        Assert.NotNull(mismatch);
        Assert.Equal(missing, mismatch.Missing);
        Assert.Equal(extra, mismatch.Extra);
    }

    [Fact]
    public void A_registration_id_other_than_the_devices_current_one_makes_it_stale_and_zero_is_not_checked()
    {
        var current = new Dictionary<uint, uint> { [1] = 4711, [2] = 815 };
        uint Of(uint device) => current.GetValueOrDefault(device);
        Assert.Empty(SendPolicy.StaleRegistrations(new Dictionary<uint, uint> { [1] = 4711, [2] = 0 }, [1, 2, 3], Of));
        Assert.Equal([2u, 3u], SendPolicy.StaleRegistrations(new Dictionary<uint, uint> { [3] = 9, [2] = 814, [1] = 4711 }, [1, 2, 3], Of).ToArray());
        Assert.Empty(SendPolicy.StaleRegistrations(new Dictionary<uint, uint> { [7] = 1 }, [1, 2], Of)); // not a device: Mismatch says extra

        var both = SendPolicy.With(SendPolicy.Mismatch(Bob, [1, 2], [1]), Bob, [1]);
        Assert.Equal([2u], both!.Missing.ToArray());
        Assert.Equal([1u], both.Stale.ToArray());
        Assert.Equal([1u], SendPolicy.With(null, Bob, [1])!.Stale.ToArray());
        Assert.Null(SendPolicy.With(null, Bob, []));
    }

    [Fact]
    public void A_resend_may_name_any_subset_of_the_devices_but_no_device_that_does_not_exist()
    {
        Assert.Null(SendPolicy.UnknownDevices(Bob, [1, 2, 3], [2]));
        var unknown = SendPolicy.UnknownDevices(Bob, [1, 2], [2, 9, 9]);
        Assert.Empty(unknown!.Missing);
        Assert.Equal(new[] { 9u }, unknown.Extra.ToArray());
        Assert.NotNull(SendPolicy.UnknownDevices(Bob, [1, 2], [1], sendingDevice: 1)); // not to the sending device itself
    }

    [Fact]
    public void Naming_a_device_twice_is_told_apart_from_a_stale_list()
    {
        Assert.True(SendPolicy.NamesADeviceTwice([1, 2, 1]));
        Assert.False(SendPolicy.NamesADeviceTwice([1, 2, 3]));
        Assert.False(SendPolicy.NamesADeviceTwice([]));
    }

    [Theory]
    [InlineData(ReceiptType.Read, false, false, false, true, true, true)]
    [InlineData(ReceiptType.Read, false, false, false, false, true, false)]  // the reader turned read receipts off
    [InlineData(ReceiptType.Read, false, false, false, true, false, false)]  // the sender did
    [InlineData(ReceiptType.Read, true, false, false, false, false, true)]   // group receipts always travel
    [InlineData(ReceiptType.Delivered, false, false, false, false, false, true)]
    [InlineData(ReceiptType.Played, false, true, false, true, true, false)]  // a block stops everything
    [InlineData(ReceiptType.Read, true, false, true, true, true, false)]
    public void Receipts_follow_both_users_settings_and_blocks(ReceiptType type, bool inGroup, bool readerBlocks, bool senderBlocks,
        bool readerSends, bool senderWants, bool forwarded) =>
        Assert.Equal(forwarded, SendPolicy.ForwardsReceipt(type, inGroup, readerBlocks, senderBlocks, readerSends, senderWants));
}
