using Akka.WhatsApp.Protocol;
using Google.Protobuf;
using Microsoft.Data.Sqlite;

namespace Akka.WhatsApp.Client.Crypto;

/// <summary>What this device knows of a contact device's identity key (trust on first use, then verification).</summary>
public sealed record KnownIdentity(string UserId, uint DeviceId, byte[] IdentityKey, bool Verified, bool Changed);

/// <summary>
/// The device's secrets and session state for end-to-end encryption, in a SQLite file of its own in the profile
/// (keys.db, file mode 600; written with synchronous = FULL, because a sending chain step that is not on disk before
/// its ciphertext leaves would, after a crash, encrypt the next message under the same key): the identity key pair,
/// signed, one-time and ML-KEM prekeys, one Double Ratchet session per remote device, sender keys per group, and the
/// identity keys seen of contacts with their verification state. Records are Protobuf (Crypto/crypto_state.proto).
/// </summary>
public sealed class KeyStore : IDisposable
{
    public const int SchemaVersion = 1;

    private readonly SqliteConnection _db;
    private readonly object _gate = new();

    private KeyStore(SqliteConnection db, string path)
    {
        _db = db;
        Path = path;
    }

    public string Path { get; }

    /// <summary>Opens the store at <paramref name="path"/>, creating it (with a new identity) when it does not exist.</summary>
    public static KeyStore Open(string path)
    {
        var store = new KeyStore(Storage.DeviceDatabase.Open(path), path);
        store.Migrate();
        return store;
    }

