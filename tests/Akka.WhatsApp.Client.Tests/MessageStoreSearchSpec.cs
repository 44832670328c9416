using Akka.WhatsApp.Client.Storage;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;
using Microsoft.Data.Sqlite;
using Xunit;

namespace Akka.WhatsApp.Client.Tests;

/// <summary>
/// The history on the device (the server cannot read it): edits, deletions and reactions applied to what is stored,
/// unread counts, search by text in any script, chat, date, sender and media kind, retention, export and import, and the
/// migration of a version 1 store.
/// </summary>
public sealed class MessageStoreSearchSpec : IDisposable
{
    private const string Self = "alice";
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly string _folder = Directory.CreateTempSubdirectory("wa-search-").FullName;
    private ulong _seq;

    private string PathOf(string name) => Path.Combine(_folder, name);

    private static ByteString NewId() => ByteString.CopyFrom(Guid.NewGuid().ToByteArray());

    /// <summary>A message pushed to alice's device <paramref name="minutes"/> after T0 (1:1 unless <paramref name="group"/>).</summary>
    private Frame Pushed(string from, string text, double minutes, ContentKind kind = ContentKind.Text, string group = "", ByteString? id = null,
        ByteString? target = null) => new()
    {
        Deliver = new Deliver
        {
            Seq = ++_seq, MessageId = id ?? NewId(), FromUserId = from, FromDeviceId = 1, Kind = kind, GroupId = group,
            ServerTimestamp = (ulong)T0.AddMinutes(minutes).ToUnixTimeMilliseconds(), Ciphertext = ByteString.CopyFromUtf8(text),
            TargetMessageId = target ?? ByteString.Empty,
        },
    };

    private void Save(MessageStore store, params Frame[] pushes) => store.Save(Self, pushes, _seq);

    private static IReadOnlyList<string> Texts(IEnumerable<SearchHit> hits) => [.. hits.Select(h => h.Message.Text ?? "")];

    [Fact]
    public void Edits_and_deletions_for_everyone_change_the_stored_message_and_reactions_are_kept_beside_it()
    {
        using var store = MessageStore.Open(PathOf("messages.db"));
        var (bobs, mine) = (NewId(), NewId());
        Save(store, Pushed("bob", "see you at 5", 1, id: bobs));
        store.RecordSent(Self, 1, ChatId.User("bob"), mine, (ulong)T0.AddMinutes(2).ToUnixTimeMilliseconds(), ContentKind.Text, "ok, at 5"u8.ToArray());

        Save(store,
            Pushed("bob", "see you at 6", 3, ContentKind.Edit, target: bobs),
            Pushed("mallory", "hijacked", 3.5, ContentKind.Edit, target: bobs), // not the sender: ignored
            Pushed("bob", "👍", 4, ContentKind.Reaction, target: mine));
        store.RecordSent(Self, 1, ChatId.User("bob"), NewId(), (ulong)T0.AddMinutes(5).ToUnixTimeMilliseconds(), ContentKind.Reaction, "❤️"u8.ToArray(),
            targetMessageId: bobs);

        var chat = store.History(ChatId.User("bob"));
        Assert.Equal(2, chat.Count); // the changes are not messages of their own
        Assert.Equal(("see you at 6", true), (chat[0].Text, chat[0].Edited));
        Assert.Equal("see you at 6", chat[0].Deliver!.Ciphertext.ToStringUtf8()); // the old text is gone from the stored Deliver too
        Assert.Equal([("alice", "❤️")], store.Reactions(ChatId.User("bob"), chat[0].MessageId).Select(r => (r.From, r.Emoji)));
        Assert.Equal([("bob", "👍")], store.Reactions(ChatId.User("bob"), MessageStore.Hex(mine)).Select(r => (r.From, r.Emoji)));
        Assert.Empty(store.Search(new SearchQuery("at 5", ChatId.User("bob"), Sender: "bob")));
        Assert.Equal(["see you at 6"], Texts(store.Search(new SearchQuery("at 6"))));

        // Taken back, then deleted for everyone: the place stays, the text and the reactions go, search forgets it.
        Save(store, Pushed("bob", "", 6, ContentKind.Reaction, target: mine), Pushed("bob", "", 7, ContentKind.DeleteForEveryone, target: bobs));
        Assert.Empty(store.Reactions(ChatId.User("bob"), MessageStore.Hex(mine)));
        var deleted = store.History(ChatId.User("bob"))[0];
        Assert.Equal((true, 0, null), (deleted.Deleted, deleted.Body.Length, deleted.Deliver));
        Assert.Empty(store.Reactions(ChatId.User("bob"), deleted.MessageId));
        Assert.Empty(store.Search(new SearchQuery("see you")));

        // Delete for me: gone from this device only.
        Assert.True(store.DeleteForMe(ChatId.User("bob"), Self, MessageStore.Hex(mine)));
        Assert.Single(store.History(ChatId.User("bob")));
        Assert.Empty(store.Search(new SearchQuery("ok, at")));
    }

