using Akka.WhatsApp.Protocol;
using Google.Protobuf;
using Microsoft.Data.Sqlite;

namespace Akka.WhatsApp.Client.Storage;

/// <summary>A conversation: a 1:1 chat with a user, or a group.</summary>
public readonly record struct ChatId(string Value)
{
    public static ChatId User(string userId) => new("u:" + userId);

    public static ChatId Group(string groupId) => new("g:" + groupId);

    /// <summary>The chat a pushed message belongs to: its group, else the other user (the recipient, for a sync copy of one's own).</summary>
    public static ChatId Of(Deliver d) => d.GroupId.Length > 0 ? Group(d.GroupId) : User(d.ToUserId.Length > 0 ? d.ToUserId : d.FromUserId);

    public bool IsGroup => Value.StartsWith("g:", StringComparison.Ordinal);

    /// <summary>The user or group id.</summary>
    public string Id => Value[2..];

    public override string ToString() => Value;
}

/// <summary>How far one of this device's own messages got (PROTOCOL.md §8.5); states only move forward.</summary>
public enum MessageState
{
    Received = 0,
    Sent = 1,
    Delivered = 2,
    Read = 3,
    Played = 4,
}

/// <summary>One stored message: received from someone, or sent by this user (from this device or, as a sync copy, another).</summary>
public sealed record StoredMessage(
    long LocalId,
    ChatId Chat,
    string MessageId,
    string From,
    uint FromDevice,
    ulong Seq,
    DateTimeOffset ServerTime,
    ContentKind Kind,
    ReadOnlyMemory<byte> Body,
    ulong GroupSeq,
    bool Outgoing,
    MessageState State,
    bool Shown,
    Deliver? Deliver)
{
    /// <summary>Changed by its sender after it was sent (the body is the newest version).</summary>
    public bool Edited { get; init; }

    /// <summary>Deleted for everyone by its sender: the body is gone, the place in the chat stays.</summary>
    public bool Deleted { get; init; }

    /// <summary>The text of a text message (UTF-8 body); null for other kinds and for bodies that are not text.</summary>
    public string? Text => Kind == ContentKind.Text && !Deleted ? MessageStore.TextOf(Body.Span) : null;
}

/// <summary>A conversation as a chat list shows it: its last message and how many received messages the user has not seen.</summary>
public sealed record ChatSummary(ChatId Chat, int Messages, int Unread, DateTimeOffset Last, StoredMessage? LastMessage);

/// <summary>A reaction to a stored message: one per user, the newest wins, an empty emoji takes it back.</summary>
public sealed record StoredReaction(string From, string Emoji, DateTimeOffset At);

/// <summary>
/// What <see cref="MessageStore.Search"/> looks for: <paramref name="Text"/> (any script; empty = every message that passes
/// the filters), in one chat or all, between two times, from one sender, of some content kinds; a page of the results.
/// </summary>
public sealed record SearchQuery(
    string Text,
    ChatId? Chat = null,
    DateTimeOffset? From = null,
    DateTimeOffset? To = null,
    string? Sender = null,
    IReadOnlyCollection<ContentKind>? Kinds = null,
    int Limit = 20,
    int Offset = 0,
    SearchOrder Order = SearchOrder.Newest);

/// <summary>
/// How search results are ordered: newest first (as WhatsApp and Signal list them; milliseconds on any store, since the
/// index is read backwards and stops at the page), or best match first (FTS5's bm25; ranks every match, so it costs
/// tens of milliseconds when a word is in tens of thousands of messages).
/// </summary>
public enum SearchOrder
{
    Newest,
    Relevance,
}

/// <summary>A found message and its text with the match in [brackets] (around the match only, for long texts).</summary>
public sealed record SearchHit(StoredMessage Message, string Snippet);

/// <summary>
/// The SDK's local store (SQLite in the profile folder, file mode 600): every message pushed to this device is written
/// here, with the device's ack cursor, in one transaction <b>before</b> the SDK acknowledges it to the server, so that
/// nothing acknowledged is ever lost on the device, whatever the application does with it. Also keeps this user's sent
/// messages and the ticks their receipts bring. Edits, deletions for everyone and reactions are applied to the message
/// they target (they are not rows of their own). Under end-to-end encryption only the device can read its history, so
/// search is here too: an FTS5 index (trigram tokenizer: substrings in any script, case-insensitive) over the text of
/// text messages. History is kept for <see cref="Retention"/> (a year by default). Migrated forward by a schema version.
/// </summary>
public sealed class MessageStore : IDisposable
{
    /// <summary>The schema this code writes; older files are migrated forward on open.</summary>
    public const int SchemaVersion = 2;

    /// <summary>How long history is kept unless the user sets otherwise (the design's one-year message retention).</summary>
    public static readonly TimeSpan DefaultRetention = TimeSpan.FromDays(365);

    private readonly SqliteConnection _db;
    private readonly object _gate = new();

    private MessageStore(SqliteConnection db) => _db = db;

    public string Path { get; private init; } = "";

