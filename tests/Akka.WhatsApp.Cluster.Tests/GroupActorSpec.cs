using Akka.Actor;
using Akka.Configuration;
using Akka.Hosting;
using Akka.TestKit;
using Akka.WhatsApp.Cluster.Groups;
using Akka.WhatsApp.Cluster.Mailbox;
using Akka.WhatsApp.Cluster.Serialization;
using Akka.WhatsApp.Domain;
using Akka.WhatsApp.Domain.Groups;
using Akka.WhatsApp.Domain.Mailbox;
using Akka.WhatsApp.Testing;
using Xunit;
using static Akka.WhatsApp.Domain.Groups.GroupCommands;

namespace Akka.WhatsApp.Cluster.Tests;

/// <summary>
/// The Group entity's fan-out against a probe standing in for the mailbox region, on the in-memory journal,
/// with every message forced through serialization.
/// </summary>
public sealed class GroupActorSpec : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);
    private static readonly UserId Alice = new("alice"), Bob = new("bob"), Carol = new("carol");
    private const string InMemorySnapshots = "akka.persistence.snapshot-store.plugin = \"akka.persistence.snapshot-store.inmem\"";
    private readonly TestProbe _mailboxes;
    private readonly GroupOptions _options = new() { MailboxTimeout = TimeSpan.FromMilliseconds(500), RetryAfter = TimeSpan.FromMilliseconds(100) };

    public GroupActorSpec() : base(ConfigurationFactory.ParseString(StrictSerialization.Hocon + "\n" + InMemorySnapshots).WithFallback(ClusterSerialization.Config))
    {
        _mailboxes = CreateTestProbe("mailboxes");
    }

    private static GroupId NewGroup() => new(Guid.NewGuid().ToString("N"));

    private IActorRef Group(GroupId id) => Sys.ActorOf(GroupActor.PropsFor(id.Value, _options, _mailboxes));

    private static Post Message(GroupId group, UserId from, string text) =>
        new(group, from, DeviceId.Primary, MessageId.New(), new MessageMeta(1),
            new SenderKeyPayload(new DeviceCiphertext(System.Text.Encoding.UTF8.GetBytes(text), 3)));

    /// <summary>Receives the next batches and answers them, returning what each member got.</summary>
    private Dictionary<UserId, List<MailboxCommands.Enqueue>> Serve(int batches, Func<UserId, bool>? answer = null)
    {
        var got = new Dictionary<UserId, List<MailboxCommands.Enqueue>>();
        for (var i = 0; i < batches; i++)
        {
            var batch = _mailboxes.ExpectMsg<MailboxCommands.EnqueueBatch>(Wait);
            (got.TryGetValue(batch.Owner, out var list) ? list : got[batch.Owner] = []).AddRange(batch.Items);
            if (answer?.Invoke(batch.Owner) ?? true)
                _mailboxes.Reply(new MailboxReplies.BatchEnqueued(batch.Items.Length, 0, 0));
        }
        return got;
    }

    private void Create(IActorRef group, GroupId id)
    {
        group.Tell(new Create(id, Alice, "g", "", "", GroupSettings.Default, [Bob, Carol], []), TestActor);
        ExpectMsg<GroupReplies.Created>(Wait);
    }

    [Fact]
    public void The_sender_is_answered_once_the_post_is_durable_and_every_member_gets_it_after()
    {
        var id = NewGroup();
        var group = Group(id);
        Create(group, id);
        var created = Serve(3);
        Assert.All(created.Values, items => Assert.Equal(GroupChangeType.Created, Assert.Single(items).Meta.GroupEvent!.Type));

        group.Tell(Message(id, Bob, "hi"), TestActor);
        Assert.Equal(2, ExpectMsg<GroupReplies.Posted>(Wait).Seq);
        var got = Serve(3);
        Assert.Equal([Alice, Bob, Carol], got.Keys.OrderBy(u => u.Value));
        var own = Assert.Single(got[Bob]);
        Assert.Equal(DeviceId.Primary.Value, own.ExceptDevice); // Bob's other devices only
        Assert.Equal(0u, Assert.Single(got[Carol]).ExceptDevice);
        Assert.All(got.Values, items => Assert.Equal((id, 2L), (items[0].Meta.Group!.Value, items[0].Meta.GroupSeq)));
    }

    [Fact]
    public void A_member_whose_mailbox_does_not_answer_gets_the_same_posts_again_in_order()
    {
        var id = NewGroup();
        var group = Group(id);
        Create(group, id);
        Serve(3);
        group.Tell(Message(id, Alice, "one"), TestActor);
        ExpectMsg<GroupReplies.Posted>(Wait);
        group.Tell(Message(id, Alice, "two"), TestActor);
        ExpectMsg<GroupReplies.Posted>(Wait);

        // Carol's mailbox stays silent the first time; everyone else answers.
        var answered = new Dictionary<UserId, List<long>> { [Alice] = [], [Bob] = [], [Carol] = [] };
        List<long>? unanswered = null;
        while (answered.Values.Any(seqs => seqs.Distinct().Count() < 2))
        {
            var batch = _mailboxes.ExpectMsg<MailboxCommands.EnqueueBatch>(Wait);
            // Only the two posts count here: on a slow machine the creation event (seq 1) may be sent again with them,
            // its first answer having come after the retry (at-least-once; mailboxes drop the repeat by id).
            var seqs = batch.Items.Select(e => e.Meta.GroupSeq).Where(seq => seq >= 2).ToList();
            if (seqs.Count > 0 && batch.Owner == Carol && unanswered is null)
            {
                unanswered = seqs;
                continue;
            }
            answered[batch.Owner].AddRange(seqs);
            _mailboxes.Reply(new MailboxReplies.BatchEnqueued(batch.Items.Count(), 0, 0));
        }
        Assert.NotNull(unanswered);
        // The retry starts where the unanswered batch started, and every member got the posts in group order. A batch may
        // come twice (an answer later than the 500 ms the test gives the mailbox is a timeout for the group): at least once.
        Assert.Equal(unanswered[0], answered[Carol][0]);
        Assert.All(answered.Values, seqs =>
        {
            Assert.Equal([2L, 3L], seqs.Distinct());
            Assert.Equal(seqs.Order(), seqs);
        });
    }

    [Fact]
    public void A_restarted_group_sends_again_exactly_what_was_not_fanned_out_to_everyone()
    {
        var id = NewGroup();
        var group = Group(id);
        Create(group, id);
        Serve(3);
        group.Tell(Message(id, Alice, "done before the crash"), TestActor);
        ExpectMsg<GroupReplies.Posted>(Wait);
        Serve(3);
        group.Tell(Message(id, Alice, "interrupted"), TestActor);
        var interrupted = ExpectMsg<GroupReplies.Posted>(Wait);
        Serve(1); // one member got it, then the entity dies
        Watch(group);
        Sys.Stop(group);
        ExpectTerminated(group, Wait);
        _mailboxes.ReceiveWhile(TimeSpan.FromMilliseconds(300), o => o); // batches sent before the stop

        var revived = Group(id); // recovers from the journal; nobody writes to it
        var again = Serve(3);
        Assert.All(again.Values, items => Assert.Equal([interrupted.MessageId], items.Select(e => e.MessageId)));
        _mailboxes.ExpectNoMsg(TimeSpan.FromMilliseconds(300));

        // Once recorded as fanned out, a further restart sends nothing.
        Watch(revived);
        ExpectNoMsg(TimeSpan.FromMilliseconds(300)); // let the FannedOut write land
        Sys.Stop(revived);
        ExpectTerminated(revived, Wait);
        Group(id);
        _mailboxes.ExpectNoMsg(TimeSpan.FromMilliseconds(500));
    }

    [Fact]
    public void A_member_added_later_gets_no_earlier_message_and_a_removed_member_hears_of_it_once()
    {
        var id = NewGroup();
        var group = Group(id);
        Create(group, id);
        Serve(3);
        group.Tell(new ChangeMembers(id, Alice, MemberOperation.Remove, [Carol], []), TestActor);
        ExpectMsg<GroupReplies.Members>(Wait);
        var removal = Serve(3);
        Assert.Equal(GroupChangeType.MembersRemoved, Assert.Single(removal[Carol]).Meta.GroupEvent!.Type);

        group.Tell(Message(id, Alice, "without carol"), TestActor);
        ExpectMsg<GroupReplies.Posted>(Wait);
        var after = Serve(2);
        Assert.False(after.ContainsKey(Carol));
        _mailboxes.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }
}
