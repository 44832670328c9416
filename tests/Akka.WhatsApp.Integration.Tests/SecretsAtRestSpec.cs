using System.Text;
using Akka.WhatsApp.Client;
using Akka.WhatsApp.Host;
using Akka.WhatsApp.Protocol;
using Npgsql;
using Xunit;
using static Akka.WhatsApp.Integration.Tests.TestUsers;

namespace Akka.WhatsApp.Integration.Tests;

public sealed class SqliteSecretsNode() : MessagingNode(JournalKind.Sqlite);

public sealed class PostgresSecretsNode() : MessagingNode(JournalKind.Postgres);

public sealed class SqliteSecretsAtRestSpec(SqliteSecretsNode node) : SecretsAtRestSpec(node), IClassFixture<SqliteSecretsNode>;

public sealed class PostgresSecretsAtRestSpec(PostgresSecretsNode node) : SecretsAtRestSpec(node), IClassFixture<PostgresSecretsNode>;

/// <summary>
/// What a stolen database reveals (#21, item 7): device tokens are kept only as hashes, in every form a token could take.
/// The scan reads every byte the journal holds: the SQLite file with its write-ahead log, or every row of every table
/// of the PostgreSQL database as text (bytea as hex). A profile name, stored in the clear, shows that the scan sees data.
/// </summary>
public abstract class SecretsAtRestSpec(MessagingNode fixture)
{
    [Fact]
    public async Task A_device_token_is_nowhere_in_the_journal_while_what_is_stored_in_the_clear_is_found()
    {
        var alice = await RegisterAsync(fixture.Node);
        var canary = "canary-" + Guid.NewGuid().ToString("N")[..12];
        await using (var a = await ConnectAsync(fixture.Node, alice))
            await a.RequestAsync(new Frame { SetProfile = new SetProfile { Name = canary } });

        var stored = await StoredAsync(fixture.Settings);
        Assert.True(Holds(stored, Encoding.UTF8.GetBytes(canary)), "the scan does not see what the node stored: it proves nothing");
        foreach (var (name, form) in Forms(alice.Token))
            Assert.False(Holds(stored, form), $"the device token is in the journal ({name})");
    }

    /// <summary>
    /// F7, "server cannot read message content" (#14): two `wa` profiles chat 1:1 and in a group, edit and react, with
    /// distinctive texts that reach the other side; none of them is anywhere in what the server stored, raw or as hex,
    /// while the group's name (metadata the server keeps in the clear) is found by the same scan.
    /// </summary>
    [Fact]
    public async Task Nothing_a_wa_chat_says_is_in_the_journal()
    {
        var edge = await fixture.Node.EdgeEndpoint;
        async Task<string> Wa(string profile, params string[] args)
        {
            var output = new StringWriter();
            var code = await Cli.WaCommands.RunAsync(["--profile", profile, "--server", $"127.0.0.1:{edge.Port}", .. args], output, new StringReader(""));
            Assert.True(code == 0, $"wa {string.Join(' ', args)} exited {code}: {output}");
            return output.ToString();
        }
        async Task<(string Profile, string User)> Register()
        {
            var profile = Directory.CreateTempSubdirectory("wa-e2e-").FullName;
            var phone = NewPhone();
            await Wa(profile, "register", phone);
            await Wa(profile, "verify", phone, "--management", fixture.Node.ManagementUri.ToString());
            return (profile, Cli.Profile.Load(profile).UserId!);
        }
        var (alice, aliceId) = await Register();
        var (bob, bobId) = await Register();
        string Secret(string what) => $"{what}-{Guid.NewGuid():N}";
        var (hello, edited, reaction, groupText, groupEdit, groupName) =
            (Secret("hello"), Secret("edited"), Secret("reaction"), Secret("group"), Secret("group-edit"), Secret("name"));

        var sent = (await Wa(alice, "send", bobId, hello)).Split(' ')[1];
        await Wa(alice, "edit", bobId, sent, edited);
        await Wa(bob, "react", aliceId, sent, reaction);
        var group = (await Wa(alice, "group", "create", groupName, bobId)).Split(' ')[1];
        var posted = (await Wa(alice, "group", "send", group, groupText)).Split(' ')[1];
        await Wa(alice, "edit", group, posted, groupEdit);

        // Bob's `react` fetched the first message and its edit: his store keeps the newest version only, which is what he sees.
        var atBob = await Wa(bob, "listen", "--seconds", "3");
        foreach (var text in new[] { edited, groupText, groupEdit })
            Assert.Contains(text, atBob);
        var history = await Wa(bob, "history", aliceId);
        Assert.True(history.Contains($"{edited} (edited)", StringComparison.Ordinal), history);
        // Alice's `edit` and `group` commands already fetched Bob's reaction: her store applied it to her message.
        await Wa(alice, "listen", "--seconds", "3");
        var atAlice = await Wa(alice, "history", bobId);
        Assert.True(atAlice.Contains(reaction, StringComparison.Ordinal), atAlice);

        var stored = await StoredAsync(fixture.Settings);
        Assert.True(Holds(stored, Encoding.UTF8.GetBytes(groupName)), "the scan does not see what the node stored: it proves nothing");
        foreach (var text in new[] { hello, edited, reaction, groupText, groupEdit })
            Assert.False(Holds(stored, Encoding.UTF8.GetBytes(text)), $"\"{text}\" is readable in the journal");
    }

