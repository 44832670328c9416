using Akka.WhatsApp.Client.Storage;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;
using Xunit;

namespace Akka.WhatsApp.Client.Tests;

/// <summary>The SDK's local store: what a device received is stored before it is acknowledged, and survives a restart.</summary>
public sealed class MessageStoreSpec : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("wa-store-").FullName;

    private string StorePath => Path.Combine(_folder, "messages.db");

    private static Frame Deliver(ulong seq, string from, string text, string toUser = "", ContentKind kind = ContentKind.Text) => new()
    {
        Deliver = new Deliver
        {
            Seq = seq, MessageId = ByteString.CopyFrom(Guid.NewGuid().ToByteArray()), FromUserId = from, FromDeviceId = 1, ServerTimestamp = 1_700_000_000_000 + seq,
            Kind = kind, Ciphertext = ByteString.CopyFromUtf8(text), ToUserId = toUser,
        },
    };

    [Fact]
    public async Task A_message_is_in_the_store_when_the_server_receives_its_ack_and_after_a_restart()
    {
        var pushed = Deliver(7, "bob", "kept");
        await using var server = new ScriptedServer(_ => new Frame { Ok = new Ok() }) { PushAfterLogin = [pushed] };
        using (var store = MessageStore.Open(StorePath))
        {
            await using var client = await WhatsAppClient.ConnectAsync(server.Options with { Store = store }, ScriptedServer.Alice);
            var ack = await server.ReceiveAsync(f => f.PacketCase == Frame.PacketOneofCase.Ack);
            Assert.Equal(7ul, ack.Ack.UpToSeq);
            // Read through another connection to the file: committed, not only in this process's memory.
            using var other = MessageStore.Open(StorePath);
            Assert.Equal("kept", System.Text.Encoding.UTF8.GetString(Assert.Single(other.History(ChatId.User("bob"))).Body.Span));
            Assert.Equal(7ul, other.LastAckedSeq);
        }
        using var reopened = MessageStore.Open(StorePath);
        var unshown = Assert.Single(reopened.Unshown());
        Assert.Equal((ChatId.User("bob"), "bob", 7ul), (unshown.Chat, unshown.From, unshown.Seq));
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(StorePath));
    }

    [Fact]
    public async Task A_message_stored_but_not_acknowledged_before_a_crash_is_acknowledged_on_redelivery_and_shown_once()
    {
        // The previous run stored three messages and died before its ack: one the application had shown, one not yet.
        var (shown, unshown, edit, fresh) = (Deliver(1, "bob", "seen before the crash"), Deliver(2, "bob", "stored, not seen"),
            Deliver(3, "bob", "seen, edited", kind: ContentKind.Edit), Deliver(4, "bob", "new"));
        edit.Deliver.TargetMessageId = shown.Deliver.MessageId;
        using (var before = MessageStore.Open(StorePath))
        {
            before.Save("alice", [shown, unshown, edit], ackUpTo: 0);
            before.MarkShown(ChatId.User("bob"), "bob", shown.Deliver.MessageId);
        }

        // The server delivers them again (nothing was acknowledged), then a new one.
        await using var server = new ScriptedServer(_ => new Frame { Ok = new Ok() }) { PushAfterLogin = [shown, unshown, edit, fresh] };
        using var store = MessageStore.Open(StorePath);
        await using var client = await WhatsAppClient.ConnectAsync(server.Options with { Store = store }, ScriptedServer.Alice);
        var ack = await server.ReceiveAsync(f => f.PacketCase == Frame.PacketOneofCase.Ack);
        Assert.Equal(4ul, ack.Ack.UpToSeq);
        var events = new List<string>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (events.Count < 2 && await client.Events.WaitToReadAsync(timeout.Token))
            while (client.Events.TryRead(out var e))
                if (e is MessageReceived m)
                    events.Add(m.Deliver.Ciphertext.ToStringUtf8());
        Assert.Equal(["stored, not seen", "new"], events);
        Assert.Equal(["seen, edited", "stored, not seen", "new"], store.History(ChatId.User("bob")).Select(m => m.Text));
    }

    [Fact]
    public void A_redelivered_message_is_stored_once_and_receipts_only_move_the_state_forward()
    {
        using var store = MessageStore.Open(StorePath);
        var id = ByteString.CopyFrom(Guid.NewGuid().ToByteArray());
        store.RecordSent("alice", 1, ChatId.User("bob"), id, 1_700_000_000_000, ContentKind.Text, "hi"u8.ToArray());
        var first = Deliver(1, "bob", "one");
        store.Save("alice", [first, first, Deliver(2, "alice", "sync copy", toUser: "bob")], ackUpTo: 2);
        Receipt(store, id, ReceiptType.Read, 3);
        Receipt(store, id, ReceiptType.Delivered, 4);

        var chat = store.History(ChatId.User("bob"));
        Assert.Equal(["hi", "one", "sync copy"], chat.Select(m => System.Text.Encoding.UTF8.GetString(m.Body.Span)).Order());
        Assert.Equal(MessageState.Read, store.StateOf(MessageStore.Hex(id)));
        Assert.True(chat.Single(m => m.From == "alice" && m.Seq == 2).Outgoing, "a sync copy of this user's message is its own");
        Assert.Equal(4ul, store.LastAckedSeq);
        store.Save("alice", [], ackUpTo: 3);
        Assert.Equal(4ul, store.LastAckedSeq); // the cursor never moves back
    }

    private static void Receipt(MessageStore store, ByteString id, ReceiptType type, ulong seq) =>
        store.Save("alice", [new Frame { Receipt = new Receipt { Seq = seq, FromUserId = "bob", Type = type, MessageIds = { id } } }], ackUpTo: seq);

    [Fact]
    public void A_store_written_by_a_newer_client_is_refused_with_a_clear_error()
    {
        using (var store = MessageStore.Open(StorePath))
        {
        }
        using (var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={StorePath};Pooling=false"))
        {
            db.Open();
            using var command = db.CreateCommand();
            command.CommandText = "UPDATE meta SET value = '99' WHERE key = 'schema_version'";
            command.ExecuteNonQuery();
        }
        var refused = Assert.Throws<InvalidDataException>(() => MessageStore.Open(StorePath));
        Assert.Contains("newer client", refused.Message);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
