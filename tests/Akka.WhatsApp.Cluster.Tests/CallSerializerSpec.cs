using Akka.WhatsApp.Cluster.Calls;
using Akka.WhatsApp.Cluster.Serialization;
using Akka.WhatsApp.Domain;
using Akka.WhatsApp.Domain.Calls;
using Xunit;

namespace Akka.WhatsApp.Cluster.Tests;

/// <summary>Everything about calls that crosses nodes (never persisted: missed calls go into mailbox events) round-trips.</summary>
public sealed class CallSerializerSpec() : Akka.TestKit.Xunit2.TestKit(ClusterSerialization.Config)
{
    private static readonly CallId Call = new("00112233445566778899aabbccddeeff");
    private static readonly UserId Ann = new("ann"), Ben = new("ben");

    private object[] Remote() =>
    [
        new CallCommands.Offer(Call, Ann, new DeviceId(2), TestActor, Ben, null, CallMedia.Video, [new CallRing(Ben, new DeviceId(1), [1, 2]), new CallRing(Ben, new DeviceId(3), [3])]),
        new CallCommands.Offer(Call, Ann, new DeviceId(1), TestActor, null, new GroupId("g1"), CallMedia.Audio, [], Silenced: true, Members: [Ann, Ben]),
        new CallCommands.Signal(Call, Ben, new DeviceId(3), TestActor, CallSignalKind.Answer, Ann, new DeviceId(2), [9, 9]),
        new CallCommands.Signal(Call, Ben, new DeviceId(3), TestActor, CallSignalKind.Hangup, Reason: CallEndReason.Failed),
        new CallCommands.Signal(Call, Ben, new DeviceId(3), TestActor, CallSignalKind.Join, Media: CallMedia.Video),
        new CallReplies.Accepted(TestActor),
        new CallReplies.Refused(CallError.CallFull, "full"),
        new CallPush(Ben, 0, 2, Call, CallPushKind.Participants, null, 0, new GroupId("g1"), null, DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_123),
            CallMedia.Video, [], CallEndReason.Normal, [new CallParticipant(Ann, new DeviceId(1), CallMedia.Video), new CallParticipant(Ben, new DeviceId(2), CallMedia.Audio)],
            TestActor),
        new CallPush(Ben, 3, 0, Call, CallPushKind.Offer, Ann, 2, null, Ben, DateTimeOffset.FromUnixTimeMilliseconds(1), CallMedia.Audio, [7], CallEndReason.AnsweredElsewhere,
            [], TestActor),
        new DeviceAttached(Ben, new DeviceId(4), TestActor),
    ];

    [Fact]
    public void Every_call_message_is_bound_to_the_call_serializer_and_round_trips()
    {
        foreach (var message in Remote())
        {
            var serializer = (ProtobufSerializer)Sys.Serialization.FindSerializerFor(message);
            Assert.Equal(CallSerializer.Id, serializer.Identifier);
            var back = serializer.FromBinary(serializer.ToBinary(message), serializer.Manifest(message));
            Assert.Equal(Describe.Of(message), Describe.Of(back));
        }
    }

    [Fact]
    public void The_serializer_id_never_changes_and_every_manifest_is_round_tripped_here()
    {
        var serializer = (ProtobufSerializer)Sys.Serialization.FindSerializerFor(new DeviceAttached(Ann, DeviceId.Primary, TestActor));
        Assert.Equal(116, serializer.Identifier);
        var covered = Remote().Select(serializer.Manifest).ToHashSet();
        Assert.All(serializer.Manifests, m => Assert.True(covered.Contains(m), $"manifest '{m}' has no round-trip case"));
    }
}