    [Fact]
    public void Chats_list_unread_counts_and_the_last_message_and_opening_a_chat_reads_it()
    {
        using var store = MessageStore.Open(PathOf("messages.db"));
        const string group = "0123456789abcdef0123456789abcdef";
        Save(store, Pushed("bob", "one", 1), Pushed("bob", "two", 2), Pushed("carol", "in the group", 3, group: group));
        store.RecordSent(Self, 1, ChatId.User("bob"), NewId(), (ulong)T0.AddMinutes(4).ToUnixTimeMilliseconds(), ContentKind.Text, "mine"u8.ToArray());

        var chats = store.Chats();
        Assert.Equal([ChatId.User("bob"), ChatId.Group(group)], chats.Select(c => c.Chat));
        Assert.Equal((3, 2, "mine"), (chats[0].Messages, chats[0].Unread, chats[0].LastMessage!.Text));
        Assert.Equal(1, chats[1].Unread);

        store.MarkRead(ChatId.User("bob"));
        Assert.Equal([0, 1], store.Chats().Select(c => c.Unread));
    }

    [Fact]
    public void Search_finds_text_in_any_script_ranked_and_filtered_by_chat_date_sender_and_kind_with_the_match_marked()
    {
        using var store = MessageStore.Open(PathOf("messages.db"));
        const string group = "0123456789abcdef0123456789abcdef";
        Save(store,
            Pushed("bob", "Dinner tonight at the Italian place?", 1),
            Pushed("bob", "dinner dinner dinner", 2),
            Pushed("carol", "明天我们一起吃晚饭吧", 3, group: group),
            Pushed("carol", "Привет, как дела? Ужин в восемь", 4, group: group),
            Pushed("dave", "party 🎉🎉 tonight", 5),
            Pushed("bob", "[photo]", 6, ContentKind.Image),
            Pushed("dave", "an old dinner", -60 * 24 * 40));

        Assert.Equal(3, store.Search(new SearchQuery("DINNER")).Count); // case-insensitive
        // Newest first (the order they reached the device), or the best match first.
        Assert.Equal(["an old dinner", "dinner dinner dinner", "Dinner tonight at the Italian place?"], Texts(store.Search(new SearchQuery("dinner"))));
        Assert.Equal("dinner dinner dinner", store.Search(new SearchQuery("dinner", Order: SearchOrder.Relevance))[0].Message.Text);
        Assert.Equal("明天我们一起吃晚饭吧", Assert.Single(store.Search(new SearchQuery("一起吃"))).Message.Text);
        Assert.Contains("[一起吃]", Assert.Single(store.Search(new SearchQuery("一起吃"))).Snippet);
        Assert.Single(store.Search(new SearchQuery("晚饭")));   // two characters: below the trigram length, still found
        Assert.Single(store.Search(new SearchQuery("ужин")));   // Cyrillic, case-insensitive
        Assert.Single(store.Search(new SearchQuery("🎉")));
        Assert.Equal("Dinner tonight at the [Italian] place?", store.Search(new SearchQuery("italian"))[0].Snippet);
        Assert.Equal("party [🎉]🎉 tonight", store.Search(new SearchQuery("🎉"))[0].Snippet);

        Assert.Equal(["Dinner tonight at the Italian place?", "dinner dinner dinner"],
            Texts(store.Search(new SearchQuery("dinner", ChatId.User("bob")))).Order(StringComparer.Ordinal));
        Assert.Equal(["an old dinner"], Texts(store.Search(new SearchQuery("dinner", To: T0.AddDays(-1)))));
        Assert.Equal(2, store.Search(new SearchQuery("dinner", From: T0)).Count);
        Assert.Equal(["an old dinner"], Texts(store.Search(new SearchQuery("dinner", Sender: "dave"))));
        Assert.Equal([ContentKind.Image], store.Search(new SearchQuery("", Kinds: [ContentKind.Image])).Select(h => h.Message.Kind));
        Assert.Empty(store.Search(new SearchQuery("dinner", Kinds: [ContentKind.Image])));

        // Paged: two pages of two cover the three dinners once.
        var pages = store.Search(new SearchQuery("dinner", Limit: 2)).Concat(store.Search(new SearchQuery("dinner", Limit: 2, Offset: 2))).ToList();
        Assert.Equal((3, 3), (pages.Count, pages.Select(h => h.Message.LocalId).Distinct().Count()));
        // Quotes and FTS operators in the text are text, not syntax.
        Assert.Empty(store.Search(new SearchQuery("\"dinner OR party\"")));
    }

