using Akka.WhatsApp.Domain;
using Akka.WhatsApp.Domain.Mailbox;
using Akka.WhatsApp.Domain.Messaging;
using Xunit;

namespace Akka.WhatsApp.Domain.Tests;

public sealed class MessageChangesSpec
{
    private static readonly UserId Ann = new("ann"), Ben = new("ben");
    private static readonly DateTimeOffset Sent = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(ContentKinds.Edit, 15 * 60, true)]
    [InlineData(ContentKinds.Edit, 15 * 60 + 1, false)]
    [InlineData(ContentKinds.DeleteForEveryone, 48 * 3600, true)]
    [InlineData(ContentKinds.DeleteForEveryone, 48 * 3600 + 1, false)]
    public void The_sender_may_change_a_message_up_to_the_end_of_its_window(int kind, int secondsLater, bool allowed)
    {
        var refusal = MessageChanges.Refusal(kind, Ann, Ann, Sent, Sent.AddSeconds(secondsLater));
        Assert.Equal(allowed, refusal is null);
    }

    [Fact]
    public void Nobody_else_may_and_a_forgotten_target_may_not_be_changed()
    {
        Assert.Contains("only the sender", MessageChanges.Refusal(ContentKinds.Edit, Ben, Ann, Sent, Sent));
        Assert.Contains("15 minutes", MessageChanges.Refusal(ContentKinds.Edit, Ann, null, null, Sent));
        Assert.Contains("48 hours", MessageChanges.Refusal(ContentKinds.DeleteForEveryone, Ann, null, null, Sent));
    }

    [Fact]
    public void Only_edits_and_deletes_for_everyone_change_a_message_but_reactions_votes_and_retries_name_one()
    {
        Assert.Equal([ContentKinds.Edit, ContentKinds.DeleteForEveryone], Enumerable.Range(0, 20).Where(MessageChanges.Changes));
        Assert.Equal([ContentKinds.PollVote, ContentKinds.Reaction, ContentKinds.Edit, ContentKinds.DeleteForEveryone, ContentKinds.RetryRequest],
            Enumerable.Range(0, 20).Where(ContentKinds.NeedsTarget));
    }
}