    /// <summary>Opens (creating and migrating as needed) the store at <paramref name="path"/>.</summary>
    public static MessageStore Open(string path)
    {
        var store = new MessageStore(DeviceDatabase.Open(path)) { Path = path };
        store.Migrate();
        return store;
    }

    private void Migrate()
    {
        Execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
        var version = int.Parse(Meta("schema_version") ?? "0", System.Globalization.CultureInfo.InvariantCulture);
        if (version > SchemaVersion)
            throw new InvalidDataException($"{Path} was written by a newer client (schema {version}; this one knows {SchemaVersion})");
        if (version < 1)
        {
            Execute("""
                CREATE TABLE messages (
                  local_id INTEGER PRIMARY KEY AUTOINCREMENT,
                  chat TEXT NOT NULL,
                  message_id TEXT NOT NULL,
                  sender TEXT NOT NULL,
                  sender_device INTEGER NOT NULL,
                  seq INTEGER NOT NULL,
                  server_time INTEGER NOT NULL,
                  kind INTEGER NOT NULL,
                  body BLOB NOT NULL,
                  group_seq INTEGER NOT NULL,
                  outgoing INTEGER NOT NULL,
                  state INTEGER NOT NULL,
                  shown INTEGER NOT NULL,
                  deliver BLOB,
                  UNIQUE (chat, sender, message_id));
                CREATE INDEX messages_by_chat ON messages (chat, server_time);
                CREATE INDEX messages_by_id ON messages (message_id);
                """);
            SetMeta("schema_version", "1");
        }
        if (version < 2)
            MigrateToVersion2();
    }

    /// <summary>
    /// Version 2: the search index, reactions, edited / deleted marks. What version 1 stored is indexed, and its edit,
    /// deletion and reaction rows are applied to their targets (and dropped), as version 2 stores them.
    /// </summary>
    private void MigrateToVersion2()
    {
        using var tx = _db.BeginTransaction();
        Execute("""
            ALTER TABLE messages ADD COLUMN edited INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE messages ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
            CREATE TABLE reactions (
              chat TEXT NOT NULL, target TEXT NOT NULL, sender TEXT NOT NULL, emoji TEXT NOT NULL, at INTEGER NOT NULL,
              PRIMARY KEY (chat, target, sender));
            CREATE VIRTUAL TABLE search USING fts5 (text, tokenize = 'trigram');
            CREATE TABLE changes (
              chat TEXT NOT NULL, sender TEXT NOT NULL, message_id TEXT NOT NULL, at INTEGER NOT NULL,
              PRIMARY KEY (chat, sender, message_id));
            """, tx);
        var rows = Query("ORDER BY local_id", _ => { }, tx);
        foreach (var row in rows.Where(r => r.Kind == ContentKind.Text))
            Index(tx, row.LocalId, row.Body.Span);
        foreach (var change in rows.Where(r => IsChange(r.Kind)))
        {
            if (change.Deliver is { TargetMessageId.Length: > 0 } d)
                Apply(tx, change.Chat, change.From, change.Kind, Hex(d.TargetMessageId), change.Body.Span, change.ServerTime);
            Run(tx, "DELETE FROM messages WHERE local_id = $id", ("$id", change.LocalId));
        }
        SetMeta("schema_version", "2", tx);
        tx.Commit();
    }

    /// <summary>Kinds that change an earlier message rather than add one.</summary>
    private static bool IsChange(ContentKind kind) => kind is ContentKind.Edit or ContentKind.DeleteForEveryone or ContentKind.Reaction;

    /// <summary>
    /// Whether a pushed message is stored already (a redelivery of what this device stored but did not get to
    /// acknowledge, say before a crash): then it is not decrypted again (its ratchet step is spent), and
    /// <paramref name="unshown"/> is the stored copy when no application has shown it yet (null when it was shown, or is
    /// an edit, deletion or reaction, which are applied).
    /// </summary>
    public bool Holds(Deliver d, out Deliver? unshown)
    {
        unshown = null;
        var chat = ChatId.Of(d);
        lock (_gate)
        {
            using var command = _db.CreateCommand();
            command.CommandText = """
                SELECT shown, deliver FROM messages WHERE chat = $chat AND sender = $sender AND message_id = $id
                UNION ALL SELECT 1, NULL FROM changes WHERE chat = $chat AND sender = $sender AND message_id = $id
                LIMIT 1
                """;
            command.Parameters.AddWithValue("$chat", chat.Value);
            command.Parameters.AddWithValue("$sender", d.FromUserId);
            command.Parameters.AddWithValue("$id", Hex(d.MessageId));
            using var reader = command.ExecuteReader();
            if (!reader.Read())
                return false;
            if (reader.GetInt64(0) == 0 && !reader.IsDBNull(1))
                unshown = Protocol.Deliver.Parser.ParseFrom((byte[])reader.GetValue(1));
            return true;
        }
    }