    [Fact]
    public void A_long_text_is_cut_to_the_words_around_the_match()
    {
        var text = string.Join(' ', Enumerable.Range(0, 40).Select(i => $"word{i}")) + " the needle " + string.Join(' ', Enumerable.Range(40, 40).Select(i => $"word{i}"));
        var snippet = MessageStore.Snippet(text, "NEEDLE");
        Assert.StartsWith("…", snippet, StringComparison.Ordinal);
        Assert.EndsWith("…", snippet, StringComparison.Ordinal);
        Assert.Contains(" the [needle] word40 ", snippet, StringComparison.Ordinal);
        Assert.True(snippet.Length < 130, snippet);
        Assert.DoesNotContain("word0 ", snippet, StringComparison.Ordinal);
        // Never half an emoji: 👍🏽 is two code points, four UTF-16 units.
        var cut = MessageStore.Snippet("x" + string.Concat(Enumerable.Repeat("👍🏽", 60)), "x");
        Assert.StartsWith("[x]", cut, StringComparison.Ordinal);
        Assert.EndsWith("…", cut, StringComparison.Ordinal);
        var rest = System.Globalization.StringInfo.GetTextElementEnumerator(cut[3..^1]);
        while (rest.MoveNext())
            Assert.Equal("👍🏽", rest.GetTextElement());
    }

    [Fact]
    public void Retention_forgets_old_history_but_not_what_nobody_has_shown_yet()
    {
        using var store = MessageStore.Open(PathOf("messages.db"));
        Assert.Equal(TimeSpan.FromDays(365), store.Retention);
        Save(store, Pushed("bob", "ancient and seen", -60 * 24 * 20), Pushed("bob", "ancient, never shown", -60 * 24 * 20), Pushed("bob", "recent", 1));
        store.MarkShown([store.History(ChatId.User("bob"))[0].LocalId]);
        store.Retention = TimeSpan.FromDays(10);

        Assert.Equal(1, store.ApplyRetention(T0));
        Assert.Equal(["ancient, never shown", "recent"], store.History(ChatId.User("bob")).Select(m => m.Text));
        Assert.Empty(store.Search(new SearchQuery("ancient and")));
        Assert.Throws<ArgumentOutOfRangeException>(() => store.Retention = TimeSpan.FromHours(1));
    }

