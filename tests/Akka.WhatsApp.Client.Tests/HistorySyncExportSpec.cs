using Akka.WhatsApp.Client.Storage;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;
using Xunit;

namespace Akka.WhatsApp.Client.Tests;

/// <summary>What a primary's store gives a newly linked device (PROTOCOL.md §17): the newest messages, none of the device's own state.</summary>
public sealed class HistorySyncExportSpec : IDisposable
{
    private static readonly DateTimeOffset Start = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);
    private readonly string _folder = Directory.CreateTempSubdirectory("wa-history-export-").FullName;

    private static Frame Deliver(ulong seq, string from, string text, TimeSpan after, ContentKind kind = ContentKind.Text) => new()
    {
        Deliver = new Deliver
        {
            Seq = seq, MessageId = ByteString.CopyFrom(Guid.NewGuid().ToByteArray()), FromUserId = from, FromDeviceId = 1,
            ServerTimestamp = (ulong)(Start + after).ToUnixTimeMilliseconds(), Kind = kind, Ciphertext = ByteString.CopyFromUtf8(text),
        },
    };

    [Fact]
    public void The_export_holds_the_newest_messages_since_the_cutoff_without_system_messages_or_the_cursor()
    {
        var primary = Path.Combine(_folder, "primary.db");
        var export = Path.Combine(_folder, "export.db");
        using (var store = MessageStore.Open(primary))
        {
            store.Save("alice", [
                Deliver(1, "bob", "ten days old", TimeSpan.Zero),
                Deliver(2, "bob", "nine days old", TimeSpan.FromDays(1)),
                Deliver(3, "carol", "eight days old", TimeSpan.FromDays(2)),
                Deliver(4, "alice", "", TimeSpan.FromDays(3), ContentKind.System),
                Deliver(5, "bob", "seven days old", TimeSpan.FromDays(3)),
            ], ackUpTo: 5);
            Assert.Equal(2, store.ExportRecentTo(export, maxMessages: 2, since: Start));
            Assert.Equal(3, store.ExportRecentTo(export + "2", maxMessages: 100, since: Start + TimeSpan.FromDays(1)));
        }
        Assert.False(File.Exists(export + "-wal"), "the export is one self-contained file");

        using var laptop = MessageStore.Open(Path.Combine(_folder, "laptop.db"));
        Assert.Equal(2, laptop.ImportFrom(export));
        Assert.Equal(["seven days old"], laptop.History(ChatId.User("bob")).Select(m => m.Text));
        Assert.Equal(["eight days old"], laptop.History(ChatId.User("carol")).Select(m => m.Text));
        Assert.Empty(laptop.History(ChatId.User("alice")));
        Assert.Single(laptop.Search(new SearchQuery("seven")));
        using var exported = MessageStore.Open(export);
        Assert.Equal(0ul, exported.LastAckedSeq);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
