using System.Text.RegularExpressions;
using Google.Protobuf.Reflection;
using Xunit;

namespace Akka.WhatsApp.Protocol.Tests;

/// <summary>
/// The compatibility rules of protocol/*.proto: numbers on the wire never change, packet directions are
/// told apart by field-number range, and every message records its next free field number.
/// </summary>
public sealed partial class ProtocolSchemaSpec
{
    private static readonly IList<FieldDescriptor> Packets = Frame.Descriptor.Oneofs.Single(o => o.Name == "packet").Fields;

    private static bool IsClientPacket(FieldDescriptor f) => f.FieldNumber is >= 10 and < 200;
    private static bool IsServerPacket(FieldDescriptor f) => f.FieldNumber is >= 200 and < 400;

    [Fact]
    public void The_envelope_is_request_id_1_plus_the_packet_oneof()
    {
        var requestId = Frame.Descriptor.FindFieldByName("request_id");
        Assert.Equal(1, requestId.FieldNumber);
        Assert.Equal(FieldType.UInt32, requestId.FieldType);
        Assert.Equal(Frame.Descriptor.Fields.InFieldNumberOrder().Skip(1), Packets);
    }

    [Fact]
    public void Client_packets_use_field_numbers_10_to_199_and_server_packets_200_to_399()
    {
        var outOfRange = Packets.Where(f => !IsClientPacket(f) && !IsServerPacket(f)).Select(f => $"{f.Name} = {f.FieldNumber}");
        Assert.Empty(outOfRange);
        Assert.Equal(10, Frame.Descriptor.FindFieldByName("hello").FieldNumber);
        Assert.Equal(200, Frame.Descriptor.FindFieldByName("welcome").FieldNumber);
        Assert.Equal(201, Frame.Descriptor.FindFieldByName("error").FieldNumber);
    }

    [Fact]
    public void Oneof_case_values_equal_field_numbers_so_a_range_check_tells_the_direction()
    {
        foreach (var field in Packets)
        {
            var oneofCase = Enum.Parse<Frame.PacketOneofCase>(field.PropertyName);
            Assert.Equal(field.FieldNumber, (int)oneofCase);
        }
    }

    [Fact]
    public void No_message_type_is_both_a_client_and_a_server_packet()
    {
        var client = Packets.Where(IsClientPacket).Select(f => f.MessageType.FullName).ToHashSet();
        var server = Packets.Where(IsServerPacket).Select(f => f.MessageType.FullName).ToHashSet();
        Assert.Empty(client.Intersect(server));
    }

