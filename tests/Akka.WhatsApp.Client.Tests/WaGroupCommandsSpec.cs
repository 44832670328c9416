using Akka.WhatsApp.Cli;
using Akka.WhatsApp.Client.Crypto;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;
using Xunit;

namespace Akka.WhatsApp.Client.Tests;

/// <summary>`wa group ...` and group traffic in `wa listen`, run in-process against a scripted server.</summary>
public sealed class WaGroupCommandsSpec : IDisposable
{
    private const string Group = "0123456789abcdef0123456789abcdef";
    private readonly string _profile = Directory.CreateTempSubdirectory("wa-groups-").FullName;

    public WaGroupCommandsSpec() =>
        new Cli.Profile { UserId = "alice", DeviceId = 1, Token = Convert.ToBase64String([1, 2, 3]) }.Save(_profile);

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_profile, recursive: true);
    }

    private async Task<(int Code, string Output)> WaAsync(ScriptedServer server, params string[] args)
    {
        var output = new StringWriter();
        var code = await WaCommands.RunAsync(["--profile", _profile, "--server", $"127.0.0.1:{server.Port}", .. args], output);
        return (code, output.ToString());
    }

    private static GroupSettings Settings(bool send, bool edit, bool add) =>
        new() { OnlyAdminsSend = send, OnlyAdminsEditInfo = edit, OnlyAdminsAddMembers = add };

    [Fact]
    public async Task Settings_flags_change_only_the_named_settings_and_keep_the_others()
    {
        await using var server = new ScriptedServer(f => f.PacketCase == Frame.PacketOneofCase.GetGroupInfo
            ? new Frame { GroupInfo = new GroupInfo { GroupId = Group, Settings = Settings(send: true, edit: true, add: false) } }
            : new Frame { GroupInfo = new GroupInfo { GroupId = Group, Settings = f.UpdateGroup.Settings } });

        var (code, output) = await WaAsync(server, "group", "settings", Group, "--only-admins-send", "false", "--only-admins-add", "true");

        Assert.True(code == 0, output);
        var update = server.Requests(f => f.UpdateGroup).Single();
        Assert.Equal(Settings(send: false, edit: true, add: true), update.Settings);
        Assert.False(update.HasName || update.HasDescription || update.HasIconMediaId);
        Assert.Contains("only admins send: no, only admins edit info: yes, only admins add: yes", output);
    }

    [Fact]
    public async Task Settings_without_flags_only_show_the_current_settings()
    {
        await using var server = new ScriptedServer(_ => new Frame { GroupInfo = new GroupInfo { GroupId = Group, Settings = Settings(true, false, false) } });

        var (code, output) = await WaAsync(server, "group", "settings", Group);

        Assert.True(code == 0, output);
        Assert.DoesNotContain(server.Received, f => f.PacketCase == Frame.PacketOneofCase.UpdateGroup);
        Assert.Contains("only admins send: yes, only admins edit info: no, only admins add: no", output);
    }

    [Theory]
    [InlineData("group", "settings", Group, "--only-admins-send", "maybe")]
    [InlineData("group", "settings", Group, "--only-admins-edit-info")]
    [InlineData("group", "receipts", Group, "not-hex")]
    [InlineData("group", "add", Group)]
    public async Task Malformed_group_commands_fail_without_asking_the_server(params string[] args)
    {
        await using var server = new ScriptedServer(_ => new Frame { Ok = new Ok() });

        var (code, _) = await WaAsync(server, args);

        Assert.NotEqual(0, code);
        Assert.Equal(0, server.Logins);
    }

    [Fact]
    public void Settings_keep_what_no_flag_names()
    {
        var current = Settings(send: true, edit: false, add: true);
        Assert.Equal(current, WaCommands.ChangeSettings(current, null, null, null));
        Assert.Equal(Settings(send: true, edit: true, add: false), WaCommands.ChangeSettings(current, null, true, false));
    }

    [Fact]
    public async Task Group_send_gives_the_sender_key_to_the_members_devices_then_posts_the_text_encrypted_once()
    {
        // Bob has one device with published keys; the scripted server hands out its bundle and stores what is sent.
        using var bobKeys = KeyStore.Open(Path.Combine(_profile, "bob-keys.db"));
        var bob = new EndToEnd(bobKeys, "bob", 1);
        var bobUpload = bob.FullUpload(DateTimeOffset.UtcNow);
        await using var server = new ScriptedServer(f => f.PacketCase switch
        {
            Frame.PacketOneofCase.GetGroupInfo => new Frame
            {
                GroupInfo = new GroupInfo { GroupId = Group, Members = { new GroupMember { UserId = "alice" }, new GroupMember { UserId = "bob" } } },
            },
            Frame.PacketOneofCase.FetchPreKeyBundles => new Frame
            {
                PreKeyBundles = new PreKeyBundles
                {
                    UserId = f.FetchPreKeyBundles.UserId,
                    Bundles =
                    {
                        f.FetchPreKeyBundles.UserId == "bob"
                            ? new PreKeyBundle
                            {
                                DeviceId = 1, RegistrationId = bobUpload.RegistrationId, IdentityKey = bobUpload.IdentityKey, SignedPrekey = bobUpload.SignedPrekey,
                                OneTimePrekey = bobUpload.OneTimePrekeys[0], KemPrekey = bobUpload.OneTimeKemPrekeys[0],
                            }
                            : throw new InvalidOperationException("alice's own list comes from ListDevices: no bundle of hers is fetched"),
                    },
                },
            },
            Frame.PacketOneofCase.ListDevices => new Frame { DeviceList = new DeviceList { Devices = { new DeviceInfo { DeviceId = 1 } } } },
            Frame.PacketOneofCase.Send => new Frame { SendResult = new SendResult { MessageId = f.Send.MessageId, ServerTimestamp = 1_700_000_000_000 } },
            _ => new Frame { GroupSendResult = new GroupSendResult { MessageId = f.GroupSend.MessageId, GroupSeq = 12, ServerTimestamp = 1_700_000_000_000 } },
        });

        var (code, output) = await WaAsync(server, "group", "send", Group, "héllo group");

        Assert.True(code == 0, output);
        var distribution = server.Requests(f => f.Send).Single();
        Assert.Equal((ContentKind.SenderKeyDistribution, "bob", true), (distribution.Kind, distribution.ToUserId, distribution.Silent));
        var toBob = Assert.Single(distribution.Ciphertexts);
        Assert.Equal(CiphertextType.PrekeyMessage, toBob.Type);
        var key = bob.Decrypt("alice", 1, toBob.Type, toBob.Ciphertext).Content.SenderKeyDistribution;
        Assert.Equal(Group, key.GroupId);
        bob.Accept("alice", 1, key);

        var send = server.Requests(f => f.GroupSend).Single();
        Assert.DoesNotContain("héllo", System.Text.Encoding.UTF8.GetString(send.SenderKeyCiphertext.ToByteArray()));
        Assert.Equal("héllo group", bob.Decrypt("alice", 1, CiphertextType.SenderKeyMessage, send.SenderKeyCiphertext, Group).Content.Body.ToStringUtf8());
        Assert.StartsWith($"✓ {Convert.ToHexString(send.MessageId.Span).ToLowerInvariant()} at ", output);
        Assert.Contains("(group seq 12)", output);
    }

    [Fact]
    public async Task Members_the_server_refused_are_listed_and_fail_the_command()
    {
        await using var server = new ScriptedServer(_ => new Frame
        {
            MembersResult = new MembersResult
            {
                GroupId = Group,
                Results = { new MemberResult { UserId = "bob" }, new MemberResult { UserId = "mallory", Error = ErrorCode.NotFound } },
            },
        });

        var (code, output) = await WaAsync(server, "group", "add", Group, "bob", "mallory");

        Assert.Equal(1, code);
        Assert.Contains("added bob", output);
        Assert.Contains("not added mallory: NotFound", output);
        Assert.Equal(["bob", "mallory"], server.Requests(f => f.AddMembers).Single().UserIds);
    }

    [Fact]
    public async Task A_refused_group_command_says_why_and_exits_1()
    {
        await using var server = new ScriptedServer(_ => new Frame { Error = new Error { Code = ErrorCode.NotAdmin, Message = "admins only" } });

        var (code, output) = await WaAsync(server, "group", "invite", Group);

        Assert.Equal(1, code);
        Assert.Contains("wa: the server refused: NotAdmin (admins only)", output);
    }

    [Fact]
    public async Task Create_info_invite_and_receipts_print_plain_lines()
    {
        var messageId = ByteString.CopyFrom(Enumerable.Repeat((byte)0xab, 16).ToArray());
        var info = new GroupInfo
        {
            GroupId = Group, Name = "friends", Creator = "alice", Version = 3, LastGroupSeq = 9, Settings = new GroupSettings(),
            Members =
            {
                new GroupMember { UserId = "bob", Role = GroupRole.Member, JoinedAt = 2 },
                new GroupMember { UserId = "alice", Role = GroupRole.Creator, JoinedAt = 1 },
            },
        };
        await using var server = new ScriptedServer(f => f.PacketCase switch
        {
            Frame.PacketOneofCase.CreateGroup => new Frame
            {
                GroupCreated = new GroupCreated { Group = info, Results = { new MemberResult { UserId = "bob" } } },
            },
            Frame.PacketOneofCase.CreateInviteLink => new Frame { InviteLink = new InviteLink { GroupId = Group, Code = Group + "5ec7e7" } },
            Frame.PacketOneofCase.GetGroupReceipts => new Frame
            {
                GroupReceipts = new GroupReceipts
                {
                    GroupId = Group, MessageId = f.GetGroupReceipts.MessageId, RecipientCount = 2, DeliveredCount = 2, ReadCount = 1,
                    Members = { new MemberReceipt { UserId = "bob", DeliveredAt = 1, ReadAt = 2 } },
                },
            },
            _ => new Frame { GroupInfo = info },
        });

        var created = await WaAsync(server, "group", "create", "friends", "bob");
        var shown = await WaAsync(server, "group", "info", Group);
        var invite = await WaAsync(server, "group", "invite", Group);
        var receipts = await WaAsync(server, "group", "receipts", Group, Convert.ToHexString(messageId.Span));

        Assert.Equal($"created {Group} \"friends\"{Environment.NewLine}added bob{Environment.NewLine}", created.Output);
        Assert.Equal(["bob"], server.Requests(f => f.CreateGroup).Single().MemberUserIds);
        Assert.Contains("2 members:", shown.Output);
        Assert.True(shown.Output.IndexOf("alice\tcreator", StringComparison.Ordinal) < shown.Output.IndexOf("bob\tmember", StringComparison.Ordinal));
        Assert.Equal(Group + "5ec7e7", invite.Output.Trim());
        Assert.Contains("delivered to 2 of 2, read by 1", receipts.Output);
        Assert.Equal(messageId, server.Requests(f => f.GetGroupReceipts).Single().MessageId);
    }

    [Fact]
    public async Task Listen_shows_group_messages_with_their_seq_and_group_events_as_one_line_and_reads_only_messages()
    {
        // Alice's device published its keys before; carol starts a session from them, gives alice her sender key, posts.
        var alice = new EndToEnd(KeyStore.Open(Path.Combine(_profile, "keys.db")), "alice", 1);
        var upload = alice.FullUpload(DateTimeOffset.UtcNow);
        alice.Keys.PublishedFor = "alice:1";
        alice.Keys.Dispose();
        using var carolKeys = KeyStore.Open(Path.Combine(_profile, "carol-keys.db"));
        var carol = new EndToEnd(carolKeys, "carol", 1);
        carol.Start("alice", new PreKeyBundle
        {
            DeviceId = 1, RegistrationId = upload.RegistrationId, IdentityKey = upload.IdentityKey, SignedPrekey = upload.SignedPrekey,
            OneTimePrekey = upload.OneTimePrekeys[0], KemPrekey = upload.OneTimeKemPrekeys[0],
        });
        var senderKey = carol.Encrypt("alice", 1, new E2eContent { SenderKeyDistribution = carol.OwnSenderKey(Group, out _).Distribution(Group) });

        var added = new Deliver
        {
            Seq = 1, MessageId = ByteString.CopyFrom(new byte[16]), FromUserId = "alice", GroupId = Group, GroupSeq = 4, Kind = ContentKind.System,
            System = new SystemEvent { GroupEvent = new GroupEvent { Type = GroupEventType.MembersAdded, ActorUserId = "alice", UserIds = { "bob" } } },
        };
        var distribution = new Deliver
        {
            Seq = 2, MessageId = ByteString.CopyFrom(Enumerable.Repeat((byte)2, 16).ToArray()), FromUserId = "carol", FromDeviceId = 1,
            Kind = ContentKind.SenderKeyDistribution, Ciphertext = senderKey.Ciphertext, CiphertextType = senderKey.Type,
        };
        var message = new Deliver
        {
            Seq = 3, MessageId = ByteString.CopyFrom(Enumerable.Repeat((byte)1, 16).ToArray()), FromUserId = "carol", FromDeviceId = 1, GroupId = Group, GroupSeq = 5,
            Kind = ContentKind.Text, Ciphertext = carol.GroupEncrypt(Group, new E2eContent { Body = ByteString.CopyFromUtf8("hi all") }),
            CiphertextType = CiphertextType.SenderKeyMessage,
        };
        await using var server = new ScriptedServer(_ => new Frame { Ok = new Ok() })
        {
            PushAfterLogin = [new Frame { Deliver = added }, new Frame { Deliver = distribution }, new Frame { Deliver = message }],
        };

        var listening = WaAsync(server, "listen", "--seconds", "3");
        var receipt = (await server.ReceiveAsync(f => f.SendReceipt is not null)).SendReceipt;
        var (code, output) = await listening;

        Assert.True(code == 0, output);
        Assert.Contains($"[group {Group}] alice added bob", output);
        Assert.Contains($"[group {Group} #5] carol: hi all", output);
        Assert.Equal((Group, "carol", ReceiptType.Read), (receipt.GroupId, receipt.ToUserId, receipt.Type));
        Assert.Equal(message.MessageId, receipt.MessageIds.Single());
        Assert.Single(server.Requests(f => f.SendReceipt)); // none for the system event or the sender key
        Assert.Equal(3ul, server.Requests(f => f.Ack).Max(a => a.UpToSeq));
        Assert.Empty(server.Requests(f => f.UploadKeys)); // published before
    }

    [Theory]
    [InlineData(GroupEventType.Created, "alice created the group \"friends\" with bob, carol")]
    [InlineData(GroupEventType.MembersRemoved, "alice removed bob, carol")]
    [InlineData(GroupEventType.MemberLeft, "bob, carol left")]
    [InlineData(GroupEventType.AdminsPromoted, "alice made bob, carol admin")]
    [InlineData(GroupEventType.NameChanged, "alice renamed the group to \"friends\"")]
    [InlineData(GroupEventType.InviteLinkRevoked, "alice revoked the invite link")]
    public void Group_events_read_as_one_line(GroupEventType type, string expected)
    {
        var e = new GroupEvent { Type = type, ActorUserId = "alice", UserIds = { "bob", "carol" }, Name = "friends" };
        Assert.Equal(expected, WaCommands.Describe(e));
    }
}
