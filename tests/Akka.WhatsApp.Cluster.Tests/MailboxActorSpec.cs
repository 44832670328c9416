using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit.Xunit2;
using Akka.WhatsApp.Cluster.Mailbox;
using Akka.WhatsApp.Cluster.Serialization;
using Akka.WhatsApp.Domain;
using Akka.WhatsApp.Domain.Mailbox;
using Akka.WhatsApp.Testing;
using Xunit;

namespace Akka.WhatsApp.Cluster.Tests;

/// <summary>The Mailbox entity on Akka's in-memory journal, with every message forced through serialization.</summary>
public sealed class MailboxActorSpec() : Akka.TestKit.Xunit2.TestKit(ConfigurationFactory.ParseString(StrictSerialization.Hocon).WithFallback(ClusterSerialization.Config))
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);
    private static readonly UserId Bob = new("bob");

    private static MailboxCommands.Enqueue Message(MessageId id) =>
        new(Bob, id, new UserId("alice"), DeviceId.Primary, new Dictionary<DeviceId, byte[]> { [DeviceId.Primary] = [1, 2, 3] });

    [Fact]
    public void Mailbox_answers_after_persisting_and_answers_a_retry_with_the_original_seq()
    {
        var mailbox = Sys.ActorOf(MailboxActor.PropsFor("bob"));
        var id = MessageId.New();

        mailbox.Tell(Message(id), TestActor);
        var first = ExpectMsg<MailboxReplies.Enqueued>(Wait);
        mailbox.Tell(Message(id), TestActor);
        var retry = ExpectMsg<MailboxReplies.Enqueued>(Wait);

        Assert.False(first.Duplicate);
        Assert.True(retry.Duplicate);
        Assert.Equal(first.Seq, retry.Seq);
    }

    [Fact]
    public void Mailbox_recovers_its_messages_and_cursors_after_a_restart()
    {
        var first = Sys.ActorOf(MailboxActor.PropsFor("carol"));
        var ids = Enumerable.Range(0, 3).Select(_ => MessageId.New()).ToArray();
        foreach (var id in ids)
        {
            first.Tell(Message(id) with { Owner = new UserId("carol") }, TestActor);
            ExpectMsg<MailboxReplies.Enqueued>(Wait);
        }
        first.Tell(new MailboxCommands.Ack(new UserId("carol"), DeviceId.Primary, 2), TestActor);
        ExpectMsg<MailboxReplies.Acked>(Wait);

        Watch(first);
        first.Tell(PoisonPill.Instance);
        ExpectTerminated(first, Wait);

        var second = Sys.ActorOf(MailboxActor.PropsFor("carol"));
        second.Tell(Message(ids[1]) with { Owner = new UserId("carol") }, TestActor);
        var retry = ExpectMsg<MailboxReplies.Enqueued>(Wait);
        Assert.True(retry.Duplicate);
        Assert.Equal(2, retry.Seq);

        second.Tell(new MailboxCommands.Ack(new UserId("carol"), DeviceId.Primary, 1), TestActor);
        Assert.Equal(2, ExpectMsg<MailboxReplies.Acked>(Wait).AckedSeq);

        second.Tell(Message(MessageId.New()) with { Owner = new UserId("carol") }, TestActor);
        Assert.Equal(4, ExpectMsg<MailboxReplies.Enqueued>(Wait).Seq);
    }

    [Fact]
    public void The_strict_guard_refuses_a_domain_type_without_a_protobuf_binding()
    {
        var serializer = Sys.Serialization.FindSerializerForType(typeof(UnboundDomainMessage));
        Assert.IsType<ForbiddenJsonSerializer>(serializer);
        Assert.Throws<InvalidOperationException>(() => serializer.ToBinary(new UnboundDomainMessage("x")));
    }

    private sealed record UnboundDomainMessage(string Text);
}