    /// <summary>Pinned wire numbers of packets native clients already depend on: renumbering breaks them.</summary>
    public static TheoryData<string, int> PinnedPackets => new()
    {
        { "hello", 10 }, { "login", 11 }, { "ping", 12 }, { "logout", 13 }, { "request_code", 14 }, { "verify_code", 15 },
        { "list_devices", 20 }, { "request_device_link", 21 }, { "approve_device_link", 22 }, { "reject_device_link", 23 }, { "remove_device", 24 },
        { "get_profile", 30 }, { "set_profile", 31 }, { "get_privacy", 32 }, { "set_privacy", 33 }, { "sync_contacts", 34 },
        { "block_user", 35 }, { "unblock_user", 36 }, { "list_blocked", 37 },
        { "send", 40 }, { "ack", 41 }, { "send_receipt", 42 }, { "list_scheduled", 43 }, { "reschedule_message", 44 }, { "cancel_scheduled", 45 },
        { "typing", 50 }, { "subscribe_presence", 51 }, { "unsubscribe_presence", 52 }, { "set_availability", 53 },
        { "create_group", 60 }, { "get_group_info", 61 }, { "list_groups", 62 }, { "update_group", 63 }, { "add_members", 64 },
        { "remove_members", 65 }, { "promote_admins", 66 }, { "demote_admins", 67 }, { "leave_group", 68 }, { "create_invite_link", 69 },
        { "revoke_invite_link", 70 }, { "preview_invite", 71 }, { "join_group_by_invite", 72 }, { "group_send", 73 }, { "get_group_receipts", 74 },
        { "request_upload_url", 80 }, { "upload_complete", 81 }, { "request_download_url", 82 }, { "get_media_settings", 83 }, { "set_media_settings", 84 },
        { "upload_keys", 90 }, { "fetch_pre_key_bundles", 91 }, { "get_pre_key_count", 92 }, { "get_identity_keys", 93 },
        { "post_status", 100 }, { "get_status_feed", 101 }, { "view_status", 102 }, { "get_status_viewers", 103 }, { "delete_status", 104 },
        { "call_offer", 110 }, { "call_answer", 111 }, { "ice_candidate", 112 }, { "call_ringing", 113 }, { "call_busy", 114 },
        { "call_hangup", 115 }, { "call_reject", 116 }, { "join_call", 117 }, { "leave_call", 118 }, { "get_call_relays", 119 },
        { "register_push_token", 130 }, { "mute_chat", 131 }, { "set_do_not_disturb", 132 }, { "get_notification_settings", 133 },
        { "request_history_sync", 140 }, { "upload_history_sync_chunk", 141 }, { "get_history_sync_chunk", 142 },
        { "welcome", 200 }, { "error", 201 }, { "pong", 202 }, { "ok", 203 }, { "reconnect", 204 },
        { "code_sent", 210 }, { "registered", 211 }, { "login_ok", 212 },
        { "device_list", 220 }, { "device_link_code", 221 }, { "device_linked", 222 }, { "device_link_failed", 223 },
        { "profile", 230 }, { "privacy_settings", 231 }, { "contacts_result", 232 }, { "blocked_list", 233 },
        { "send_result", 240 }, { "deliver", 241 }, { "receipt", 242 }, { "queue_empty", 243 }, { "scheduled_list", 244 },
        { "typing_notification", 250 }, { "presence", 251 }, { "presence_list", 252 },
        { "group_info", 260 }, { "group_list", 261 }, { "members_result", 262 }, { "invite_link", 263 }, { "invite_preview", 264 },
        { "group_send_result", 265 }, { "group_receipts", 266 }, { "group_created", 267 },
        { "upload_url", 280 }, { "media_info", 281 }, { "download_url", 282 }, { "media_settings", 283 },
        { "pre_key_bundles", 290 }, { "pre_key_count", 291 }, { "pre_key_low", 292 }, { "identity_keys", 293 },
        { "status_posted", 300 }, { "status_feed", 301 }, { "status_viewers", 302 }, { "status_updated", 303 },
        { "call_signal", 310 }, { "call_relays", 311 },
        { "notification_settings", 330 },
        { "history_sync_started", 340 }, { "history_sync_progress", 341 }, { "history_sync_chunk", 342 },
    };

    [Theory]
    [MemberData(nameof(PinnedPackets))]
    public void Packet_field_numbers_never_change(string name, int number)
    {
        var field = Frame.Descriptor.FindFieldByName(name);
        Assert.True(field is not null, $"packet {name} disappeared from Frame");
        Assert.Equal(number, field.FieldNumber);
        Assert.Same(Packets.Single(f => f.Name == name), field);
    }

    [Fact]
    public void Every_packet_is_pinned_so_a_new_packet_is_a_deliberate_decision()
    {
        var pinned = PinnedPackets.Select(row => (string)row[0]).ToHashSet();
        Assert.All(Packets, f => Assert.Contains(f.Name, pinned));
    }