    /// <summary>A store that lives as long as the process (load generators, tests): nothing is written to disk.</summary>
    public static KeyStore InMemory()
    {
        var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = ":memory:", Pooling = false }.ToString());
        db.Open();
        var store = new KeyStore(db, ":memory:");
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
                CREATE TABLE identity (id INTEGER PRIMARY KEY CHECK (id = 1), seed BLOB NOT NULL, registration_id INTEGER NOT NULL);
                CREATE TABLE signed_prekeys (key_id INTEGER PRIMARY KEY, secret BLOB NOT NULL, public BLOB NOT NULL, signature BLOB NOT NULL, created INTEGER NOT NULL);
                CREATE TABLE one_time_prekeys (key_id INTEGER PRIMARY KEY, secret BLOB NOT NULL);
                CREATE TABLE kem_prekeys (key_id INTEGER PRIMARY KEY, seed BLOB NOT NULL, public BLOB NOT NULL, signature BLOB NOT NULL, last_resort INTEGER NOT NULL);
                CREATE TABLE sessions (user_id TEXT NOT NULL, device_id INTEGER NOT NULL, state BLOB NOT NULL, PRIMARY KEY (user_id, device_id));
                CREATE TABLE sender_keys (group_id TEXT NOT NULL, user_id TEXT NOT NULL, device_id INTEGER NOT NULL, state BLOB NOT NULL,
                  PRIMARY KEY (group_id, user_id, device_id));
                CREATE TABLE sender_key_shared (group_id TEXT NOT NULL, key_id INTEGER NOT NULL, user_id TEXT NOT NULL, device_id INTEGER NOT NULL,
                  PRIMARY KEY (group_id, key_id, user_id, device_id));
                CREATE TABLE identities (user_id TEXT NOT NULL, device_id INTEGER NOT NULL, identity BLOB NOT NULL, verified INTEGER NOT NULL,
                  changed INTEGER NOT NULL, PRIMARY KEY (user_id, device_id));
                """);
            var identity = IdentityKeyPair.Generate();
            Write("INSERT INTO identity (id, seed, registration_id) VALUES (1, $seed, $registration)", ("$seed", identity.Seed), ("$registration", (long)identity.RegistrationId));
            SetMeta("schema_version", "1");
        }
        using var command = Command("SELECT seed, registration_id FROM identity WHERE id = 1");
        using var reader = command.ExecuteReader();
        reader.Read();
        Identity = new IdentityKeyPair((byte[])reader.GetValue(0), (uint)reader.GetInt64(1));
    }

    public IdentityKeyPair Identity { get; private set; } = null!;

    // ---- own prekeys ----

    /// <summary>Makes <paramref name="count"/> new one-time prekeys (ids never reused) and returns their public halves.</summary>
    public IReadOnlyList<PreKey> NewOneTimePreKeys(int count)
    {
        lock (_gate)
        {
            using var tx = _db.BeginTransaction();
            var next = NextId("next_prekey_id", count, tx);
            var keys = new List<PreKey>(count);
            for (var i = 0; i < count; i++)
            {
                var (secret, pub) = Primitives.NewX25519();
                Write("INSERT INTO one_time_prekeys (key_id, secret) VALUES ($id, $secret)", tx, ("$id", (long)(next + (uint)i)), ("$secret", secret));
                keys.Add(new PreKey { KeyId = next + (uint)i, PublicKey = ByteString.CopyFrom(pub) });
            }
            tx.Commit();
            return keys;
        }
    }

    /// <summary>A new signed prekey; the previous ones stay (messages may still name them) until <see cref="PruneSignedPreKeys"/>.</summary>
    public SignedPreKey NewSignedPreKey(DateTimeOffset now)
    {
        lock (_gate)
        {
            using var tx = _db.BeginTransaction();
            var id = NextId("next_signed_prekey_id", 1, tx);
            var (secret, pub) = Primitives.NewX25519();
            var signature = Identity.Sign(pub);
            Write("INSERT INTO signed_prekeys (key_id, secret, public, signature, created) VALUES ($id, $secret, $public, $signature, $created)", tx,
                ("$id", (long)id), ("$secret", secret), ("$public", pub), ("$signature", signature), ("$created", now.ToUnixTimeMilliseconds()));
            tx.Commit();
            return new SignedPreKey { KeyId = id, PublicKey = ByteString.CopyFrom(pub), Signature = ByteString.CopyFrom(signature) };
        }
    }

    /// <summary>Keeps the newest <paramref name="keep"/> signed prekeys.</summary>
    public void PruneSignedPreKeys(int keep = 3) =>
        Write("DELETE FROM signed_prekeys WHERE key_id NOT IN (SELECT key_id FROM signed_prekeys ORDER BY key_id DESC LIMIT $keep)", ("$keep", (long)keep));

    /// <summary>The newest signed prekey's creation time, or null before the first.</summary>
    public DateTimeOffset? SignedPreKeyCreated
    {
        get
        {
            lock (_gate)
            {
                using var command = Command("SELECT MAX(created) FROM signed_prekeys");
                return command.ExecuteScalar() is long ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;
            }
        }
    }

    /// <summary>New ML-KEM-1024 prekeys: one-time ones, or (<paramref name="lastResort"/>) the one kept for when they run out.</summary>
    public IReadOnlyList<KemPreKey> NewKemPreKeys(int count, bool lastResort)
    {
        lock (_gate)
        {
            using var tx = _db.BeginTransaction();
            var next = NextId("next_kem_prekey_id", count, tx);
            var keys = new List<KemPreKey>(count);
            for (var i = 0; i < count; i++)
            {
                var (seed, pub) = Primitives.NewKem();
                var signature = Identity.Sign(pub);
                Write("INSERT INTO kem_prekeys (key_id, seed, public, signature, last_resort) VALUES ($id, $seed, $public, $signature, $last)", tx,
                    ("$id", (long)(next + (uint)i)), ("$seed", seed), ("$public", pub), ("$signature", signature), ("$last", lastResort ? 1L : 0L));
                keys.Add(new KemPreKey { KeyId = next + (uint)i, PublicKey = ByteString.CopyFrom(pub), Signature = ByteString.CopyFrom(signature) });
            }
            tx.Commit();
            return keys;
        }
    }

    public byte[]? SignedPreKeySecret(uint keyId) => Blob("SELECT secret FROM signed_prekeys WHERE key_id = $id", keyId);

    public byte[]? OneTimePreKeySecret(uint keyId) => Blob("SELECT secret FROM one_time_prekeys WHERE key_id = $id", keyId);

    public (byte[] Seed, bool LastResort)? KemPreKeySeed(uint keyId)
    {
        lock (_gate)
        {
            using var command = Command("SELECT seed, last_resort FROM kem_prekeys WHERE key_id = $id", ("$id", (long)keyId));
            using var reader = command.ExecuteReader();
            return reader.Read() ? ((byte[])reader.GetValue(0), reader.GetInt64(1) != 0) : null;
        }
    }

    /// <summary>Deletes one-time keys once a session used them (forward secrecy for the handshake).</summary>
    public void RemoveOneTimeKeys(uint oneTimePreKeyId, uint kemPreKeyId)
    {
        lock (_gate)
        {
            using var tx = _db.BeginTransaction();
            Write("DELETE FROM one_time_prekeys WHERE key_id = $id", tx, ("$id", (long)oneTimePreKeyId));
            Write("DELETE FROM kem_prekeys WHERE key_id = $id AND last_resort = 0", tx, ("$id", (long)kemPreKeyId));
            tx.Commit();
        }
    }

    // ---- sessions ----

    public State.SessionRecord? LoadSession(string userId, uint deviceId)
    {
        lock (_gate)
        {
            using var command = Command("SELECT state FROM sessions WHERE user_id = $user AND device_id = $device", ("$user", userId), ("$device", (long)deviceId));
            return command.ExecuteScalar() is byte[] bytes ? State.SessionRecord.Parser.ParseFrom(bytes) : null;
        }
    }

    /// <summary>Writes sessions (and sender keys) in one durable transaction.</summary>
    public void Save(IEnumerable<(string User, uint Device, State.SessionRecord Session)> sessions,
        IEnumerable<(string Group, string User, uint Device, State.SenderKey Key)>? senderKeys = null)
    {
        lock (_gate)
        {
            using var tx = _db.BeginTransaction();
            foreach (var (user, device, session) in sessions)
                Write("INSERT INTO sessions (user_id, device_id, state) VALUES ($user, $device, $state) ON CONFLICT (user_id, device_id) DO UPDATE SET state = excluded.state",
                    tx, ("$user", user), ("$device", (long)device), ("$state", session.ToByteArray()));
            foreach (var (group, user, device, key) in senderKeys ?? [])
                Write("""
                    INSERT INTO sender_keys (group_id, user_id, device_id, state) VALUES ($group, $user, $device, $state)
                    ON CONFLICT (group_id, user_id, device_id) DO UPDATE SET state = excluded.state
                    """, tx, ("$group", group), ("$user", user), ("$device", (long)device), ("$state", key.ToByteArray()));
            tx.Commit();
        }
    }

    public void DeleteSession(string userId, uint deviceId) =>
        Write("DELETE FROM sessions WHERE user_id = $user AND device_id = $device", ("$user", userId), ("$device", (long)deviceId));

    // ---- sender keys ----

    public State.SenderKey? LoadSenderKey(string groupId, string userId, uint deviceId)
    {
        lock (_gate)
        {
            using var command = Command("SELECT state FROM sender_keys WHERE group_id = $group AND user_id = $user AND device_id = $device",
                ("$group", groupId), ("$user", userId), ("$device", (long)deviceId));
            return command.ExecuteScalar() is byte[] bytes ? State.SenderKey.Parser.ParseFrom(bytes) : null;
        }
    }

    /// <summary>Forgets this device's own sender key for a group, so that the next message starts (and distributes) a new one.</summary>
    public void DropOwnSenderKey(string groupId, string selfUser, uint selfDevice) =>
        Write("DELETE FROM sender_keys WHERE group_id = $group AND user_id = $user AND device_id = $device",
            ("$group", groupId), ("$user", selfUser), ("$device", (long)selfDevice));

    /// <summary>The devices this device's sender key <paramref name="keyId"/> of a group was given to.</summary>
    public IReadOnlySet<(string User, uint Device)> SharedWith(string groupId, uint keyId)
    {
        lock (_gate)
        {
            using var command = Command("SELECT user_id, device_id FROM sender_key_shared WHERE group_id = $group AND key_id = $key",
                ("$group", groupId), ("$key", (long)keyId));
            using var reader = command.ExecuteReader();
            var shared = new HashSet<(string, uint)>();
            while (reader.Read())
                shared.Add((reader.GetString(0), (uint)reader.GetInt64(1)));
            return shared;
        }
    }

    public void MarkShared(string groupId, uint keyId, IEnumerable<(string User, uint Device)> devices)
    {
        lock (_gate)
        {
            using var tx = _db.BeginTransaction();
            Write("DELETE FROM sender_key_shared WHERE group_id = $group AND key_id <> $key", tx, ("$group", groupId), ("$key", (long)keyId));
            foreach (var (user, device) in devices)
                Write("INSERT INTO sender_key_shared (group_id, key_id, user_id, device_id) VALUES ($group, $key, $user, $device) ON CONFLICT DO NOTHING", tx,
                    ("$group", groupId), ("$key", (long)keyId), ("$user", user), ("$device", (long)device));
            tx.Commit();
        }
    }

    // ---- identities of others ----

    public IReadOnlyList<KnownIdentity> Identities(string userId)
    {
        lock (_gate)
        {
            using var command = Command("SELECT device_id, identity, verified, changed FROM identities WHERE user_id = $user ORDER BY device_id", ("$user", userId));
            using var reader = command.ExecuteReader();
            var found = new List<KnownIdentity>();
            while (reader.Read())
                found.Add(new KnownIdentity(userId, (uint)reader.GetInt64(0), (byte[])reader.GetValue(1), reader.GetInt64(2) != 0, reader.GetInt64(3) != 0));
            return found;
        }
    }

    /// <summary>
    /// Records the identity key a contact device uses now. Returns true when it differs from the one recorded before
    /// (the first sight is trusted); the device is then unverified and marked changed until the user looks again.
    /// </summary>
    public bool SeeIdentity(string userId, uint deviceId, byte[] identityKey)
    {
        lock (_gate)
        {
            using var command = Command("SELECT identity FROM identities WHERE user_id = $user AND device_id = $device", ("$user", userId), ("$device", (long)deviceId));
            var known = command.ExecuteScalar() as byte[];
            if (known is not null && known.AsSpan().SequenceEqual(identityKey))
                return false;
            Write("""
                INSERT INTO identities (user_id, device_id, identity, verified, changed) VALUES ($user, $device, $identity, 0, $changed)
                ON CONFLICT (user_id, device_id) DO UPDATE SET identity = excluded.identity, verified = 0, changed = excluded.changed
                """, ("$user", userId), ("$device", (long)deviceId), ("$identity", identityKey), ("$changed", known is null ? 0L : 1L));
            return known is not null;
        }
    }

    /// <summary>Marks every recorded device of <paramref name="userId"/> whose key is among <paramref name="identityKeys"/> verified (and no longer changed).</summary>
    public void MarkVerified(string userId, IEnumerable<(uint Device, byte[] Key)> identityKeys)
    {
        lock (_gate)
        {
            using var tx = _db.BeginTransaction();
            foreach (var (device, key) in identityKeys)
                Write("""
                    INSERT INTO identities (user_id, device_id, identity, verified, changed) VALUES ($user, $device, $identity, 1, 0)
                    ON CONFLICT (user_id, device_id) DO UPDATE SET identity = excluded.identity, verified = 1, changed = 0
                    """, tx, ("$user", userId), ("$device", (long)device), ("$identity", key));
            tx.Commit();
        }
    }

    /// <summary>The user looked at the new security code (without verifying it): no more warnings about that change.</summary>
    public void AcknowledgeChanges(string userId) =>
        Write("UPDATE identities SET changed = 0 WHERE user_id = $user", ("$user", userId));

    /// <summary>True when every device of <paramref name="userId"/> this store knows was verified with its current key.</summary>
    public bool IsVerified(string userId)
    {
        var known = Identities(userId);
        return known.Count > 0 && known.All(i => i.Verified);
    }

    // ---- device lists ----

    /// <summary>The device list of a user as this device last learned it (bundles, STALE_DEVICES), or null when it never did.</summary>
    public uint[]? KnownDevices(string userId)
    {
        lock (_gate)
            return Meta("devices:" + userId) is { } list
                ? list.Length == 0 ? [] : [.. list.Split(',').Select(d => uint.Parse(d, System.Globalization.CultureInfo.InvariantCulture))]
                : null;
    }

    public void SetKnownDevices(string userId, IEnumerable<uint> devices)
    {
        lock (_gate)
            SetMeta("devices:" + userId, string.Join(',', devices.Order()));
    }

    // ---- what was published ----

    /// <summary>The account and device the keys were last published for (a new registration publishes afresh).</summary>
    /// <summary>
    /// A companion's proof that it belongs to the account (PROTOCOL.md §7): the primary's signature over this device's
    /// identity key, received with the link and published with every full upload. Empty on a primary.
    /// </summary>
    public byte[] AccountSignature
    {
        get
        {
            lock (_gate)
                return Meta("account_signature") is { Length: > 0 } hex ? Convert.FromHexString(hex) : [];
        }
        set
        {
            lock (_gate)
                SetMeta("account_signature", Convert.ToHexString(value));
        }
    }

    public string? PublishedFor
    {
        get
        {
            lock (_gate)
                return Meta("published_for");
        }
        set
        {
            lock (_gate)
                SetMeta("published_for", value ?? "");
        }
    }

    // ---- plumbing ----

    private uint NextId(string key, int count, SqliteTransaction tx)
    {
        var next = uint.Parse(Meta(key, tx) ?? "1", System.Globalization.CultureInfo.InvariantCulture);
        if (next + (ulong)count >= 0xFFFFFF)
            next = 1; // key ids are 24-bit as Signal's; the oldest are long gone
        SetMeta(key, (next + (uint)count).ToString(System.Globalization.CultureInfo.InvariantCulture), tx);
        return next;
    }

    private byte[]? Blob(string sql, uint id)
    {
        lock (_gate)
        {
            using var command = Command(sql, ("$id", (long)id));
            return command.ExecuteScalar() as byte[];
        }
    }

    private SqliteCommand Command(string sql, params (string Name, object Value)[] parameters)
    {
        var command = _db.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
            command.Parameters.AddWithValue(name, value);
        return command;
    }

    private void Write(string sql, params (string Name, object Value)[] parameters) => Write(sql, null, parameters);

    private void Write(string sql, SqliteTransaction? tx, params (string Name, object Value)[] parameters)
    {
        lock (_gate)
        {
            using var command = Command(sql, parameters);
            command.Transaction = tx;
            command.ExecuteNonQuery();
        }
    }

    private string? Meta(string key, SqliteTransaction? tx = null)
    {
        using var command = Command("SELECT value FROM meta WHERE key = $key", ("$key", key));
        command.Transaction = tx;
        return command.ExecuteScalar() as string;
    }

    private void SetMeta(string key, string value, SqliteTransaction? tx = null) =>
        Write("INSERT INTO meta (key, value) VALUES ($key, $value) ON CONFLICT (key) DO UPDATE SET value = excluded.value", tx, ("$key", key), ("$value", value));

    private void Execute(string sql)
    {
        using var command = Command(sql);
        command.ExecuteNonQuery();
    }

    public void Dispose() => _db.Dispose();
}
