using Akka.WhatsApp.Client;
using Akka.WhatsApp.Host;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;
using Xunit;
using static Akka.WhatsApp.Integration.Tests.TestUsers;

namespace Akka.WhatsApp.Integration.Tests;

/// <summary>A node with a small maximum frame, so that the size boundary is cheap to reach.</summary>
public sealed class SmallFrameNode : IAsyncLifetime
{
    public const int MaxFrame = 4096;

    public WhatsAppNode Node { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Node = await TestNodes.StartAsync(await TestNodes.SettingsAsync(JournalKind.Sqlite) with { MaxFrameSize = MaxFrame });

    public async Task DisposeAsync() => await Node.DisposeAsync();
}

/// <summary>
/// PROTOCOL.md §8.1, "Message size": a send is accepted only if every Deliver it becomes fits max_frame, so that
/// nothing answered with ✓ can be stuck for ever. The boundary is computed here from the text of the contract
/// (the Deliver with seq and group_seq at 2^63 − 1 and server_timestamp at 253402300799999), independently of the server.
/// </summary>
public sealed class MessageSizeSpec(SmallFrameNode fixture) : IClassFixture<SmallFrameNode>
{
    private const ulong LargestSeq = long.MaxValue;
    private const ulong LatestTimestamp = 253_402_300_799_999;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private WhatsAppNode Node => fixture.Node;

    private static int DeliverFrameSize(Deliver d) => new Frame { Deliver = d }.CalculateSize();

    /// <summary>The longest ciphertext whose worst-case Deliver (built by <paramref name="deliver"/>) fits the maximum frame.</summary>
    private static int LongestThatFits(Func<int, Deliver> deliver)
    {
        var length = SmallFrameNode.MaxFrame;
        while (DeliverFrameSize(deliver(length)) > SmallFrameNode.MaxFrame)
            length--;
        return length;
    }

    private static ByteString Bytes(int length, byte fill) => ByteString.CopyFrom(Enumerable.Repeat(fill, length).ToArray());

    [Fact]
    public async Task A_direct_message_whose_deliver_would_exceed_the_frame_is_refused_and_one_byte_less_arrives()
    {
        var (alice, bob) = (await RegisterAsync(Node), await RegisterAsync(Node));
        await using var a = await ConnectAsync(Node, alice);
        await using var b = await ConnectAsync(Node, bob);
        await b.NextAsync<BacklogDone>();
        var id = Guid.NewGuid().ToByteArray();
        const ulong clientTime = 1_700_000_000_000;

        Frame Send(int length) => new()
        {
            Send = new Send
            {
                MessageId = ByteString.CopyFrom(id), ToUserId = bob.UserId, Kind = ContentKind.Text, ClientTimestamp = clientTime,
                Ciphertexts = { new DeviceCiphertext { DeviceId = 1, Ciphertext = Bytes(length, 7), Type = CiphertextType.SignalMessage } },
            },
        };
        var longest = LongestThatFits(length => new Deliver
        {
            Seq = LargestSeq, MessageId = ByteString.CopyFrom(id), FromUserId = alice.UserId, FromDeviceId = 1, ServerTimestamp = LatestTimestamp,
            Kind = ContentKind.Text, Ciphertext = Bytes(length, 7), CiphertextType = CiphertextType.SignalMessage, ClientTimestamp = clientTime,
        });
        // The refused send itself fits the frame: the server, not the framing, must catch it.
        Assert.True(Send(longest + 1).CalculateSize() <= SmallFrameNode.MaxFrame, "the test needs a Send that fits while its Deliver does not");

        var refused = await Assert.ThrowsAsync<ServerErrorException>(() => a.RequestAsync(Send(longest + 1)));
        Assert.Equal(ErrorCode.MessageTooLarge, refused.Code);
        var accepted = await a.RequestAsync(Send(longest));
        Assert.False(accepted.SendResult.Duplicate, "the refused attempt must not have stored the message");

        var got = Assert.Single(await b.NextAsync<MessageReceived>(1, Wait));
        Assert.Equal(longest, got.Deliver.Ciphertext.Length);
        Assert.True(DeliverFrameSize(got.Deliver) <= SmallFrameNode.MaxFrame);
    }

    [Fact]
    public async Task A_group_message_is_refused_when_its_deliver_would_exceed_the_frame_with_sender_keys_and_per_device()
    {
        var (alice, bob) = (await RegisterAsync(Node), await RegisterAsync(Node));
        await using var a = await ConnectAsync(Node, alice);
        await using var b = await ConnectAsync(Node, bob);
        var group = (await a.CreateGroupAsync("sizes", [bob.UserId])).Group.GroupId;
        await b.NextAsync<MessageReceived>(); // the creation event

        Deliver WorstCase(ByteString id, int length, CiphertextType type) => new()
        {
            Seq = LargestSeq, MessageId = id, FromUserId = alice.UserId, FromDeviceId = 1, ServerTimestamp = LatestTimestamp, Kind = ContentKind.Text,
            Ciphertext = Bytes(length, 9), CiphertextType = type, GroupId = group, GroupSeq = LargestSeq,
        };

        var senderKeyId = ByteString.CopyFrom(Guid.NewGuid().ToByteArray());
        Frame SenderKey(int length) => new()
        {
            GroupSend = new GroupSend { GroupId = group, MessageId = senderKeyId, Kind = ContentKind.Text, SenderKeyCiphertext = Bytes(length, 9) },
        };
        var longest = LongestThatFits(length => WorstCase(senderKeyId, length, CiphertextType.SenderKeyMessage));
        Assert.Equal(ErrorCode.MessageTooLarge, (await Assert.ThrowsAsync<ServerErrorException>(() => a.RequestAsync(SenderKey(longest + 1)))).Code);
        await a.RequestAsync(SenderKey(longest));

        var perDeviceId = ByteString.CopyFrom(Guid.NewGuid().ToByteArray());
        Frame PerDevice(int length) => new()
        {
            GroupSend = new GroupSend
            {
                GroupId = group, MessageId = perDeviceId, Kind = ContentKind.Text,
                PerDevice = new RecipientCiphertexts
                {
                    Items =
                    {
                        new RecipientCiphertext
                        {
                            UserId = bob.UserId, Device = new DeviceCiphertext { DeviceId = 1, Ciphertext = Bytes(length, 9), Type = CiphertextType.SignalMessage },
                        },
                    },
                },
            },
        };
        var longestPerDevice = LongestThatFits(length => WorstCase(perDeviceId, length, CiphertextType.SignalMessage));
        Assert.True(PerDevice(longestPerDevice + 1).CalculateSize() <= SmallFrameNode.MaxFrame);
        Assert.Equal(ErrorCode.MessageTooLarge, (await Assert.ThrowsAsync<ServerErrorException>(() => a.RequestAsync(PerDevice(longestPerDevice + 1)))).Code);
        await a.RequestAsync(PerDevice(longestPerDevice));

        var got = await b.NextAsync<MessageReceived>(2, Wait);
        Assert.Equal([longest, longestPerDevice], got.Select(m => m.Deliver.Ciphertext.Length));
        Assert.All(got, m => Assert.True(DeliverFrameSize(m.Deliver) <= SmallFrameNode.MaxFrame));
    }
}
