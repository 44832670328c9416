using Akka.WhatsApp.Protocol;
using Google.Protobuf;
using Microsoft.Data.Sqlite;

namespace Akka.WhatsApp.Client.Storage;

/// <summary>A conversation: a 1:1 chat with a user, or a group.</summary>
public readonly record struct ChatId(string Value)
{
    public static ChatId User(string userId) => new("u:" + userId);

    public static ChatId Group(string groupId) => new("g:" + groupId);

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
    Deliver? Deliver);

/// <summary>
/// The SDK's local store (SQLite in the profile folder, file mode 600): every message pushed to this device is written
/// here, with the device's ack cursor, in one transaction <b>before</b> the SDK acknowledges it to the server, so that
/// nothing acknowledged is ever lost on the device, whatever the application does with it. Also keeps this user's sent
/// messages and the ticks their receipts bring. Migrated forward by a schema version.
/// </summary>
public sealed class MessageStore : IDisposable
{
    /// <summary>The schema this code writes; older files are migrated forward on open.</summary>
    public const int SchemaVersion = 1;

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

    /// <summary>Records a message this device sent, once the server stored it (✓).</summary>
    public void RecordSent(string selfUserId, uint selfDevice, ChatId chat, ByteString messageId, ulong serverTime, ContentKind kind,
        ReadOnlyMemory<byte> body, ulong groupSeq = 0)
    {
        lock (_gate)
        {
            using var command = _db.CreateCommand();
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
            command.ExecuteNonQuery();
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

    /// <summary>The chats with stored messages, the most recent first, with their message counts.</summary>
    public IReadOnlyList<(ChatId Chat, int Messages, DateTimeOffset Last)> Chats()
    {
        lock (_gate)
        {
            using var command = _db.CreateCommand();
            command.CommandText = "SELECT chat, COUNT(*), MAX(server_time) FROM messages GROUP BY chat ORDER BY MAX(server_time) DESC";
            using var reader = command.ExecuteReader();
            var chats = new List<(ChatId, int, DateTimeOffset)>();
            while (reader.Read())
                chats.Add((new ChatId(reader.GetString(0)), reader.GetInt32(1), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2))));
            return chats;
        }
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

    private IReadOnlyList<StoredMessage> Query(string where, Action<SqliteCommand> parameters)
    {
        lock (_gate)
        {
            using var command = _db.CreateCommand();
            command.CommandText =
                "SELECT local_id, chat, message_id, sender, sender_device, seq, server_time, kind, body, group_seq, outgoing, state, shown, deliver FROM messages " + where;
            parameters(command);
            using var reader = command.ExecuteReader();
            var rows = new List<StoredMessage>();
            while (reader.Read())
                rows.Add(new StoredMessage(reader.GetInt64(0), new ChatId(reader.GetString(1)), reader.GetString(2), reader.GetString(3), (uint)reader.GetInt64(4),
                    (ulong)reader.GetInt64(5), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6)), (ContentKind)reader.GetInt32(7),
                    (byte[])reader.GetValue(8), (ulong)reader.GetInt64(9), reader.GetInt64(10) != 0, (MessageState)reader.GetInt32(11), reader.GetInt64(12) != 0,
                    reader.IsDBNull(13) ? null : Protocol.Deliver.Parser.ParseFrom((byte[])reader.GetValue(13))));
            return rows;
        }
    }

    private void Insert(SqliteTransaction tx, string self, Deliver d)
    {
        var chat = d.GroupId.Length > 0 ? ChatId.Group(d.GroupId) : ChatId.User(d.ToUserId.Length > 0 ? d.ToUserId : d.FromUserId);
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

    private void Execute(string sql)
    {
        using var command = _db.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public void Dispose() => _db.Dispose();
}