    [Theory]
    [InlineData(ErrorCode.Unspecified, 0)]
    [InlineData(ErrorCode.MalformedFrame, 1)]
    [InlineData(ErrorCode.FrameTooLarge, 2)]
    [InlineData(ErrorCode.UnknownPacket, 3)]
    [InlineData(ErrorCode.Unauthenticated, 4)]
    [InlineData(ErrorCode.BadCredentials, 5)]
    [InlineData(ErrorCode.UpgradeRequired, 6)]
    [InlineData(ErrorCode.NotImplemented, 7)]
    [InlineData(ErrorCode.HeartbeatTimeout, 8)]
    [InlineData(ErrorCode.DeviceReplaced, 9)]
    [InlineData(ErrorCode.DeviceRemoved, 10)]
    [InlineData(ErrorCode.ServerShuttingDown, 11)]
    [InlineData(ErrorCode.RateLimited, 12)]
    [InlineData(ErrorCode.TooManyRequestsInFlight, 13)]
    [InlineData(ErrorCode.HelloTimeout, 15)]
    [InlineData(ErrorCode.InvalidArgument, 20)]
    [InlineData(ErrorCode.NotFound, 21)]
    [InlineData(ErrorCode.Forbidden, 22)]
    [InlineData(ErrorCode.AlreadyExists, 23)]
    [InlineData(ErrorCode.Timeout, 24)]
    [InlineData(ErrorCode.Unavailable, 25)]
    [InlineData(ErrorCode.Internal, 26)]
    [InlineData(ErrorCode.CodeExpired, 40)]
    [InlineData(ErrorCode.CodeInvalid, 41)]
    [InlineData(ErrorCode.TooManyDevices, 42)]
    [InlineData(ErrorCode.NotPrimary, 43)]
    [InlineData(ErrorCode.StaleDevices, 60)]
    [InlineData(ErrorCode.Blocked, 61)]
    [InlineData(ErrorCode.EditWindowExpired, 62)]
    [InlineData(ErrorCode.ScheduleTooFar, 63)]
    [InlineData(ErrorCode.MessageTooLarge, 64)]
    [InlineData(ErrorCode.NotAMember, 80)]
    [InlineData(ErrorCode.NotAdmin, 81)]
    [InlineData(ErrorCode.GroupFull, 82)]
    [InlineData(ErrorCode.MediaTooLarge, 100)]
    [InlineData(ErrorCode.MediaNotUploaded, 101)]
    [InlineData(ErrorCode.CallFull, 102)]
    [InlineData(ErrorCode.InvalidSignature, 103)]
    public void Error_code_numbers_never_change(ErrorCode code, int number) => Assert.Equal(number, (int)code);

    [Fact]
    public void Every_error_code_is_pinned_and_documented_in_PROTOCOL_md()
    {
        var pinned = typeof(ProtocolSchemaSpec).GetMethod(nameof(Error_code_numbers_never_change))!
            .GetCustomAttributes(typeof(InlineDataAttribute), false).Cast<InlineDataAttribute>()
            .Select(a => (ErrorCode)a.GetData(null!).Single()[0]).ToHashSet();
        var protocolMd = File.ReadAllText(Path.Combine(ProtocolFolder(), "PROTOCOL.md"));

        foreach (var value in ErrorsReflection.Descriptor.EnumTypes.Single(e => e.Name == nameof(ErrorCode)).Values)
        {
            Assert.Contains((ErrorCode)value.Number, pinned);
            if (value.Number != 0)
                Assert.True(protocolMd.Contains($"`{value.Name}`", StringComparison.Ordinal), $"PROTOCOL.md does not document {value.Name}");
        }
    }

    public static TheoryData<string, Frame> DocumentedExamples => new()
    {
        { "0b0801520708011203636c69", new Frame { RequestId = 1, Hello = new Hello { ProtocolVersion = 1, ClientName = "cli" } } },
        {
            "180801c20c130880d095ffbc311202733118808004201e2801",
            new Frame
            {
                RequestId = 1,
                Welcome = new Welcome { ServerTime = 1_700_000_000_000, SessionId = "s1", MaxFrame = 65536, HeartbeatIntervalSeconds = 30, ProtocolVersion = 1 },
            }
        },
        { "070802620308e807", new Frame { RequestId = 2, Ping = new Ping { ClientTimestamp = 1000 } } },
        { "12ca0c0f0804120b6c6f67696e206669727374", new Frame { Error = new Error { Code = ErrorCode.Unauthenticated, Message = "login first" } } },
    };

