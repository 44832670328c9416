using Akka.WhatsApp.Cli;
using Akka.WhatsApp.Client.Calls;
using Akka.WhatsApp.Client.Crypto;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;
using Xunit;

namespace Akka.WhatsApp.Client.Tests.Calls;

/// <summary>`wa call`, `wa calls` and calls in `wa listen`, run in-process against a scripted server.</summary>
public sealed class WaCallCommandsSpec : IDisposable
{
    private const string Group = "0123456789abcdef0123456789abcdef";
    private readonly string _profile = Directory.CreateTempSubdirectory("wa-call-").FullName;
    private readonly KeyStore _bobKeys;
    private readonly EndToEnd _bob;
    private readonly UploadKeys _bobUpload;

    public WaCallCommandsSpec()
    {
        new Cli.Profile { UserId = "alice", DeviceId = 1, Token = Convert.ToBase64String([1, 2, 3]) }.Save(_profile);
        _bobKeys = KeyStore.Open(Path.Combine(_profile, "bob-keys.db"));
        _bob = new EndToEnd(_bobKeys, "bob", 1);
        _bobUpload = _bob.FullUpload(DateTimeOffset.UtcNow);
    }

    public void Dispose()
    {
        _bobKeys.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_profile, recursive: true);
    }

    private Task<(int Code, string Output)> WaAsync(int port, params string[] args) => WaAsync(port, CancellationToken.None, args);

    /// <param name="stop">Ctrl-C.</param>
    private async Task<(int Code, string Output)> WaAsync(int port, CancellationToken stop, params string[] args)
    {
        var output = new StringWriter();
        var code = await WaCommands.RunAsync(["--profile", _profile, "--server", $"127.0.0.1:{port}", .. args], output, stop);
        return (code, output.ToString());
    }

    /// <summary>The server's side of contact discovery and bob's key directory entry; everything else is Ok.</summary>
    private Frame? Script(Frame f) => f.PacketCase switch
    {
        Frame.PacketOneofCase.FetchPreKeyBundles => new Frame
        {
            PreKeyBundles = new PreKeyBundles
            {
                UserId = "bob",
                Bundles =
                {
                    new PreKeyBundle
                    {
                        DeviceId = 1, RegistrationId = _bobUpload.RegistrationId, IdentityKey = _bobUpload.IdentityKey, SignedPrekey = _bobUpload.SignedPrekey,
                        OneTimePrekey = _bobUpload.OneTimePrekeys[0], KemPrekey = _bobUpload.OneTimeKemPrekeys[0],
                    },
                },
            },
        },
        Frame.PacketOneofCase.SyncContacts => new Frame
        {
            ContactsResult = new ContactsResult { Registered = { new RegisteredContact { PhoneNumber = "+14155550123", UserId = "bob" } } },
        },
        _ => new Frame { Ok = new Ok() },
    };

    /// <summary>Alice's device published its keys before; bob starts a session from them.</summary>
    private void StartBobsSessionWithAlicesPublishedKeys()
    {
        var alice = new EndToEnd(KeyStore.Open(Path.Combine(_profile, "keys.db")), "alice", 1);
        var upload = alice.FullUpload(DateTimeOffset.UtcNow);
        alice.Keys.PublishedFor = "alice:1";
        alice.Keys.Dispose();
        _bob.Start("alice", new PreKeyBundle
        {
            DeviceId = 1, RegistrationId = upload.RegistrationId, IdentityKey = upload.IdentityKey, SignedPrekey = upload.SignedPrekey,
            OneTimePrekey = upload.OneTimePrekeys[0], KemPrekey = upload.OneTimeKemPrekeys[0],
        });
    }

    private static CallSignal FromBob(ByteString call, Action<CallSignal> set)
    {
        var signal = new CallSignal { CallId = call, FromUserId = "bob", FromDeviceId = 1, Timestamp = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() };
        set(signal);
        return signal;
    }

    private static void InOrder(string output, params string[] lines)
    {
        var at = 0;
        foreach (var line in lines)
        {
            var found = output.IndexOf(line, at, StringComparison.Ordinal);
            Assert.True(found >= 0, $"'{line}' missing after position {at} in:\n{output}");
            at = found + line.Length;
        }
    }

    [Fact]
    public async Task Call_prints_calling_ringing_connected_and_hangs_up_the_given_seconds_after_the_answer()
    {
        await using var server = new ScriptedServer(Script);
        await using var proxy = new PushingProxy(server);

        var calling = WaAsync(proxy.Port, "call", "bob", "--seconds", "1");
        var offer = (await server.ReceiveAsync(f => f.CallOffer is not null)).CallOffer;
        var entry = offer.Offers.Single();
        Assert.Equal(("bob", CallMedia.Audio), (offer.ToUserId, offer.Media));
        Assert.Equal("v=0 placeholder offer", _bob.Decrypt("alice", 1, entry.Device.Type, entry.Device.Ciphertext).Content.Body.ToStringUtf8());
        await proxy.PushAsync(FromBob(offer.CallId, s => s.Ringing = new CallRinging { CallId = offer.CallId, ToUserId = "alice" }));
        var answer = _bob.Encrypt("alice", 1, new E2eContent { Body = ByteString.CopyFromUtf8("v=0 placeholder answer") });
        await proxy.PushAsync(FromBob(offer.CallId, s => s.Answer = new CallAnswer { CallId = offer.CallId, ToUserId = "alice", ToDeviceId = 1, Ciphertext = answer.ToByteString() }));
        var (code, output) = await calling;

        Assert.True(code == 0, output);
        InOrder(output, "calling bob (voice call)…", "ringing", "connected", "ended: you hung up");
        Assert.Equal(offer.CallId, server.Requests(f => f.CallHangup).Single().CallId);
    }

    [Fact]
    public async Task Calling_a_contacts_number_nobody_answers_ends_with_no_answer_and_fails_the_command()
    {
        await using var server = new ScriptedServer(Script);
        await using var proxy = new PushingProxy(server);

        var calling = WaAsync(proxy.Port, "call", "+14155550123", "--video");
        var offer = (await server.ReceiveAsync(f => f.CallOffer is not null)).CallOffer;
        await proxy.PushAsync(FromBob(offer.CallId, s => s.Ringing = new CallRinging { CallId = offer.CallId, ToUserId = "alice" }));
        await proxy.PushAsync(new CallSignal { CallId = offer.CallId, Hangup = new CallHangup { CallId = offer.CallId, Reason = CallEndReason.NoAnswer } });
        var (code, output) = await calling;

        Assert.Equal(1, code);
        Assert.Equal(("bob", CallMedia.Video), (offer.ToUserId, offer.Media));
        InOrder(output, "calling bob (video call)…", "ringing", "ended: no answer");
        Assert.Empty(server.Requests(f => f.CallHangup)); // the server ended it
    }

    [Theory]
    [InlineData("call")]
    [InlineData("call", "bob", "--group", Group)]
    [InlineData("call", "--group", "not-a-group")]
    [InlineData("call", "bob", "--seconds", "-1")]
    [InlineData("calls", "--answer", "--reject")]
    public async Task Malformed_call_commands_fail_without_asking_the_server(params string[] args)
    {
        await using var server = new ScriptedServer(Script);

        var (code, output) = await WaAsync(server.Port, args);

        Assert.True(code != 0, output);
        Assert.StartsWith("wa: ", output);
        Assert.Equal(0, server.Logins);
    }

    [Fact]
    public async Task Calls_with_answer_takes_incoming_calls_encrypted_end_to_end_and_hangs_up_the_one_going_on_at_Ctrl_C()
    {
        StartBobsSessionWithAlicesPublishedKeys();
        CallSignal Offer(ByteString id, string sdp) => FromBob(id, s => s.Offer = new CallOffer
        {
            CallId = id, ToUserId = "alice", Media = CallMedia.Audio,
            Offers = { new RecipientCiphertext { UserId = "alice", Device = _bob.Encrypt("alice", 1, new E2eContent { Body = ByteString.CopyFromUtf8(sdp) }) } },
        });
        var (first, second) = (CallId.New().Bytes, CallId.New().Bytes);
        await using var server = new ScriptedServer(Script) { PushAfterLogin = [new Frame { CallSignal = Offer(first, "v=0 bob's offer") }] };
        await using var proxy = new PushingProxy(server);
        using var ctrlC = new CancellationTokenSource();

        var waiting = WaAsync(proxy.Port, ctrlC.Token, "calls", "--answer");
        var ringing = (await server.ReceiveAsync(f => f.CallRinging is not null)).CallRinging;
        var answer = (await server.ReceiveAsync(f => f.CallAnswer is not null)).CallAnswer;
        var sealedAnswer = DeviceCiphertext.Parser.ParseFrom(answer.Ciphertext);
        Assert.Equal("v=0 placeholder answer", _bob.Decrypt("alice", 1, sealedAnswer.Type, sealedAnswer.Ciphertext).Content.Body.ToStringUtf8());
        await proxy.PushAsync(FromBob(first, s => s.Hangup = new CallHangup { CallId = first, Reason = CallEndReason.Normal }));
        // Bob calls again; once that call is answered the hangup of the first one was shown (calls are shown in order).
        await proxy.PushAsync(Offer(second, "v=0 bob's second offer"));
        await server.ReceiveAsync(f => f.CallAnswer?.CallId == second);
        await ctrlC.CancelAsync();
        var (code, output) = await waiting;

        Assert.True(code == 0, output);
        Assert.Equal((first, "bob"), (ringing.CallId, ringing.ToUserId));
        Assert.Equal((first, "bob", 1u), (answer.CallId, answer.ToUserId, answer.ToDeviceId));
        InOrder(output, "waiting for calls to alice", "] incoming voice call from bob", "] call with bob: connected", "] call with bob: ended: bob hung up",
            "] incoming voice call from bob", "] call with bob: connected", "] call with bob: ended: you hung up");
        Assert.Equal(second, server.Requests(f => f.CallHangup).Single().CallId); // the call still going on at Ctrl-C, not the one bob ended
    }

    [Fact]
    public async Task Listen_shows_incoming_calls_and_missed_calls()
    {
        var id = CallId.New().Bytes;
        var at = new DateTimeOffset(2026, 3, 1, 9, 41, 0, TimeSpan.Zero);
        var missed = new Deliver
        {
            Seq = 1, MessageId = ByteString.CopyFrom(Enumerable.Repeat((byte)7, 16).ToArray()), FromUserId = "bob", Kind = ContentKind.System,
            ServerTimestamp = (ulong)at.ToUnixTimeMilliseconds(),
            System = new SystemEvent { MissedCall = new MissedCall { CallId = id, FromUserId = "bob", Media = CallMedia.Video, At = (ulong)at.ToUnixTimeMilliseconds() } },
        };
        var offer = FromBob(id, s => s.Offer = new CallOffer
        {
            CallId = id, ToUserId = "alice", Media = CallMedia.Video,
            Offers = { new RecipientCiphertext { UserId = "alice", Device = new DeviceCiphertext { DeviceId = 1, Ciphertext = ByteString.CopyFromUtf8("opaque") } } },
        });
        var gaveUp = FromBob(id, s => s.Hangup = new CallHangup { CallId = id, Reason = CallEndReason.Normal });
        StartBobsSessionWithAlicesPublishedKeys();
        var hello = _bob.Encrypt("alice", 1, new E2eContent { Body = ByteString.CopyFromUtf8("call me back") });
        var text = new Deliver
        {
            Seq = 2, MessageId = ByteString.CopyFrom(Enumerable.Repeat((byte)8, 16).ToArray()), FromUserId = "bob", FromDeviceId = 1, Kind = ContentKind.Text,
            ServerTimestamp = (ulong)at.ToUnixTimeMilliseconds(), Ciphertext = hello.Ciphertext, CiphertextType = hello.Type,
        };
        await using var server = new ScriptedServer(Script)
        {
            PushAfterLogin = [new Frame { CallSignal = offer }, new Frame { CallSignal = gaveUp }, new Frame { Deliver = missed }, new Frame { Deliver = text }],
        };
        using var ctrlC = new CancellationTokenSource();

        var listening = WaAsync(server.Port, ctrlC.Token, "listen");
        // Listen reads what it shows: once bob's text has its read receipt, everything before it was shown.
        var receipt = (await server.ReceiveAsync(f => f.SendReceipt is not null)).SendReceipt;
        await ctrlC.CancelAsync();
        var (code, output) = await listening;

        Assert.True(code == 0, output);
        InOrder(output, "] incoming video call from bob", "] call with bob: ended: bob hung up");
        Assert.Contains($"missed video call from bob at {at.ToLocalTime():HH:mm}", output);
        Assert.Contains("bob: call me back", output);
        Assert.Equal(id, server.Requests(f => f.CallRinging).Single().CallId);
        Assert.Equal(text.MessageId, receipt.MessageIds.Single()); // none for the missed call, a system event
        Assert.Single(server.Requests(f => f.SendReceipt));
    }

    [Fact]
    public void Call_lines_say_how_each_call_ended()
    {
        var id = CallId.New();
        var alice = new CallDevice("alice", 1);
        var now = DateTimeOffset.UtcNow;
        var calling = CallSession.Start(id, alice, "bob", CallMedia.Audio, now);
        Assert.Equal("calling bob (voice call)…", WaCommands.CallLine(calling));
        Assert.Equal("ended: bob is busy", WaCommands.CallLine(calling.Apply(new CallSignal { CallId = id.Bytes, FromUserId = "bob", Busy = new CallBusy() }, now)));
        Assert.Equal("ended: bob declined", WaCommands.CallLine(calling.Apply(new CallSignal { CallId = id.Bytes, FromUserId = "bob", Reject = new CallReject() }, now)));
        Assert.Equal("ended: failed (a connection was lost)", WaCommands.CallLine(calling.Fail(now)));

        var group = CallSession.StartGroup(id, alice, Group, CallMedia.Video, now).Apply(new CallSignal
        {
            CallId = id.Bytes, GroupId = Group,
            Participants = new CallParticipants
            {
                Participants = { new CallParticipant { UserId = "alice", DeviceId = 1, Media = CallMedia.Video }, new CallParticipant { UserId = "bob", DeviceId = 2 } },
            },
        }, now);
        Assert.Equal("in the call: you (video), bob", WaCommands.CallLine(group));
        Assert.Equal("ended: you left", WaCommands.CallLine(group.Leave(now)));

        var ringing = CallSession.Offered(alice, new CallSignal
        {
            CallId = id.Bytes, FromUserId = "bob", FromDeviceId = 1,
            Offer = new CallOffer { Offers = { new RecipientCiphertext { UserId = "alice", Device = new DeviceCiphertext { DeviceId = 1 } } } },
        }, now);
        Assert.Equal("ended: answered on another device",
            WaCommands.CallLine(ringing.Apply(new CallSignal { CallId = id.Bytes, Hangup = new CallHangup { Reason = CallEndReason.AnsweredElsewhere } }, now)));
        Assert.Equal("ended: busy (you were in another call)", WaCommands.CallLine(ringing.AnswerBusy(now)));
    }
}