    /// <summary>The token raw, as hex text and as base64 text (with and without padding, URL-safe too).</summary>
    private static IEnumerable<(string Name, byte[] Bytes)> Forms(byte[] token)
    {
        var base64 = Convert.ToBase64String(token);
        return new[] { ("hex", Convert.ToHexString(token)), ("base64", base64), ("unpadded base64", base64.TrimEnd('=')),
                ("base64url", base64.TrimEnd('=').Replace('+', '-').Replace('/', '_')) }
            .Select(f => (f.Item1, Encoding.ASCII.GetBytes(f.Item2))).Prepend(("raw bytes", token));
    }

    /// <summary>Whether the bytes are in what was read: byte for byte (a file), or as hex (PostgreSQL's text form of bytea).</summary>
    private static bool Holds(string stored, byte[] needle) =>
        stored.Contains(Encoding.Latin1.GetString(needle), StringComparison.Ordinal) || stored.Contains(Convert.ToHexString(needle), StringComparison.OrdinalIgnoreCase);

    /// <summary>Everything the journal holds, as one string: file bytes as Latin-1, or table rows as PostgreSQL's text form.</summary>
    private static async Task<string> StoredAsync(HostSettings settings)
    {
        if (settings.Journal == JournalKind.Sqlite)
        {
            var text = new StringBuilder();
            foreach (var path in new[] { settings.SqlitePath, settings.SqlitePath + "-wal" }.Where(File.Exists))
            {
                await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var buffer = new MemoryStream();
                await file.CopyToAsync(buffer);
                text.Append(Encoding.Latin1.GetString(buffer.ToArray()));
            }
            return text.ToString();
        }
        await using var connection = new NpgsqlConnection(settings.PostgresConnectionString);
        await connection.OpenAsync();
        var tables = new List<string>();
        await using (var list = new NpgsqlCommand("select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'", connection))
        await using (var reader = await list.ExecuteReaderAsync())
            while (await reader.ReadAsync())
                tables.Add(reader.GetString(0));
        Assert.NotEmpty(tables);
        var rows = new StringBuilder();
        foreach (var table in tables)
        {
            await using var dump = new NpgsqlCommand($"select t::text from \"{table}\" t", connection);
            await using var reader = await dump.ExecuteReaderAsync();
            while (await reader.ReadAsync())
                rows.AppendLine(reader.GetString(0));
        }
        return rows.ToString();
    }
}