    [Fact]
    public void An_export_seeds_another_store_with_the_history_it_lacks_searchable_and_seen()
    {
        var export = PathOf("export.db");
        using (var phone = MessageStore.Open(PathOf("phone.db")))
        {
            Save(phone, Pushed("bob", "from the phone's history", 1), Pushed("bob", "👍", 2, ContentKind.Reaction));
            phone.RecordSent(Self, 1, ChatId.User("bob"), NewId(), (ulong)T0.AddMinutes(3).ToUnixTimeMilliseconds(), ContentKind.Text, "sent on the phone"u8.ToArray());
            phone.ExportTo(export);
            Assert.Throws<IOException>(() => phone.ExportTo(export));
        }
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(export));

        using var laptop = MessageStore.Open(PathOf("laptop.db"));
        Save(laptop, Pushed("carol", "only on the laptop", 4));
        Assert.Equal(2, laptop.ImportFrom(export));
        Assert.Equal(0, laptop.ImportFrom(export)); // twice: nothing new
        Assert.Equal(["from the phone's history", "sent on the phone"], laptop.History(ChatId.User("bob")).Select(m => m.Text));
        Assert.Single(laptop.Search(new SearchQuery("phone's history")));
        Assert.Equal([0, 1], laptop.Chats().OrderBy(c => c.Chat.Value).Select(c => c.Unread)); // imported: seen; carol's: not yet
        Assert.Equal(_seq, laptop.LastAckedSeq); // the laptop's own cursor stays
    }

    [Fact]
    public void A_version_1_store_is_migrated_forward_indexed_and_its_changes_applied()
    {
        var path = PathOf("v1.db");
        var (original, edit) = (NewId(), NewId());
        using (var db = new SqliteConnection($"Data Source={path};Pooling=false"))
        {
            db.Open();
            Exec(db, """
                CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE messages (
                  local_id INTEGER PRIMARY KEY AUTOINCREMENT, chat TEXT NOT NULL, message_id TEXT NOT NULL, sender TEXT NOT NULL,
                  sender_device INTEGER NOT NULL, seq INTEGER NOT NULL, server_time INTEGER NOT NULL, kind INTEGER NOT NULL, body BLOB NOT NULL,
                  group_seq INTEGER NOT NULL, outgoing INTEGER NOT NULL, state INTEGER NOT NULL, shown INTEGER NOT NULL, deliver BLOB,
                  UNIQUE (chat, sender, message_id));
                INSERT INTO meta VALUES ('schema_version', '1'), ('last_acked_seq', '2');
                """);
            foreach (var (frame, row) in new[] { (Pushed("bob", "первая версия", 1, id: original), 1), (Pushed("bob", "вторая версия", 2, ContentKind.Edit, id: edit, target: original), 2) })
            {
                var d = frame.Deliver;
                using var insert = db.CreateCommand();
                insert.CommandText = """
                    INSERT INTO messages (chat, message_id, sender, sender_device, seq, server_time, kind, body, group_seq, outgoing, state, shown, deliver)
                    VALUES ('u:bob', $id, 'bob', 1, $seq, $time, $kind, $body, 0, 0, 0, 1, $deliver)
                    """;
                insert.Parameters.AddWithValue("$id", MessageStore.Hex(d.MessageId));
                insert.Parameters.AddWithValue("$seq", row);
                insert.Parameters.AddWithValue("$time", (long)d.ServerTimestamp);
                insert.Parameters.AddWithValue("$kind", (int)d.Kind);
                insert.Parameters.AddWithValue("$body", d.Ciphertext.ToByteArray());
                insert.Parameters.AddWithValue("$deliver", d.ToByteArray());
                insert.ExecuteNonQuery();
            }
        }

        using var store = MessageStore.Open(path);
        var migrated = Assert.Single(store.History(ChatId.User("bob")));
        Assert.Equal(("вторая версия", true, 2ul), (migrated.Text, migrated.Edited, store.LastAckedSeq));
        Assert.Single(store.Search(new SearchQuery("вторая")));
        Assert.Empty(store.Search(new SearchQuery("первая")));
    }

    private static void Exec(SqliteConnection db, string sql)
    {
        using var command = db.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }
}
