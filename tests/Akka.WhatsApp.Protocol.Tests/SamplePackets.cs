using Google.Protobuf;

namespace Akka.WhatsApp.Protocol.Tests;

/// <summary>Representative frames of each direction, filled in the way real clients and servers fill them.</summary>
internal static class SamplePackets
{
    public static ByteString Id(byte seed) => ByteString.CopyFrom(Enumerable.Range(0, 16).Select(i => (byte)(seed + i)).ToArray());

    public static ByteString Bytes(int length, byte seed = 1) =>
        ByteString.CopyFrom(Enumerable.Range(0, length).Select(i => (byte)(seed * 31 + i * 7)).ToArray());

    public static Frame Hello(uint requestId = 1) => new()
    {
        RequestId = requestId,
        Hello = new Hello
        {
            ProtocolVersion = ProtocolVersion.Current,
            ClientName = "Akka.WhatsApp.Tests",
            ClientVersion = "1.0.0",
            Platform = Platform.Cli,
            Locale = "pt-BR",
        },
    };

    public static Frame Send(int ciphertextLength = 200) => new()
    {
        RequestId = 42,
        Send = new Send
        {
            MessageId = Id(1),
            ToUserId = "u-bob",
            Ciphertexts =
            {
                new DeviceCiphertext { DeviceId = 1, RegistrationId = 7001, Ciphertext = Bytes(ciphertextLength, 1), Type = CiphertextType.SignalMessage },
                new DeviceCiphertext { DeviceId = 3, RegistrationId = 7003, Ciphertext = Bytes(ciphertextLength, 2), Type = CiphertextType.PrekeyMessage },
            },
            SelfCiphertexts = { new DeviceCiphertext { DeviceId = 2, Ciphertext = Bytes(ciphertextLength, 3), Type = CiphertextType.SignalMessage } },
            Kind = ContentKind.Text,
            ReplyToMessageId = Id(90),
            ForwardCount = 2,
            Mentions = { "u-carol" },
            ClientTimestamp = 1_700_000_000_123,
        },
    };

    public static Frame Deliver() => new()
    {
        Deliver = new Deliver
        {
            Seq = ulong.MaxValue - 1,
            MessageId = Id(2),
            FromUserId = "u-alice",
            FromDeviceId = 2,
            ServerTimestamp = 1_700_000_000_456,
            Kind = ContentKind.Reaction,
            Ciphertext = Bytes(64),
            CiphertextType = CiphertextType.SenderKeyMessage,
            GroupId = "g-family",
            GroupSeq = 981,
            TargetMessageId = Id(3),
            Mentions = { "u-bob", "u-carol" },
        },
    };

    public static Frame GroupEventDeliver() => new()
    {
        Deliver = new Deliver
        {
            Seq = 17,
            MessageId = Id(4),
            FromUserId = "u-alice",
            Kind = ContentKind.System,
            GroupId = "g-family",
            GroupSeq = 982,
            System = new SystemEvent
            {
                GroupEvent = new GroupEvent
                {
                    Type = GroupEventType.MembersAdded,
                    ActorUserId = "u-alice",
                    UserIds = { "u-dave" },
                    Version = 12,
                },
            },
        },
    };

    public static Frame GroupSendWithSenderKey() => new()
    {
        RequestId = 7,
        GroupSend = new GroupSend
        {
            GroupId = "g-family",
            MessageId = Id(5),
            SenderKeyCiphertext = Bytes(300),
            Kind = ContentKind.Image,
            Mentions = { "u-bob" },
            ReplyToMessageId = Id(6),
        },
    };

    public static Frame GroupSendPerDevice() => new()
    {
        RequestId = 8,
        GroupSend = new GroupSend
        {
            GroupId = "g-family",
            MessageId = Id(7),
            PerDevice = new RecipientCiphertexts
            {
                Items =
                {
                    new RecipientCiphertext { UserId = "u-bob", Device = new DeviceCiphertext { DeviceId = 1, Ciphertext = Bytes(40, 4) } },
                    new RecipientCiphertext { UserId = "u-carol", Device = new DeviceCiphertext { DeviceId = 2, Ciphertext = Bytes(40, 5) } },
                },
            },
            Kind = ContentKind.Text,
        },
    };

    public static Frame StaleDevicesError() => new()
    {
        RequestId = 42,
        Error = new Error
        {
            Code = ErrorCode.StaleDevices,
            Message = "device lists changed",
            StaleDevices = { new StaleDevices { UserId = "u-bob", MissingDeviceIds = { 4 }, ExtraDeviceIds = { 3 } } },
        },
    };

    public static IEnumerable<Frame> All() =>
    [
        Hello(), Send(), Deliver(), GroupEventDeliver(), GroupSendWithSenderKey(), GroupSendPerDevice(), StaleDevicesError(),
        new Frame { RequestId = 3, Ping = new Ping { ClientTimestamp = 99 } },
        new Frame { Ack = new Ack { UpToSeq = 1234 } },
        new Frame(),
    ];
}