    /// <summary>The highest seq this device acknowledged, stored with the messages it covers.</summary>
    public ulong LastAckedSeq
    {
        get
        {
            lock (_gate)
                return ulong.Parse(Meta("last_acked_seq") ?? "0", System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    /// <summary>
    /// Stores what the server pushed (messages, receipts) and moves the ack cursor to <paramref name="ackUpTo"/>, in one
    /// durable transaction. A message already stored (a redelivery) is skipped; a receipt moves its messages' state forward.
    /// </summary>
    public void Save(string selfUserId, IReadOnlyList<Frame> pushes, ulong ackUpTo)
    {
        lock (_gate)
        {
            using var tx = _db.BeginTransaction();
            foreach (var push in pushes)
            {
                switch (push.PacketCase)
                {
                    case Frame.PacketOneofCase.Deliver:
                        Insert(tx, selfUserId, push.Deliver);
                        break;
                    case Frame.PacketOneofCase.Receipt when push.Receipt.ToUserId.Length == 0:
                        Advance(tx, push.Receipt.MessageIds.Select(Hex), StateOf(push.Receipt.Type));
                        break;
                }
            }
            if (ackUpTo > ulong.Parse(Meta("last_acked_seq", tx) ?? "0", System.Globalization.CultureInfo.InvariantCulture))
                SetMeta("last_acked_seq", ackUpTo.ToString(System.Globalization.CultureInfo.InvariantCulture), tx);
            tx.Commit();
        }
    }

    /// <summary>
    /// Records a message this device sent, once the server stored it (✓). An edit, a deletion or a reaction
    /// (<paramref name="targetMessageId"/>: the message it changes) is applied to its target instead.
    /// </summary>
    public void RecordSent(string selfUserId, uint selfDevice, ChatId chat, ByteString messageId, ulong serverTime, ContentKind kind,
        ReadOnlyMemory<byte> body, ulong groupSeq = 0, ByteString? targetMessageId = null)
    {
        lock (_gate)
        {
            using var tx = _db.BeginTransaction();
            if (IsChange(kind))
            {
                if (targetMessageId is { Length: > 0 })
                    Apply(tx, chat, selfUserId, kind, Hex(targetMessageId), body.Span, DateTimeOffset.FromUnixTimeMilliseconds((long)serverTime));
                tx.Commit();
                return;
            }
            using var command = _db.CreateCommand();
            command.Transaction = tx;
            command.CommandText = """
                INSERT INTO messages (chat, message_id, sender, sender_device, seq, server_time, kind, body, group_seq, outgoing, state, shown)
                VALUES ($chat, $id, $sender, $device, 0, $time, $kind, $body, $group_seq, 1, $state, 1)
                ON CONFLICT (chat, sender, message_id) DO NOTHING
                """;
            command.Parameters.AddWithValue("$chat", chat.Value);
            command.Parameters.AddWithValue("$id", Hex(messageId));
            command.Parameters.AddWithValue("$sender", selfUserId);
            command.Parameters.AddWithValue("$device", (long)selfDevice);
            command.Parameters.AddWithValue("$time", (long)serverTime);
            command.Parameters.AddWithValue("$kind", (int)kind);
            command.Parameters.AddWithValue("$body", body.ToArray());
            command.Parameters.AddWithValue("$group_seq", (long)groupSeq);
            command.Parameters.AddWithValue("$state", (int)MessageState.Sent);
            if (command.ExecuteNonQuery() > 0 && kind == ContentKind.Text)
                Index(tx, LastRowId(tx), body.Span);
            tx.Commit();
        }
    }

    /// <summary>Received messages no application has shown yet, oldest first.</summary>
    public IReadOnlyList<StoredMessage> Unshown() => Query("WHERE shown = 0 ORDER BY local_id", _ => { });

    public void MarkShown(IEnumerable<long> localIds)
    {
        lock (_gate)
        {
            using var tx = _db.BeginTransaction();
            foreach (var id in localIds)
            {
                using var command = _db.CreateCommand();
                command.Transaction = tx;
                command.CommandText = "UPDATE messages SET shown = 1 WHERE local_id = $id";
                command.Parameters.AddWithValue("$id", id);
                command.ExecuteNonQuery();
            }
            tx.Commit();
        }
    }

    /// <summary>Marks one received message shown, by its identity (chat, sender, message id).</summary>
    public void MarkShown(ChatId chat, string sender, ByteString messageId)
    {
        lock (_gate)
        {
            using var command = _db.CreateCommand();
            command.CommandText = "UPDATE messages SET shown = 1 WHERE chat = $chat AND sender = $sender AND message_id = $id";
            command.Parameters.AddWithValue("$chat", chat.Value);
            command.Parameters.AddWithValue("$sender", sender);
            command.Parameters.AddWithValue("$id", Hex(messageId));
            command.ExecuteNonQuery();
        }
    }

    /// <summary>The last <paramref name="limit"/> messages of a chat, oldest first.</summary>
    public IReadOnlyList<StoredMessage> History(ChatId chat, int limit = 50) =>
        Query("WHERE chat = $chat ORDER BY server_time DESC, local_id DESC LIMIT $limit", c =>
        {
            c.Parameters.AddWithValue("$chat", chat.Value);
            c.Parameters.AddWithValue("$limit", limit);
        }).Reverse().ToList();

    /// <summary>
    /// The chats with stored messages, the most recent first: how many messages, how many received ones the user has not
    /// seen yet (not <see cref="StoredMessage.Shown"/>; SYSTEM messages do not count), and the last message.
    /// </summary>
    public IReadOnlyList<ChatSummary> Chats()
    {
        lock (_gate)
        {
            using var command = _db.CreateCommand();
            command.CommandText = $"""
                SELECT chat, COUNT(*), SUM(outgoing = 0 AND shown = 0 AND kind <> {(int)ContentKind.System}), MAX(server_time)
                FROM messages GROUP BY chat ORDER BY MAX(server_time) DESC, MAX(local_id) DESC
                """;
            var chats = new List<(ChatId Chat, int Count, int Unread, long Last)>();
            using (var reader = command.ExecuteReader())
                while (reader.Read())
                    chats.Add((new ChatId(reader.GetString(0)), reader.GetInt32(1), reader.GetInt32(2), reader.GetInt64(3)));
            return [.. chats.Select(c => new ChatSummary(c.Chat, c.Count, c.Unread, DateTimeOffset.FromUnixTimeMilliseconds(c.Last),
                History(c.Chat, 1).LastOrDefault()))];
        }
    }

    /// <summary>The user saw the chat: none of its messages counts as unread any more.</summary>
    public void MarkRead(ChatId chat)
    {
        lock (_gate)
            Run(null, "UPDATE messages SET shown = 1 WHERE chat = $chat AND shown = 0", ("$chat", chat.Value));
    }

    /// <summary>The reactions to one message of a chat (message id in hex), oldest first.</summary>
    public IReadOnlyList<StoredReaction> Reactions(ChatId chat, string messageId)
    {
        lock (_gate)
        {
            using var command = _db.CreateCommand();
            command.CommandText = "SELECT sender, emoji, at FROM reactions WHERE chat = $chat AND target = $target ORDER BY at, sender";
            command.Parameters.AddWithValue("$chat", chat.Value);
            command.Parameters.AddWithValue("$target", messageId);
            using var reader = command.ExecuteReader();
            var found = new List<StoredReaction>();
            while (reader.Read())
                found.Add(new StoredReaction(reader.GetString(0), reader.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2))));
            return found;
        }
    }

    /// <summary>"Delete for me": the message (by its chat, sender and id in hex) leaves this device's history and index; nobody else is told.</summary>
    public bool DeleteForMe(ChatId chat, string sender, string messageId)
    {
        lock (_gate)
        {
            using var tx = _db.BeginTransaction();
            var found = Query("WHERE chat = $chat AND sender = $sender AND message_id = $id", c =>
            {
                c.Parameters.AddWithValue("$chat", chat.Value);
                c.Parameters.AddWithValue("$sender", sender);
                c.Parameters.AddWithValue("$id", messageId);
            }, tx);
            foreach (var m in found)
                Remove(tx, m.LocalId, chat, messageId);
            tx.Commit();
            return found.Count > 0;
        }
    }

    private void Remove(SqliteTransaction tx, long localId, ChatId chat, string messageId)
    {
        Run(tx, "DELETE FROM search WHERE rowid = $id", ("$id", localId));
        Run(tx, "DELETE FROM messages WHERE local_id = $id", ("$id", localId));
        Run(tx, "DELETE FROM reactions WHERE chat = $chat AND target = $target", ("$chat", chat.Value), ("$target", messageId));
    }

    /// <summary>How long this device keeps history (<see cref="DefaultRetention"/> until set); see <see cref="ApplyRetention"/>.</summary>
    public TimeSpan Retention
    {
        get
        {
            lock (_gate)
                return Meta("retention_days") is { } days
                    ? TimeSpan.FromDays(int.Parse(days, System.Globalization.CultureInfo.InvariantCulture))
                    : DefaultRetention;
        }
        set
        {
            if (value < TimeSpan.FromDays(1))
                throw new ArgumentOutOfRangeException(nameof(value), "history is kept for a day at least");
            lock (_gate)
                SetMeta("retention_days", ((int)value.TotalDays).ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    /// <summary>
    /// Forgets the messages older than <see cref="Retention"/> at <paramref name="now"/> (with their index entries and
    /// reactions), except received ones no application has shown yet; returns how many went.
    /// </summary>
    public int ApplyRetention(DateTimeOffset now)
    {
        lock (_gate)
        {
            var cutoff = (now - Retention).ToUnixTimeMilliseconds();
            using var tx = _db.BeginTransaction();
            var old = Query("WHERE server_time < $cutoff AND (shown = 1 OR outgoing = 1)", c => c.Parameters.AddWithValue("$cutoff", cutoff), tx);
            foreach (var m in old)
                Remove(tx, m.LocalId, m.Chat, m.MessageId);
            Run(tx, "DELETE FROM changes WHERE at < $cutoff", ("$cutoff", cutoff));
            tx.Commit();
            return old.Count;
        }
    }

    /// <summary>
    /// Searches the history. With text: the messages whose text contains it (any script, case-insensitive) through the
    /// trigram index, or by a scan of the indexed texts when it is shorter than 3 characters (an emoji, two CJK
    /// characters). Without text: the messages that pass the filters (for example all images of a chat). Ordered by
    /// <see cref="SearchQuery.Order"/>; "newest" is the order messages reached this device (the index's row order), which
    /// is the server's order within each chat.
    /// </summary>
    public IReadOnlyList<SearchHit> Search(SearchQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var text = query.Text.Trim();
        var filters = new List<string>();
        var parameters = new List<(string, object)>();
        if (query.Chat is { } chat)
            Add("m.chat = $chat", ("$chat", chat.Value));
        if (query.From is { } from)
            Add("m.server_time >= $from", ("$from", from.ToUnixTimeMilliseconds()));
        if (query.To is { } to)
            Add("m.server_time <= $to", ("$to", to.ToUnixTimeMilliseconds()));
        if (query.Sender is { Length: > 0 } sender)
            Add("m.sender = $sender", ("$sender", sender));
        if (query.Kinds is { Count: > 0 } kinds)
            filters.Add($"m.kind IN ({string.Join(",", kinds.Select(k => (int)k))})");
        filters.Add("m.deleted = 0");
        var where = string.Join(" AND ", filters);
        string sql;
        if (text.Length == 0)
        {
            sql = $"SELECT {Columns}, m.edited, m.deleted FROM messages m WHERE {where} ORDER BY m.server_time DESC, m.local_id DESC";
        }
        else
        {
            // The snippet is cut here rather than by FTS5's snippet(), which SQLite would compute for every match
            // before sorting them by bm25, and which a scan (short texts) cannot call.
            var indexed = new System.Globalization.StringInfo(text).LengthInTextElements >= 3;
            parameters.Add(("$match", indexed
                ? "\"" + text.Replace("\"", "\"\"", StringComparison.Ordinal) + "\""
                : "%" + text.Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_") + "%"));
            var match = indexed ? "search MATCH $match" : "search.text LIKE $match ESCAPE '\\'";
            var order = query.Order == SearchOrder.Relevance && indexed ? "bm25(search), search.rowid DESC" : "search.rowid DESC";
            sql = $"SELECT {Columns}, m.edited, m.deleted FROM search JOIN messages m ON m.local_id = search.rowid WHERE {match} AND {where} ORDER BY {order}";
        }
        lock (_gate)
        {
            using var command = _db.CreateCommand();
            command.CommandText = sql + " LIMIT $limit OFFSET $offset";
            foreach (var (name, value) in parameters)
                command.Parameters.AddWithValue(name, value);
            command.Parameters.AddWithValue("$limit", Math.Clamp(query.Limit, 1, 1000));
            command.Parameters.AddWithValue("$offset", Math.Max(0, query.Offset));
            using var reader = command.ExecuteReader();
            var hits = new List<SearchHit>();
            while (reader.Read())
            {
                var message = Read(reader);
                hits.Add(new SearchHit(message, text.Length == 0 ? "" : Snippet(message.Text ?? "", text)));
            }
            return hits;
        }

        void Add(string filter, (string, object) parameter)
        {
            filters.Add(filter);
            parameters.Add(parameter);
        }
    }

    /// <summary>
    /// The text with the first match of <paramref name="match"/> in [brackets]; a long text is cut to the words around it
    /// (…), without splitting a character made of several code points.
    /// </summary>
    public static string Snippet(string text, string match, int around = 48)
    {
        var at = text.IndexOf(match, StringComparison.OrdinalIgnoreCase);
        if (at < 0)
            return text.Length <= 2 * around ? text : text[..TextElementStart(text, 2 * around)] + "…";
        var (start, end) = (Math.Max(0, at - around), Math.Min(text.Length, at + match.Length + around));
        if (start > 0) // from the first whole word
            start = TextElementStart(text, text.IndexOf(' ', start) is var space and >= 0 && space < at ? space + 1 : start);
        if (end < text.Length) // to the last whole word
            end = TextElementStart(text, text.LastIndexOf(' ', end) is var space and >= 0 && space >= at + match.Length ? space : end);
        return (start > 0 ? "…" : "") + text[start..at] + "[" + text.Substring(at, match.Length) + "]" + text[(at + match.Length)..end] + (end < text.Length ? "…" : "");
    }

    /// <summary>The start of the text element (grapheme) that holds <paramref name="index"/>.</summary>
    private static int TextElementStart(string text, int index)
    {
        var start = 0;
        foreach (var boundary in System.Globalization.StringInfo.ParseCombiningCharacters(text))
        {
            if (boundary > index)
                break;
            start = boundary;
        }
        return start;
    }

    /// <summary>
    /// Writes a consistent copy of the whole store to <paramref name="path"/> (a SQLite file of this schema, mode 600): a
    /// backup, or the history a newly linked device is seeded with (<see cref="ImportFrom"/>).
    /// </summary>
    public void ExportTo(string path)
    {
        if (File.Exists(path))
            throw new IOException($"{path} exists already: the export does not overwrite it");
        lock (_gate)
            Run(null, "VACUUM INTO $path", ("$path", path));
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    /// <summary>
    /// An export (<see cref="ExportTo"/>) cut down to the history a newly linked device is given (PROTOCOL.md §17): the newest
    /// <paramref name="maxMessages"/> messages not older than <paramref name="since"/>, their reactions and search entries, and
    /// nothing of this device's own state (the ack cursor, settings) nor its SYSTEM messages (device list changes, sync
    /// requests: notices to this device, not conversation). Returns how many messages it holds.
    /// </summary>
    public int ExportRecentTo(string path, int maxMessages, DateTimeOffset since)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxMessages);
        ExportTo(path);
        using var db = DeviceDatabase.Open(path);
        using var command = db.CreateCommand();
        command.CommandText = """
            DELETE FROM messages WHERE local_id NOT IN (
              SELECT local_id FROM messages WHERE server_time >= $since AND kind <> $system ORDER BY server_time DESC, local_id DESC LIMIT $max);
            DELETE FROM reactions WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.chat = reactions.chat AND m.message_id = reactions.target);
            DELETE FROM search WHERE rowid NOT IN (SELECT local_id FROM messages);
            DELETE FROM changes;
            DELETE FROM meta WHERE key <> 'schema_version';
            """;
        command.Parameters.AddWithValue("$since", since.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$max", maxMessages);
        command.Parameters.AddWithValue("$system", (int)ContentKind.System);
        command.ExecuteNonQuery();
        // One self-contained file (no WAL beside it), without the pages of what was cut.
        command.Parameters.Clear();
        command.CommandText = "PRAGMA journal_mode = DELETE";
        command.ExecuteNonQuery();
        command.CommandText = "VACUUM";
        command.ExecuteNonQuery();
        command.CommandText = "SELECT count(*) FROM messages";
        return Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Adds the messages (and reactions) of an exported store that this one does not have, as seen; the cursor and the
    /// settings of this store stay. An export of an older schema is migrated first. Returns how many messages came in.
    /// </summary>
    public int ImportFrom(string path)
    {
        using (Open(path))
        {
            // Opening migrates it forward to this schema.
        }
        lock (_gate)
        {
            Run(null, "ATTACH DATABASE $path AS import", ("$path", path));
            try
            {
                using var tx = _db.BeginTransaction();
                var before = Count(tx);
                Run(tx, """
                    INSERT INTO messages (chat, message_id, sender, sender_device, seq, server_time, kind, body, group_seq, outgoing, state, shown, deliver, edited, deleted)
                    SELECT chat, message_id, sender, sender_device, 0, server_time, kind, body, group_seq, outgoing, state, 1, deliver, edited, deleted
                    FROM import.messages ORDER BY local_id
                    ON CONFLICT (chat, sender, message_id) DO NOTHING
                    """);
                Run(tx, "INSERT INTO reactions SELECT * FROM import.reactions WHERE true ON CONFLICT (chat, target, sender) DO NOTHING");
                Run(tx, $"""
                    INSERT INTO search (rowid, text) SELECT m.local_id, i.text FROM messages m
                    JOIN import.messages im ON im.chat = m.chat AND im.sender = m.sender AND im.message_id = m.message_id
                    JOIN import.search i ON i.rowid = im.local_id
                    WHERE m.local_id NOT IN (SELECT rowid FROM search)
                    """);
                var added = Count(tx) - before;
                tx.Commit();
                return added;
            }
            finally
            {
                Run(null, "DETACH DATABASE import");
            }
        }
    }

    private int Count(SqliteTransaction tx)
    {
        using var command = _db.CreateCommand();
        command.Transaction = tx;
        command.CommandText = "SELECT COUNT(*) FROM messages";
        return Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The state of one of this user's messages, by message id (hex); null when it is not stored.</summary>
    public MessageState? StateOf(string messageId)
    {
        var found = Query("WHERE message_id = $id AND outgoing = 1 LIMIT 1", c => c.Parameters.AddWithValue("$id", messageId));
        return found.Count == 0 ? null : found[0].State;
    }

    /// <summary>One of this user's own messages by id (hex), as stored when it was sent; null when it is not here.</summary>
    public StoredMessage? Outgoing(string messageId) =>
        Query("WHERE message_id = $id AND outgoing = 1 LIMIT 1", c => c.Parameters.AddWithValue("$id", messageId)).SingleOrDefault();

    /// <summary>A stored message (sent or received) by id (hex); null when it is not here.</summary>
    public StoredMessage? Find(string messageId) =>
        Query("WHERE message_id = $id ORDER BY outgoing DESC LIMIT 1", c => c.Parameters.AddWithValue("$id", messageId)).SingleOrDefault();

    private const string Columns =
        "m.local_id, m.chat, m.message_id, m.sender, m.sender_device, m.seq, m.server_time, m.kind, m.body, m.group_seq, m.outgoing, m.state, m.shown, m.deliver";

    private IReadOnlyList<StoredMessage> Query(string where, Action<SqliteCommand> parameters, SqliteTransaction? tx = null)
    {
        lock (_gate)
        {
            using var command = _db.CreateCommand();
            command.Transaction = tx;
            command.CommandText = $"SELECT {Columns}, m.edited, m.deleted FROM messages m " + where;
            parameters(command);
            using var reader = command.ExecuteReader();
            var rows = new List<StoredMessage>();
            while (reader.Read())
                rows.Add(Read(reader));
            return rows;
        }
    }

    private static StoredMessage Read(SqliteDataReader reader) =>
        new(reader.GetInt64(0), new ChatId(reader.GetString(1)), reader.GetString(2), reader.GetString(3), (uint)reader.GetInt64(4),
            (ulong)reader.GetInt64(5), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6)), (ContentKind)reader.GetInt32(7),
            (byte[])reader.GetValue(8), (ulong)reader.GetInt64(9), reader.GetInt64(10) != 0, (MessageState)reader.GetInt32(11), reader.GetInt64(12) != 0,
            reader.IsDBNull(13) ? null : Protocol.Deliver.Parser.ParseFrom((byte[])reader.GetValue(13)))
        {
            Edited = reader.GetInt64(14) != 0,
            Deleted = reader.GetInt64(15) != 0,
        };

    private void Insert(SqliteTransaction tx, string self, Deliver d)
    {
        var chat = ChatId.Of(d);
        if (IsChange(d.Kind))
        {
            // Applied to the message it targets, which its sender sent before (the server keeps one sender's order), and
            // remembered as applied, so that a redelivery after a crash is recognized (see Holds).
            var at = DateTimeOffset.FromUnixTimeMilliseconds((long)d.ServerTimestamp);
            Run(tx, "INSERT INTO changes (chat, sender, message_id, at) VALUES ($chat, $sender, $id, $at) ON CONFLICT DO NOTHING",
                ("$chat", chat.Value), ("$sender", d.FromUserId), ("$id", Hex(d.MessageId)), ("$at", at.ToUnixTimeMilliseconds()));
            if (d.TargetMessageId.Length > 0)
                Apply(tx, chat, d.FromUserId, d.Kind, Hex(d.TargetMessageId), d.Ciphertext.Span, at);
            return;
        }
        var outgoing = d.FromUserId == self;
        using var command = _db.CreateCommand();
        command.Transaction = tx;
        command.CommandText = """
            INSERT INTO messages (chat, message_id, sender, sender_device, seq, server_time, kind, body, group_seq, outgoing, state, shown, deliver)
            VALUES ($chat, $id, $sender, $device, $seq, $time, $kind, $body, $group_seq, $outgoing, $state, 0, $deliver)
            ON CONFLICT (chat, sender, message_id) DO NOTHING
            """;
        command.Parameters.AddWithValue("$chat", chat.Value);
        command.Parameters.AddWithValue("$id", Hex(d.MessageId));
        command.Parameters.AddWithValue("$sender", d.FromUserId);
        command.Parameters.AddWithValue("$device", (long)d.FromDeviceId);
        command.Parameters.AddWithValue("$seq", (long)d.Seq);
        command.Parameters.AddWithValue("$time", (long)d.ServerTimestamp);
        command.Parameters.AddWithValue("$kind", (int)d.Kind);
        command.Parameters.AddWithValue("$body", d.Ciphertext.ToByteArray());
        command.Parameters.AddWithValue("$group_seq", (long)d.GroupSeq);
        command.Parameters.AddWithValue("$outgoing", outgoing ? 1 : 0);
        command.Parameters.AddWithValue("$state", (int)(outgoing ? MessageState.Sent : MessageState.Received));
        command.Parameters.AddWithValue("$deliver", d.ToByteArray());
        if (command.ExecuteNonQuery() > 0 && d.Kind == ContentKind.Text)
            Index(tx, LastRowId(tx), d.Ciphertext.Span);
    }

    /// <summary>
    /// An edit replaces the target's body (and its indexed text), a deletion for everyone empties it, a reaction is kept
    /// beside it. Only the target's own sender may edit or delete it (anyone may react); a target that is not stored
    /// (older than the retention, or deleted for me) is left alone.
    /// </summary>
    private void Apply(SqliteTransaction tx, ChatId chat, string sender, ContentKind kind, string target, ReadOnlySpan<byte> body, DateTimeOffset at)
    {
        if (kind == ContentKind.Reaction)
        {
            var emoji = TextOf(body) ?? "";
            if (emoji.Length == 0)
                Run(tx, "DELETE FROM reactions WHERE chat = $chat AND target = $target AND sender = $sender", ("$chat", chat.Value), ("$target", target), ("$sender", sender));
            else
                Run(tx, """
                    INSERT INTO reactions (chat, target, sender, emoji, at) VALUES ($chat, $target, $sender, $emoji, $at)
                    ON CONFLICT (chat, target, sender) DO UPDATE SET emoji = excluded.emoji, at = excluded.at WHERE excluded.at >= reactions.at
                    """, ("$chat", chat.Value), ("$target", target), ("$sender", sender), ("$emoji", emoji), ("$at", at.ToUnixTimeMilliseconds()));
            return;
        }
        using var find = _db.CreateCommand();
        find.Transaction = tx;
        find.CommandText = "SELECT local_id, kind, deliver FROM messages WHERE chat = $chat AND sender = $sender AND message_id = $target AND deleted = 0";
        find.Parameters.AddWithValue("$chat", chat.Value);
        find.Parameters.AddWithValue("$sender", sender);
        find.Parameters.AddWithValue("$target", target);
        long localId;
        ContentKind targetKind;
        Deliver? delivered;
        using (var reader = find.ExecuteReader())
        {
            if (!reader.Read())
                return;
            (localId, targetKind) = (reader.GetInt64(0), (ContentKind)reader.GetInt32(1));
            delivered = reader.IsDBNull(2) ? null : Protocol.Deliver.Parser.ParseFrom((byte[])reader.GetValue(2));
        }
        Run(tx, "DELETE FROM search WHERE rowid = $id", ("$id", localId));
        if (kind == ContentKind.Edit)
        {
            // The Deliver kept beside it holds the decrypted content too: it gets the new version, so the old text is gone.
            if (delivered is not null)
                delivered.Ciphertext = ByteString.CopyFrom(body);
            Run(tx, "UPDATE messages SET body = $body, edited = 1, deliver = $deliver WHERE local_id = $id", ("$body", body.ToArray()),
                ("$deliver", delivered is null ? DBNull.Value : delivered.ToByteArray()), ("$id", localId));
            if (targetKind == ContentKind.Text)
                Index(tx, localId, body);
        }
        else
        {
            Run(tx, "UPDATE messages SET body = x'', deliver = NULL, deleted = 1 WHERE local_id = $id", ("$id", localId));
            Run(tx, "DELETE FROM reactions WHERE chat = $chat AND target = $target", ("$chat", chat.Value), ("$target", target));
        }
    }

    /// <summary>The text of a body, or null when it is not valid UTF-8 (an application's own binary payload).</summary>
    internal static string? TextOf(ReadOnlySpan<byte> body)
    {
        try
        {
            return StrictUtf8.GetString(body);
        }
        catch (System.Text.DecoderFallbackException)
        {
            return null;
        }
    }

    private static readonly System.Text.UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private void Index(SqliteTransaction tx, long localId, ReadOnlySpan<byte> body)
    {
        if (TextOf(body) is { Length: > 0 } text)
            Run(tx, "INSERT INTO search (rowid, text) VALUES ($id, $text)", ("$id", localId), ("$text", text));
    }

    private long LastRowId(SqliteTransaction tx)
    {
        using var command = _db.CreateCommand();
        command.Transaction = tx;
        command.CommandText = "SELECT last_insert_rowid()";
        return (long)command.ExecuteScalar()!;
    }

    private void Run(SqliteTransaction? tx, string sql, params (string Name, object Value)[] parameters)
    {
        using var command = _db.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
            command.Parameters.AddWithValue(name, value);
        command.ExecuteNonQuery();
    }

    private void Advance(SqliteTransaction tx, IEnumerable<string> messageIds, MessageState state)
    {
        foreach (var id in messageIds)
        {
            using var command = _db.CreateCommand();
            command.Transaction = tx;
            command.CommandText = "UPDATE messages SET state = $state WHERE message_id = $id AND outgoing = 1 AND state < $state";
            command.Parameters.AddWithValue("$state", (int)state);
            command.Parameters.AddWithValue("$id", id);
            command.ExecuteNonQuery();
        }
    }

    private static MessageState StateOf(ReceiptType type) => type switch
    {
        ReceiptType.Read => MessageState.Read,
        ReceiptType.Played => MessageState.Played,
        _ => MessageState.Delivered,
    };

    /// <summary>Message ids as the store and the CLI write them: lowercase hex.</summary>
    public static string Hex(ByteString id) => Convert.ToHexString(id.Span).ToLowerInvariant();

    private string? Meta(string key, SqliteTransaction? tx = null)
    {
        using var command = _db.CreateCommand();
        command.Transaction = tx;
        command.CommandText = "SELECT value FROM meta WHERE key = $key";
        command.Parameters.AddWithValue("$key", key);
        return command.ExecuteScalar() as string;
    }

    private void SetMeta(string key, string value, SqliteTransaction? tx = null)
    {
        using var command = _db.CreateCommand();
        command.Transaction = tx;
        command.CommandText = "INSERT INTO meta (key, value) VALUES ($key, $value) ON CONFLICT (key) DO UPDATE SET value = excluded.value";
        command.Parameters.AddWithValue("$key", key);
        command.Parameters.AddWithValue("$value", value);
        command.ExecuteNonQuery();
    }

    private void Execute(string sql, SqliteTransaction? tx = null)
    {
        using var command = _db.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public void Dispose() => _db.Dispose();
}
