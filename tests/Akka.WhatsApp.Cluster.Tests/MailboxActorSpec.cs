using Akka.WhatsApp.Domain.Notifications;
using Akka.WhatsApp.Domain.Accounts;
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Configuration;
using Akka.Hosting;
using Akka.TestKit;
using Akka.WhatsApp.Cluster.Mailbox;
using Akka.WhatsApp.Cluster.Serialization;
using Akka.WhatsApp.Domain;
using Akka.WhatsApp.Domain.Mailbox;
using Akka.WhatsApp.Testing;
using Xunit;

namespace Akka.WhatsApp.Cluster.Tests;

/// <summary>The Mailbox entity on Akka's in-memory journal, with every message forced through serialization.</summary>
public sealed class MailboxActorSpec : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);
    private static readonly UserId Alice = new("alice");
    private readonly TestProbe _otherMailboxes;

    // The in-memory snapshot store: Akka's default one writes files that would outlive the test run.
    private const string InMemorySnapshots = "akka.persistence.snapshot-store.plugin = \"akka.persistence.snapshot-store.inmem\"";

    public MailboxActorSpec() : base(ConfigurationFactory.ParseString(StrictSerialization.Hocon + "\n" + InMemorySnapshots).WithFallback(ClusterSerialization.Config))
    {
        _otherMailboxes = CreateTestProbe("mailboxes");
        _peers = new MailboxPeers(_otherMailboxes, CreateTestProbe("accounts"), CreateTestProbe("presence"));
    }

    private readonly MailboxPeers _peers;

    private static MailboxCommands.Enqueue Message(UserId owner, MessageId id, params uint[] devices) =>
        new(owner, id, Alice, DeviceId.Primary, new MessageMeta(1),
            (devices.Length == 0 ? [1u] : devices).ToImmutableSortedDictionary(d => d, d => new DeviceCiphertext([1, 2, (byte)d], 2)));

    private IActorRef Mailbox(string owner) => Sys.ActorOf(MailboxActor.PropsFor(owner, _peers));

    /// <summary>
    /// Proves that the mailbox sent <paramref name="session"/> nothing more so far, without waiting out a silence: a
    /// question whose answer goes to the session is asked, and the answer must be the next thing the session gets
    /// (the mailbox handles its messages in order, so anything it sent before would arrive first).
    /// </summary>
    private static void NothingMoreFor(IActorRef mailbox, UserId owner, TestProbe session)
    {
        mailbox.Tell(new MailboxCommands.GetPresence(owner), session.Ref);
        session.ExpectMsg<MailboxReplies.PresenceIs>(Wait);
    }

    [Fact]
    public void A_message_for_a_device_with_no_connection_is_offered_as_a_push_and_so_is_one_left_unacked_by_a_closed_connection()
    {
        var pushes = System.Threading.Channels.Channel.CreateUnbounded<PushRequest>();
        var owner = new UserId("pia");
        var mailbox = Sys.ActorOf(MailboxActor.PropsFor("pia", _peers with { Push = Notifications.PushQueue.Into(pushes.Writer, Notifications.PushMetrics.Unregistered()) }));
        var session = CreateTestProbe();
        mailbox.Tell(new MailboxCommands.Attach(owner, DeviceId.Primary, 0, session, Window: 100), TestActor);
        session.ExpectMsg<MailboxPushes.Attached>(Wait);
        session.ExpectMsg<MailboxPushes.QueueEmpty>(Wait);

        // Connected: delivered, not pushed.
        mailbox.Tell(Message(owner, MessageId.New()), TestActor);
        ExpectMsg<MailboxReplies.Enqueued>(Wait);
        session.ExpectMsg<MailboxPushes.Deliver>(Wait);
        Assert.False(pushes.Reader.TryRead(out _));

        // The connection closes before the device acknowledged it: woken for it.
        mailbox.Tell(new MailboxCommands.Detach(owner, DeviceId.Primary, session), TestActor);
        NothingMoreFor(mailbox, owner, CreateTestProbe());
        Assert.True(pushes.Reader.TryRead(out var unacked));
        Assert.Equal((owner, DeviceId.Primary, ChatId.User(Alice), PushKind.Message, 1), (unacked.User, unacked.Device, unacked.Chat, unacked.Kind, unacked.Badge));

        // No connection: every message is offered (the pipeline coalesces), the badge counting up; silent ones are not.
        mailbox.Tell(Message(owner, MessageId.New()), TestActor);
        ExpectMsg<MailboxReplies.Enqueued>(Wait);
        Assert.True(pushes.Reader.TryRead(out var offline));
        Assert.Equal(2, offline.Badge);
        mailbox.Tell(Message(owner, MessageId.New()) with { Meta = new MessageMeta(1, Silent: true) }, TestActor);
        ExpectMsg<MailboxReplies.Enqueued>(Wait);
        Assert.False(pushes.Reader.TryRead(out _));

        // Back, everything acknowledged, closed again: nothing to wake it for.
        var again = CreateTestProbe();
        mailbox.Tell(new MailboxCommands.Attach(owner, DeviceId.Primary, 0, again, Window: 100), TestActor);
        again.ExpectMsg<MailboxPushes.Attached>(Wait);
        // The device acknowledges what it was given (an ack above what was pushed counts only up to that, §8.4): the
        // backlog first. Acking at once raced the backlog's push on a loaded CI machine, leaving entries unacked.
        again.FishForMessage(m => m is MailboxPushes.QueueEmpty, Wait);
        mailbox.Tell(new MailboxCommands.Ack(owner, DeviceId.Primary, 3), TestActor);
        ExpectMsg<MailboxReplies.Acked>(Wait);
        mailbox.Tell(new MailboxCommands.Detach(owner, DeviceId.Primary, again), TestActor);
        NothingMoreFor(mailbox, owner, CreateTestProbe());
        Assert.False(pushes.Reader.TryRead(out _));
    }

    [Fact]
    public void Mailbox_answers_after_persisting_and_answers_a_retry_with_the_original_seq()
    {
        var mailbox = Mailbox("bob");
        var id = MessageId.New();

        mailbox.Tell(Message(new UserId("bob"), id), TestActor);
        var first = ExpectMsg<MailboxReplies.Enqueued>(Wait);
        mailbox.Tell(Message(new UserId("bob"), id), TestActor);
        var retry = ExpectMsg<MailboxReplies.Enqueued>(Wait);

        Assert.False(first.Duplicate);
        Assert.True(retry.Duplicate);
        Assert.Equal(first.Seq, retry.Seq);
    }

    [Fact]
    public void Pending_entries_count_in_the_node_gauge_while_the_mailbox_is_alive()
    {
        var metrics = Monitoring.EntityMetrics.For(Sys);
        var before = metrics.MailboxPending;
        var owner = new UserId("gina");
        var mailbox = Mailbox("gina");
        for (var i = 0; i < 3; i++)
        {
            mailbox.Tell(Message(owner, MessageId.New()), TestActor);
            ExpectMsg<MailboxReplies.Enqueued>(Wait);
        }
        Assert.Equal(before + 3, metrics.MailboxPending);

        Watch(mailbox);
        mailbox.Tell(PoisonPill.Instance);
        ExpectTerminated(mailbox, Wait);
        Assert.Equal(before, metrics.MailboxPending);
    }

    [Fact]
    public void An_attached_device_gets_its_backlog_in_order_then_QueueEmpty_then_live_messages()
    {
        var owner = new UserId("dave");
        var mailbox = Mailbox("dave");
        var ids = Enumerable.Range(0, 3).Select(_ => MessageId.New()).ToArray();
        foreach (var id in ids)
        {
            mailbox.Tell(Message(owner, id), TestActor);
            ExpectMsg<MailboxReplies.Enqueued>(Wait);
        }

        var session = CreateTestProbe();
        mailbox.Tell(new MailboxCommands.Attach(owner, DeviceId.Primary, 0, session, Window: 100), TestActor);
        Assert.Equal(0, session.ExpectMsg<MailboxPushes.Attached>(Wait).AckedSeq);
        Assert.Equal([1L, 2L, 3L], Enumerable.Range(0, 3).Select(_ => session.ExpectMsg<MailboxPushes.Deliver>(Wait).Entry.Seq));
        Assert.Equal(3, session.ExpectMsg<MailboxPushes.QueueEmpty>(Wait).LastSeq);

        var live = MessageId.New();
        mailbox.Tell(Message(owner, live), TestActor);
        ExpectMsg<MailboxReplies.Enqueued>(Wait);
        Assert.Equal(live, ((StoredMessage)session.ExpectMsg<MailboxPushes.Deliver>(Wait).Entry).MessageId);
    }

    [Fact]
    public void At_most_a_window_of_unacked_entries_is_in_flight_per_device()
    {
        var owner = new UserId("erin");
        var mailbox = Mailbox("erin");
        for (var i = 0; i < 5; i++)
        {
            mailbox.Tell(Message(owner, MessageId.New()), TestActor);
            ExpectMsg<MailboxReplies.Enqueued>(Wait);
        }

        var session = CreateTestProbe();
        mailbox.Tell(new MailboxCommands.Attach(owner, DeviceId.Primary, 0, session, Window: 2), TestActor);
        session.ExpectMsg<MailboxPushes.Attached>(Wait);
        Assert.Equal(1, session.ExpectMsg<MailboxPushes.Deliver>(Wait).Entry.Seq);
        Assert.Equal(2, session.ExpectMsg<MailboxPushes.Deliver>(Wait).Entry.Seq);
        NothingMoreFor(mailbox, owner, session);

        mailbox.Tell(new MailboxCommands.Ack(owner, DeviceId.Primary, 2), TestActor);
        Assert.Equal(3, session.ExpectMsg<MailboxPushes.Deliver>(Wait).Entry.Seq);
        Assert.Equal(4, session.ExpectMsg<MailboxPushes.Deliver>(Wait).Entry.Seq);
    }

    [Fact]
    public void An_ack_above_what_was_pushed_counts_as_the_last_entry_pushed_and_drops_nothing_unseen()
    {
        var owner = new UserId("erika");
        var mailbox = Mailbox("erika");
        for (var i = 0; i < 5; i++)
        {
            mailbox.Tell(Message(owner, MessageId.New()), TestActor);
            ExpectMsg<MailboxReplies.Enqueued>(Wait);
        }
        var session = CreateTestProbe();
        mailbox.Tell(new MailboxCommands.Attach(owner, DeviceId.Primary, 0, session, Window: 2), TestActor);
        session.ExpectMsg<MailboxPushes.Attached>(Wait);
        Assert.Equal([1L, 2L], new[] { session.ExpectMsg<MailboxPushes.Deliver>(Wait).Entry.Seq, session.ExpectMsg<MailboxPushes.Deliver>(Wait).Entry.Seq });

        // The device acks seq 5 although it was pushed 1 and 2 only: 3 to 5 still come.
        mailbox.Tell(new MailboxCommands.Ack(owner, DeviceId.Primary, 5), TestActor);
        Assert.Equal(2, ExpectMsg<MailboxReplies.Acked>(Wait).AckedSeq);
        Assert.Equal([3L, 4L], new[] { session.ExpectMsg<MailboxPushes.Deliver>(Wait).Entry.Seq, session.ExpectMsg<MailboxPushes.Deliver>(Wait).Entry.Seq });
    }

    [Fact]
    public void A_newer_session_of_the_same_device_replaces_the_older_and_resumes_after_its_ack()
    {
        var owner = new UserId("fred");
        var mailbox = Mailbox("fred");
        for (var i = 0; i < 3; i++)
        {
            mailbox.Tell(Message(owner, MessageId.New()), TestActor);
            ExpectMsg<MailboxReplies.Enqueued>(Wait);
        }
        var first = CreateTestProbe();
        mailbox.Tell(new MailboxCommands.Attach(owner, DeviceId.Primary, 0, first, 100), TestActor);
        first.ReceiveN(5, Wait);

        var second = CreateTestProbe();
        mailbox.Tell(new MailboxCommands.Attach(owner, DeviceId.Primary, 2, second, 100), TestActor);
        first.ExpectMsg<MailboxPushes.Replaced>(Wait);
        Assert.Equal(2, second.ExpectMsg<MailboxPushes.Attached>(Wait).AckedSeq);
        Assert.Equal(3, second.ExpectMsg<MailboxPushes.Deliver>(Wait).Entry.Seq);
        second.ExpectMsg<MailboxPushes.QueueEmpty>(Wait);
    }

    [Fact]
    public void A_repeated_attach_attaches_a_free_device_but_never_takes_it_from_another_session()
    {
        var owner = new UserId("fiona");
        var mailbox = Mailbox("fiona");
        mailbox.Tell(Message(owner, MessageId.New()), TestActor);
        ExpectMsg<MailboxReplies.Enqueued>(Wait);

        // The first attach of the older session was lost; a newer connection of the device attached meanwhile.
        var newer = CreateTestProbe();
        mailbox.Tell(new MailboxCommands.Attach(owner, DeviceId.Primary, 0, newer, 100), TestActor);
        Assert.Equal(0, newer.ExpectMsg<MailboxPushes.Attached>(Wait).AckedSeq);
        var older = CreateTestProbe();
        mailbox.Tell(new MailboxCommands.Attach(owner, DeviceId.Primary, 0, older, 100, Repeat: true), TestActor);
        NothingMoreFor(mailbox, owner, older);
        newer.FishForMessage(m => m is MailboxPushes.QueueEmpty, Wait);
        NothingMoreFor(mailbox, owner, newer); // not replaced

        // Once the device is free, a repeat attaches it (and the same session may repeat itself).
        mailbox.Tell(new MailboxCommands.Detach(owner, DeviceId.Primary, newer), TestActor);
        mailbox.Tell(new MailboxCommands.Attach(owner, DeviceId.Primary, 0, older, 100, Repeat: true), TestActor);
        older.ExpectMsg<MailboxPushes.Attached>(Wait);
        Assert.Equal(1, older.ExpectMsg<MailboxPushes.Deliver>(Wait).Entry.Seq);
        mailbox.Tell(new MailboxCommands.Attach(owner, DeviceId.Primary, 0, older, 100, Repeat: true), TestActor);
        older.FishForMessage(m => m is MailboxPushes.Attached, Wait);
    }

    [Fact]
    public void An_attach_of_an_earlier_login_that_arrives_late_never_takes_the_device_from_a_later_one()
    {
        // The kill -9 test: the device logged in on node a, whose Attach waited in a's shard region while the mailbox's
        // node was being downed; it gave up, logged in on b, and b's session attached first. a's Attach, arriving last,
        // must not replace it (the live connection got DEVICE_REPLACED, and a's Detach then left the device with none).
        var owner = new UserId("flora");
        var mailbox = Mailbox("flora");
        var loginOnA = new DateTimeOffset(2026, 12, 2, 20, 51, 40, TimeSpan.Zero).UtcTicks;
        var loginOnB = loginOnA + TimeSpan.FromSeconds(10).Ticks;
        var onB = CreateTestProbe();
        mailbox.Tell(new MailboxCommands.Attach(owner, DeviceId.Primary, 0, onB, 100, Repeat: true, LoggedInAt: loginOnB), TestActor);
        onB.ExpectMsg<MailboxPushes.Attached>(Wait);
        onB.ExpectMsg<MailboxPushes.QueueEmpty>(Wait);

        var onA = CreateTestProbe();
        mailbox.Tell(new MailboxCommands.Attach(owner, DeviceId.Primary, 0, onA, 100, LoggedInAt: loginOnA), TestActor);
        onA.ExpectMsg<MailboxPushes.Replaced>(Wait); // a later connection holds the device: this one must close
        mailbox.Tell(new MailboxCommands.Detach(owner, DeviceId.Primary, onA), TestActor);

        mailbox.Tell(Message(owner, MessageId.New()), TestActor);
        ExpectMsg<MailboxReplies.Enqueued>(Wait);
        Assert.Equal(1, onB.ExpectMsg<MailboxPushes.Deliver>(Wait).Entry.Seq);
        NothingMoreFor(mailbox, owner, onA);

        // A later login takes the device over, also when its first attach was lost and only a repeat arrives.
        var later = CreateTestProbe();
        mailbox.Tell(new MailboxCommands.Attach(owner, DeviceId.Primary, 0, later, 100, Repeat: true, LoggedInAt: loginOnB + 1), TestActor);
        onB.ExpectMsg<MailboxPushes.Replaced>(Wait);
        later.ExpectMsg<MailboxPushes.Attached>(Wait);
        Assert.Equal(1, later.ExpectMsg<MailboxPushes.Deliver>(Wait).Entry.Seq);
    }

    [Fact]
    public void An_ack_hands_a_delivered_receipt_to_the_senders_mailbox_until_it_is_stored()
    {
        var owner = new UserId("gina");
        var mailbox = Mailbox("gina");
        var id = MessageId.New();
        mailbox.Tell(Message(owner, id), TestActor);
        ExpectMsg<MailboxReplies.Enqueued>(Wait);

        mailbox.Tell(new MailboxCommands.Ack(owner, DeviceId.Primary, 1), TestActor);
        ExpectMsg<MailboxReplies.Acked>(Wait);

        var receipt = _otherMailboxes.ExpectMsg<MailboxCommands.EnqueueReceipt>(Wait);
        Assert.Equal(Alice, receipt.Owner);
        Assert.Equal(owner, receipt.From);
        Assert.Equal(ReceiptType.Delivered, receipt.Type);
        Assert.Equal(new[] { id }, receipt.MessageIds.ToArray());

        // No answer from the sender's mailbox: the receipt is offered again, under the same id.
        var again = _otherMailboxes.ExpectMsg<MailboxCommands.EnqueueReceipt>(TimeSpan.FromSeconds(15));
        Assert.Equal(receipt.ReceiptId, again.ReceiptId);
        _otherMailboxes.Reply(new MailboxReplies.Enqueued(again.ReceiptId, 1, DateTimeOffset.UtcNow, false));
        _otherMailboxes.ExpectNoMsg(TimeSpan.FromSeconds(3));

        // The hand-over is recorded lazily (no ack write came along): once it is, a restarted mailbox owes nothing.
        ExpectNoMsg(MailboxActor.HandOverRecordDelay + TimeSpan.FromSeconds(1));
        Watch(mailbox);
        Sys.Stop(mailbox);
        ExpectTerminated(mailbox, Wait);
        Mailbox("gina");
        _otherMailboxes.ExpectNoMsg(TimeSpan.FromSeconds(2));
    }

    [Fact]
    public void Mailbox_recovers_its_messages_and_cursors_after_a_restart()
    {
        var owner = new UserId("carol");
        var first = Mailbox("carol");
        var ids = Enumerable.Range(0, 3).Select(_ => MessageId.New()).ToArray();
        foreach (var id in ids)
        {
            first.Tell(Message(owner, id), TestActor);
            ExpectMsg<MailboxReplies.Enqueued>(Wait);
        }
        first.Tell(new MailboxCommands.Ack(owner, DeviceId.Primary, 2), TestActor);
        ExpectMsg<MailboxReplies.Acked>(Wait);

        Watch(first);
        Sys.Stop(first);
        ExpectTerminated(first, Wait);

        var second = Mailbox("carol");
        second.Tell(Message(owner, ids[1]), TestActor);
        var retry = ExpectMsg<MailboxReplies.Enqueued>(Wait);
        Assert.True(retry.Duplicate);
        Assert.Equal(2, retry.Seq);

        var session = CreateTestProbe();
        second.Tell(new MailboxCommands.Attach(owner, DeviceId.Primary, 0, session, 100), TestActor);
        Assert.Equal(2, session.ExpectMsg<MailboxPushes.Attached>(Wait).AckedSeq);
        Assert.Equal(3, session.ExpectMsg<MailboxPushes.Deliver>(Wait).Entry.Seq);
    }

    [Fact]
    public void A_mailbox_recovers_from_its_snapshot_after_old_events_were_deleted()
    {
        var owner = new UserId("hugo");
        var first = Sys.ActorOf(MailboxActor.PropsFor("hugo", _peers, snapshotEvery: 5));
        var ids = Enumerable.Range(0, 12).Select(_ => MessageId.New()).ToArray();
        foreach (var id in ids)
        {
            first.Tell(Message(owner, id), TestActor);
            ExpectMsg<MailboxReplies.Enqueued>(Wait);
        }
        first.Tell(new MailboxCommands.Ack(owner, DeviceId.Primary, 10), TestActor);
        ExpectMsg<MailboxReplies.Acked>(Wait);
        // The journal no longer holds the first events once a snapshot covers them.
        AwaitAssert(() =>
        {
            var probe = CreateTestProbe();
            Persistence.Persistence.Instance.Apply(Sys).JournalFor(null)
                .Tell(new Persistence.ReplayMessages(1, long.MaxValue, long.MaxValue, MailboxActor.PersistenceIdFor("hugo"), probe));
            var replayed = probe.ReceiveWhile(TimeSpan.FromSeconds(1), m => m as Persistence.ReplayedMessage).Count;
            Assert.True(replayed < 12, $"{replayed} events are still in the journal");
        }, TimeSpan.FromSeconds(5));

        Watch(first);
        Sys.Stop(first);
        ExpectTerminated(first, Wait);

        var second = Sys.ActorOf(MailboxActor.PropsFor("hugo", _peers, snapshotEvery: 5));
        second.Tell(Message(owner, ids[2]), TestActor);
        var retry = ExpectMsg<MailboxReplies.Enqueued>(Wait);
        Assert.True(retry.Duplicate);
        Assert.Equal(3, retry.Seq);

        var session = CreateTestProbe();
        second.Tell(new MailboxCommands.Attach(owner, DeviceId.Primary, 0, session, 100), TestActor);
        session.ExpectMsg<MailboxPushes.Attached>(Wait);
        Assert.Equal([11L, 12L], new[] { session.ExpectMsg<MailboxPushes.Deliver>(Wait).Entry.Seq, session.ExpectMsg<MailboxPushes.Deliver>(Wait).Entry.Seq });

        second.Tell(Message(owner, MessageId.New()), TestActor);
        Assert.Equal(13, ExpectMsg<MailboxReplies.Enqueued>(Wait).Seq);
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