    [Theory]
    [MemberData(nameof(DocumentedExamples))]
    public void The_worked_examples_in_PROTOCOL_md_are_exactly_what_the_codec_produces(string hex, Frame frame)
    {
        Assert.Equal(hex, Convert.ToHexStringLower(Framing.FrameCodec.Encode(frame)));
        var documented = WhitespaceRegex().Replace(File.ReadAllText(Path.Combine(ProtocolFolder(), "PROTOCOL.md")), "");
        Assert.Contains(hex, documented, StringComparison.Ordinal);
    }

    [Fact]
    public void The_current_protocol_version_is_1_and_still_supported()
    {
        Assert.Equal(1u, ProtocolVersion.Current);
        Assert.InRange(ProtocolVersion.MinimumSupported, 1u, ProtocolVersion.Current);
    }

    [Fact]
    public void Every_message_records_its_next_free_field_number()
    {
        var messages = AllMessages().ToDictionary(m => m.Name);
        var problems = new List<string>();
        var seen = 0;

        foreach (var file in Directory.GetFiles(ProtocolFolder(), "*.proto"))
        {
            foreach (var (name, nextComment) in MessageBlocks(File.ReadAllText(file)))
            {
                seen++;
                if (!messages.TryGetValue(name, out var descriptor))
                {
                    problems.Add($"{Path.GetFileName(file)}: message {name} is not in the compiled descriptors");
                    continue;
                }
                if (nextComment is null)
                {
                    problems.Add($"{name}: no `// next: N` comment");
                    continue;
                }

                var next = NumberRegex().Matches(nextComment).Select(m => int.Parse(m.Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
                var numbers = descriptor.Fields.InFieldNumberOrder().Select(f => f.FieldNumber).ToList();
                if (name == nameof(Frame))
                {
                    // One next number per range: envelope fields, client packets, server packets.
                    var expected = new[] { 2, numbers.Where(n => n is >= 10 and < 200).Max() + 1, numbers.Where(n => n >= 200).Max() + 1 };
                    if (!next.SequenceEqual(expected))
                        problems.Add($"Frame: `// next: {nextComment}` should name {string.Join(", ", expected)}");
                }
                else if (next.Count == 0 || next[0] <= numbers.DefaultIfEmpty(0).Max())
                    problems.Add($"{name}: `// next: {nextComment}` but field {numbers.Max()} is in use");
            }
        }

        Assert.Empty(problems);
        Assert.Equal(messages.Count, seen);
    }

    private static IEnumerable<MessageDescriptor> AllMessages() =>
        // e2e.proto is not on the wire between client and server (it is inside the ciphertexts), so Frame does not import it.
        Frame.Descriptor.File.Dependencies.Append(Frame.Descriptor.File).Append(E2eContent.Descriptor.File)
            .SelectMany(f => f.Dependencies.Append(f))
            .Distinct()
            .SelectMany(f => f.MessageTypes)
            .DistinctBy(m => m.FullName);

    /// <summary>Top-level message blocks of a .proto file with the text of their `// next:` comment (depth 1 only).</summary>
    private static IEnumerable<(string Name, string? Next)> MessageBlocks(string proto)
    {
        foreach (Match m in MessageStartRegex().Matches(proto))
        {
            var depth = 1;
            var i = m.Index + m.Length;
            var body = i;
            while (depth > 0)
            {
                depth += proto[i] switch { '{' => 1, '}' => -1, _ => 0 };
                i++;
            }
            var next = NextRegex().Matches(proto[body..(i - 1)]).LastOrDefault();
            yield return (m.Groups[1].Value, next?.Groups[1].Value.Trim());
        }
    }

    private static string ProtocolFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "protocol");
            if (File.Exists(Path.Combine(candidate, "frame.proto")))
                return candidate;
        }
        throw new DirectoryNotFoundException($"no protocol/frame.proto above {AppContext.BaseDirectory}");
    }

    [GeneratedRegex(@"^message (\w+) \{", RegexOptions.Multiline)]
    private static partial Regex MessageStartRegex();

    [GeneratedRegex(@"^  // next: (.+)$", RegexOptions.Multiline)]
    private static partial Regex NextRegex();

    [GeneratedRegex(@"\s+")]
    private static partial Regex WhitespaceRegex();

    [GeneratedRegex(@"\d+")]
    private static partial Regex NumberRegex();
}
