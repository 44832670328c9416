using Akka.WhatsApp.Protocol;
using Xunit;

namespace Akka.WhatsApp.Edge.Tests;

/// <summary>The domain names the content kinds it treats specially by their wire values: they must stay the same.</summary>
public sealed class ContentKindsSpec
{
    [Fact]
    public void The_domains_content_kinds_are_the_wire_values()
    {
        Assert.Equal(
            [ContentKind.PollVote, ContentKind.System, ContentKind.Reaction, ContentKind.Edit, ContentKind.DeleteForEveryone, ContentKind.RetryRequest],
            new[]
            {
                Domain.Mailbox.ContentKinds.PollVote, Domain.Mailbox.ContentKinds.System, Domain.Mailbox.ContentKinds.Reaction,
                Domain.Mailbox.ContentKinds.Edit, Domain.Mailbox.ContentKinds.DeleteForEveryone, Domain.Mailbox.ContentKinds.RetryRequest,
            }.Select(k => (ContentKind)k));
    }
}
