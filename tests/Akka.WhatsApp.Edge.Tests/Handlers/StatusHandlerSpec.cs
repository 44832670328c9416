using Akka.WhatsApp.Protocol;
using Google.Protobuf;
using Xunit;

namespace Akka.WhatsApp.Edge.Tests.Handlers;

/// <summary>The status handler's wire checks against probes: what it refuses before asking any entity.</summary>
public sealed class StatusHandlerSpec : EdgeSpec
{
    private static Frame Post(ByteString id, ContentKind kind = ContentKind.Text, string mediaId = "") => new()
    {
        PostStatus = new PostStatus
        {
            StatusId = id, Kind = kind, MediaId = mediaId,
            PerDevice = new RecipientCiphertexts { Items = { new RecipientCiphertext { UserId = Bob.Value, Device = new DeviceCiphertext { DeviceId = 1, Ciphertext = ByteString.CopyFrom(1) } } } },
        },
    };

    public static TheoryData<string, Frame> Refused => new()
    {
        { "a status id of 3 bytes", Post(ByteString.CopyFrom(1, 2, 3)) },
        { "a DOCUMENT status", Post(NewId(), ContentKind.Document) },
        { "an IMAGE without media", Post(NewId(), ContentKind.Image) },
        { "a sender-key status", new Frame { PostStatus = new PostStatus { StatusId = NewId(), Kind = ContentKind.Text, SenderKeyCiphertext = ByteString.CopyFrom(1) } } },
        { "a device named twice", PostTwice() },
        { "a view of one's own status", new Frame { ViewStatus = new ViewStatus { OwnerUserId = Alice.Value, StatusIds = { NewId() } } } },
        { "a view of nothing", new Frame { ViewStatus = new ViewStatus { OwnerUserId = Bob.Value } } },
    };

    private static Frame PostTwice()
    {
        var frame = Post(NewId());
        frame.PostStatus.PerDevice.Items.Add(frame.PostStatus.PerDevice.Items[0].Clone());
        return frame;
    }

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task A_malformed_status_request_is_refused_INVALID_ARGUMENT_without_asking_the_accounts(string what, Frame frame)
    {
        await LoggedInAsync();
        var request = Receive(frame);
        var answer = await Connection.NextAsync();
        Assert.True(answer.Error?.Code == ErrorCode.InvalidArgument, $"{what}: {answer}");
        Assert.Equal(request, answer.RequestId);
        await NothingAskedOfTheAccountsAsync();
    }

    [Fact]
    public async Task Without_a_status_region_the_feed_answers_NOT_IMPLEMENTED()
    {
        await LoggedInAsync();
        var request = Receive(new Frame { GetStatusFeed = new GetStatusFeed() });
        var answer = await Connection.NextAsync();
        Assert.Equal((request, ErrorCode.NotImplemented), (answer.RequestId, answer.Error.Code));
    }
}
