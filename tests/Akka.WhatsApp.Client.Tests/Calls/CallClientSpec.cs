using Akka.WhatsApp.Client.Calls;
using Akka.WhatsApp.Client.Crypto;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;
using Xunit;

namespace Akka.WhatsApp.Client.Tests.Calls;

/// <summary>
/// What the SDK's call methods put on the wire and how pushed call signals become events, against a scripted server
/// with pushes in the middle of the session (what the real server does with them is the integration tests' part).
/// </summary>
public sealed class CallClientSpec : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private const string Group = "0123456789abcdef0123456789abcdef";
    private static readonly CallDevice Bob = new("bob", 1);
    private static readonly CallDevice BobLaptop = new("bob", 3);
    private static readonly CallDevice Carol = new("carol", 1);
    private readonly string _folder = Directory.CreateTempSubdirectory("wa-calls-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    private static Frame Ok(Frame _) => new() { Ok = new Ok() };

    private static CallSignal Signal(CallId call, CallDevice from, Action<CallSignal> set, string group = "")
    {
        var signal = new CallSignal
        {
            CallId = call.Bytes, FromUserId = from.UserId, FromDeviceId = from.DeviceId, GroupId = group,
            Timestamp = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        };
        set(signal);
        return signal;
    }

    private static CallSignal Offer(CallId call, CallDevice from, string sdp, string group = "", CiphertextType type = CiphertextType.Plaintext) =>
        Signal(call, from, s => s.Offer = new CallOffer
        {
            CallId = call.Bytes, ToUserId = group.Length > 0 ? "" : "alice", GroupId = group, Media = CallMedia.Audio,
            Offers = { new RecipientCiphertext { UserId = "alice", Device = new DeviceCiphertext { DeviceId = 1, Ciphertext = ByteString.CopyFromUtf8(sdp), Type = type } } },
        }, group);

    private static CallSignal Hangup(CallId call, CallEndReason reason, CallDevice? from = null) =>
        Signal(call, from ?? new CallDevice("", 0), s => s.Hangup = new CallHangup { CallId = call.Bytes, Reason = reason });

    private static Frame Push(CallSignal signal) => new() { CallSignal = signal };

    /// <summary>The next call event (CallChanged or CallPeerMessage), passing over everything else the client reports.</summary>
    private static async Task<ClientEvent> NextCallEventAsync(WhatsAppClient client)
    {
        using var timeout = new CancellationTokenSource(Wait);
        await foreach (var e in client.Events.ReadAllAsync(timeout.Token))
            if (e is CallChanged or CallPeerMessage)
                return e;
        throw new InvalidOperationException("the client stopped before a call event arrived");
    }

    private static async Task<CallSession> NextChangeAsync(WhatsAppClient client) =>
        Assert.IsType<CallChanged>(await NextCallEventAsync(client)).Call;

    [Fact]
    public async Task A_call_is_offered_to_the_callees_devices_then_rings_connects_exchanges_candidates_and_hangs_up()
    {
        await using var server = new ScriptedServer(Ok);
        await using var proxy = new PushingProxy(server);
        await using var client = await WhatsAppClient.ConnectAsync(proxy.Options, ScriptedServer.Alice);

        var call = await client.StartCallAsync("bob", CallMedia.Video, "offer-sdp"u8.ToArray());

        var offer = server.Requests(f => f.CallOffer).Single();
        Assert.Equal((call.Id.Bytes, "bob", "", CallMedia.Video), (offer.CallId, offer.ToUserId, offer.GroupId, offer.Media));
        var entry = Assert.Single(offer.Offers); // bob's device list is unknown: his primary
        Assert.Equal(("bob", 1u, "offer-sdp"), (entry.UserId, entry.Device.DeviceId, entry.Device.Ciphertext.ToStringUtf8()));
        Assert.Equal((CallState.Outgoing, "bob"), ((await NextChangeAsync(client)).State, call.Callee));

        await proxy.PushAsync(Signal(call.Id, BobLaptop, s => s.Ringing = new CallRinging { CallId = call.Id.Bytes, ToUserId = "alice" }));
        Assert.Equal(CallState.Ringing, (await NextChangeAsync(client)).State);

        await proxy.PushAsync(Signal(call.Id, BobLaptop, s => s.Answer = new CallAnswer { CallId = call.Id.Bytes, ToUserId = "alice", ToDeviceId = 1, Ciphertext = ByteString.CopyFromUtf8("answer-sdp") }));
        var connected = await NextChangeAsync(client);
        Assert.Equal((CallState.Connected, BobLaptop), (connected.State, connected.Peer));
        var answer = Assert.IsType<CallPeerMessage>(await NextCallEventAsync(client));
        Assert.Equal((call.Id, BobLaptop, CallPeerMessageKind.Description, "answer-sdp"), (answer.CallId, answer.From, answer.Kind, answer.Payload!.ToStringUtf8()));

        await client.SendIceCandidateAsync(call.Id, "candidate:1"u8.ToArray());
        var ice = server.Requests(f => f.IceCandidate).Single();
        Assert.Equal((call.Id.Bytes, "bob", 3u, "candidate:1"), (ice.CallId, ice.ToUserId, ice.ToDeviceId, ice.Ciphertext.ToStringUtf8()));
        await proxy.PushAsync(Signal(call.Id, BobLaptop, s => s.IceCandidate = new IceCandidate { CallId = call.Id.Bytes, Ciphertext = ByteString.CopyFromUtf8("candidate:2") }));
        var theirs = Assert.IsType<CallPeerMessage>(await NextCallEventAsync(client));
        Assert.Equal((CallPeerMessageKind.IceCandidate, "candidate:2"), (theirs.Kind, theirs.Payload!.ToStringUtf8()));

        await client.HangupAsync(call.Id);
        var hangup = server.Requests(f => f.CallHangup).Single();
        Assert.Equal((call.Id.Bytes, CallEndReason.Normal), (hangup.CallId, hangup.Reason));
        Assert.Equal(CallEnd.HungUp, (await NextChangeAsync(client)).EndReason);
        Assert.Empty(client.ActiveCalls);
    }

    [Theory]
    [InlineData("busy", CallEnd.Busy)]
    [InlineData("reject", CallEnd.Rejected)]
    [InlineData("no answer", CallEnd.NoAnswer)]
    public async Task The_callee_being_busy_rejecting_or_not_answering_ends_the_call_made_here(string what, CallEnd reason)
    {
        await using var server = new ScriptedServer(Ok);
        await using var proxy = new PushingProxy(server);
        await using var client = await WhatsAppClient.ConnectAsync(proxy.Options, ScriptedServer.Alice);
        var call = await client.StartCallAsync("bob", CallMedia.Audio, "offer"u8.ToArray());
        await NextChangeAsync(client);

        await proxy.PushAsync(what switch
        {
            "busy" => Signal(call.Id, Bob, s => s.Busy = new CallBusy { CallId = call.Id.Bytes, ToUserId = "alice" }),
            "reject" => Signal(call.Id, Bob, s => s.Reject = new CallReject { CallId = call.Id.Bytes }),
            _ => Hangup(call.Id, CallEndReason.NoAnswer),
        });

        var ended = await NextChangeAsync(client);
        Assert.Equal((CallState.Ended, reason), (ended.State, ended.EndReason));
        await Assert.ThrowsAsync<InvalidOperationException>(() => client.HangupAsync(call.Id)); // nothing left to hang up
        Assert.Empty(server.Requests(f => f.CallHangup));
    }

    [Fact]
    public async Task An_offer_rings_back_by_itself_and_answering_sends_the_answer_to_the_calling_device()
    {
        var id = CallId.New();
        await using var server = new ScriptedServer(Ok) { PushAfterLogin = [Push(Offer(id, BobLaptop, "offer-sdp"))] };
        await using var proxy = new PushingProxy(server);
        await using var client = await WhatsAppClient.ConnectAsync(proxy.Options, ScriptedServer.Alice);

        var ringing = (await server.ReceiveAsync(f => f.CallRinging is not null)).CallRinging;
        Assert.Equal((id.Bytes, "bob"), (ringing.CallId, ringing.ToUserId));
        var incoming = await NextChangeAsync(client);
        Assert.Equal((id, CallState.Incoming, BobLaptop, "offer-sdp"), (incoming.Id, incoming.State, incoming.Caller, incoming.Offer!.ToStringUtf8()));

        await client.AnswerCallAsync(id, "answer-sdp"u8.ToArray());

        var answer = server.Requests(f => f.CallAnswer).Single();
        Assert.Equal((id.Bytes, "bob", 3u, "answer-sdp"), (answer.CallId, answer.ToUserId, answer.ToDeviceId, answer.Ciphertext.ToStringUtf8()));
        var connected = await NextChangeAsync(client);
        Assert.Equal((CallState.Connected, BobLaptop), (connected.State, connected.Peer));

        await proxy.PushAsync(Hangup(id, CallEndReason.Normal, BobLaptop));
        Assert.Equal(CallEnd.RemoteHangup, (await NextChangeAsync(client)).EndReason);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Signals_pushed_while_an_answer_is_in_flight_wait_for_its_reply(bool taken)
    {
        var id = CallId.New();
        using var reply = new SemaphoreSlim(0);
        await using var server = new ScriptedServer(f =>
        {
            if (f.PacketCase != Frame.PacketOneofCase.CallAnswer)
                return new Frame { Ok = new Ok() };
            Assert.True(reply.Wait(Wait), "the test never released the answer's reply");
            return taken ? new Frame { Ok = new Ok() } : new Frame { Error = new Error { Code = ErrorCode.NotFound, Message = "the caller hung up" } };
        })
        {
            PushAfterLogin = [Push(Offer(id, Bob, "offer"))],
        };
        await using var proxy = new PushingProxy(server);
        await using var client = await WhatsAppClient.ConnectAsync(proxy.Options, ScriptedServer.Alice);
        Assert.Equal(CallState.Incoming, (await NextChangeAsync(client)).State);

        var answering = client.AnswerCallAsync(id, "answer"u8.ToArray());
        await server.ReceiveAsync(f => f.CallAnswer is not null);
        await proxy.PushAsync(Hangup(id, CallEndReason.Normal, Bob)); // reaches the client before the reply
        reply.Release();

        if (taken)
        {
            await answering;
            Assert.Equal(CallState.Connected, (await NextChangeAsync(client)).State);
        }
        else
        {
            Assert.Equal(ErrorCode.NotFound, (await Assert.ThrowsAsync<ServerErrorException>(() => answering)).Code);
        }
        Assert.Equal(CallEnd.RemoteHangup, (await NextChangeAsync(client)).EndReason);
    }

    [Fact]
    public async Task An_offer_while_connected_to_another_call_is_answered_busy_by_itself_and_not_rung_back()
    {
        var (first, second) = (CallId.New(), CallId.New());
        await using var server = new ScriptedServer(Ok) { PushAfterLogin = [Push(Offer(first, Bob, "one"))] };
        await using var proxy = new PushingProxy(server);
        await using var client = await WhatsAppClient.ConnectAsync(proxy.Options, ScriptedServer.Alice);
        await NextChangeAsync(client);
        await client.AnswerCallAsync(first, "answer"u8.ToArray());
        Assert.Equal(CallState.Connected, (await NextChangeAsync(client)).State);

        await proxy.PushAsync(Offer(second, Carol, "two"));

        var busy = (await server.ReceiveAsync(f => f.CallBusy is not null)).CallBusy;
        Assert.Equal((second.Bytes, "carol"), (busy.CallId, busy.ToUserId));
        var refused = await NextChangeAsync(client);
        Assert.Equal((second, CallDirection.Incoming, CallState.Ended, CallEnd.Busy), (refused.Id, refused.Direction, refused.State, refused.EndReason));
        Assert.Equal(first, Assert.Single(client.ActiveCalls).Id);
        await client.HangupAsync(first);
        await server.ReceiveAsync(f => f.CallHangup is not null);
        Assert.Equal([first.Bytes], server.Requests(f => f.CallRinging).Select(r => r.CallId)); // the second call was not rung back
    }

    [Fact]
    public async Task A_call_answered_on_another_device_stops_ringing_here_and_cannot_be_answered_any_more()
    {
        var id = CallId.New();
        await using var server = new ScriptedServer(Ok) { PushAfterLogin = [Push(Offer(id, Bob, "offer")), Push(Hangup(id, CallEndReason.AnsweredElsewhere))] };
        await using var client = await WhatsAppClient.ConnectAsync(server.Options, ScriptedServer.Alice);

        Assert.Equal(CallState.Incoming, (await NextChangeAsync(client)).State);
        Assert.Equal(CallEnd.AnsweredElsewhere, (await NextChangeAsync(client)).EndReason);

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => client.AnswerCallAsync(id, "late"u8.ToArray()));
        Assert.Contains("not going on on this device", refused.Message);
        Assert.Empty(server.Requests(f => f.CallAnswer));
    }

    [Fact]
    public async Task Rejecting_a_call_that_rings_here_sends_CallReject_and_ends_it()
    {
        var id = CallId.New();
        await using var server = new ScriptedServer(Ok) { PushAfterLogin = [Push(Offer(id, Bob, "offer"))] };
        await using var client = await WhatsAppClient.ConnectAsync(server.Options, ScriptedServer.Alice);
        await NextChangeAsync(client);

        await client.RejectCallAsync(id);

        Assert.Equal(id.Bytes, server.Requests(f => f.CallReject).Single().CallId);
        Assert.Equal(CallEnd.Rejected, (await NextChangeAsync(client)).EndReason);
    }

    [Fact]
    public async Task An_offer_made_on_another_own_device_is_shown_and_ends_when_the_callee_answers_it()
    {
        var id = CallId.New();
        var fromTablet = Signal(id, new CallDevice("alice", 2), s => s.Offer = new CallOffer { CallId = id.Bytes, ToUserId = "bob", Media = CallMedia.Video });
        await using var server = new ScriptedServer(Ok) { PushAfterLogin = [Push(fromTablet), Push(Hangup(id, CallEndReason.AnsweredElsewhere))] };
        await using var client = await WhatsAppClient.ConnectAsync(server.Options, ScriptedServer.Alice);

        var shown = await NextChangeAsync(client);
        Assert.Equal((CallDirection.Outgoing, true, "bob", CallMedia.Video), (shown.Direction, shown.OnOtherDevice, shown.Callee, shown.Media));
        Assert.Equal(CallEnd.AnsweredElsewhere, (await NextChangeAsync(client)).EndReason);
        Assert.Empty(server.Requests(f => f.CallRinging));
    }

    [Fact]
    public async Task A_group_call_rings_the_other_members_devices_connects_when_someone_joins_and_is_left()
    {
        await using var server = new ScriptedServer(f => f.PacketCase == Frame.PacketOneofCase.GetGroupInfo
            ? new Frame
            {
                GroupInfo = new GroupInfo
                {
                    GroupId = Group, Members = { new GroupMember { UserId = "alice" }, new GroupMember { UserId = "bob" }, new GroupMember { UserId = "carol" } },
                },
            }
            : new Frame { Ok = new Ok() });
        await using var proxy = new PushingProxy(server);
        await using var client = await WhatsAppClient.ConnectAsync(proxy.Options, ScriptedServer.Alice);

        var call = await client.StartGroupCallAsync(Group, CallMedia.Audio, "call key"u8.ToArray());

        var offer = server.Requests(f => f.CallOffer).Single();
        Assert.Equal((Group, ""), (offer.GroupId, offer.ToUserId));
        Assert.Equal(["bob/1", "carol/1"], offer.Offers.Select(o => $"{o.UserId}/{o.Device.DeviceId}"));
        Assert.All(offer.Offers, o => Assert.Equal("call key", o.Device.Ciphertext.ToStringUtf8()));
        Assert.Equal(CallState.Outgoing, (await NextChangeAsync(client)).State);

        await proxy.PushAsync(Signal(call.Id, new CallDevice("", 0), s => s.Participants = new CallParticipants
        {
            Participants = { new CallParticipant { UserId = "alice", DeviceId = 1 }, new CallParticipant { UserId = "bob", DeviceId = 1, Media = CallMedia.Video } },
        }, Group));
        var connected = await NextChangeAsync(client);
        Assert.Equal(CallState.Connected, connected.State);
        Assert.Equal([new CallMember("alice", 1, CallMedia.Unspecified), new CallMember("bob", 1, CallMedia.Video)], connected.Participants.ToArray());

        await proxy.PushAsync(Signal(call.Id, Bob, s => s.Answer = new CallAnswer { CallId = call.Id.Bytes, ToUserId = "alice", ToDeviceId = 1, Ciphertext = ByteString.CopyFromUtf8("bob's sdp") }, Group));
        var description = Assert.IsType<CallPeerMessage>(await NextCallEventAsync(client)); // no change of state
        Assert.Equal((Bob, CallPeerMessageKind.Description, "bob's sdp"), (description.From, description.Kind, description.Payload!.ToStringUtf8()));

        await client.SendDescriptionAsync(call.Id, Bob, "alice's sdp"u8.ToArray());
        var sent = server.Requests(f => f.CallAnswer).Single();
        Assert.Equal(("bob", 1u, "alice's sdp"), (sent.ToUserId, sent.ToDeviceId, sent.Ciphertext.ToStringUtf8()));

        await client.LeaveCallAsync(call.Id);
        Assert.Equal(call.Id.Bytes, server.Requests(f => f.LeaveCall).Single().CallId);
        Assert.Equal(CallEnd.HungUp, (await NextChangeAsync(client)).EndReason);
    }

    [Fact]
    public async Task Joining_a_group_call_that_rings_here_sends_JoinCall_and_a_full_call_leaves_it_ringing()
    {
        var id = CallId.New();
        var joins = 0;
        await using var server = new ScriptedServer(f => f.PacketCase == Frame.PacketOneofCase.JoinCall && Interlocked.Increment(ref joins) == 1
            ? new Frame { Error = new Error { Code = ErrorCode.CallFull, Message = "8 with video" } }
            : new Frame { Ok = new Ok() })
        {
            PushAfterLogin = [Push(Offer(id, Bob, "key", Group))],
        };
        await using var client = await WhatsAppClient.ConnectAsync(server.Options, ScriptedServer.Alice);
        var ringing = await NextChangeAsync(client);
        Assert.Equal((CallState.Incoming, Group), (ringing.State, ringing.GroupId));

        var full = await Assert.ThrowsAsync<ServerErrorException>(() => client.JoinCallAsync(id, Group, CallMedia.Video));
        Assert.Equal(ErrorCode.CallFull, full.Code);
        Assert.Equal(CallState.Incoming, Assert.Single(client.ActiveCalls).State);

        var joined = await client.JoinCallAsync(id, Group, CallMedia.Audio);

        Assert.Equal((CallState.Connected, CallMedia.Audio), (joined.State, joined.Media));
        Assert.Equal([CallMedia.Video, CallMedia.Audio], server.Requests(f => f.JoinCall).Select(j => j.Media));
        Assert.Equal(CallState.Connected, (await NextChangeAsync(client)).State);
        Assert.Empty(server.Requests(f => f.CallRinging)); // group calls are not rung back
    }

    [Fact]
    public async Task A_group_call_not_rung_here_is_joined_by_its_id()
    {
        var id = CallId.New();
        await using var server = new ScriptedServer(Ok);
        await using var client = await WhatsAppClient.ConnectAsync(server.Options, ScriptedServer.Alice);

        var joined = await client.JoinCallAsync(id, Group);

        Assert.Equal((id, CallState.Connected, Group), (joined.Id, joined.State, joined.GroupId));
        Assert.Equal(id.Bytes, server.Requests(f => f.JoinCall).Single().CallId);
        Assert.Equal(CallState.Connected, (await NextChangeAsync(client)).State);
    }

    [Fact]
    public async Task A_lost_connection_ends_the_calls_on_it_as_failed()
    {
        var id = CallId.New();
        await using var server = new ScriptedServer(f => f.PacketCase == Frame.PacketOneofCase.IceCandidate ? null : new Frame { Ok = new Ok() });
        await using var proxy = new PushingProxy(server);
        await using var client = await WhatsAppClient.ConnectAsync(proxy.Options, ScriptedServer.Alice);
        await proxy.PushAsync(Offer(id, Bob, "offer")); // not at login: the reconnect would be offered the call again
        await NextChangeAsync(client);
        await client.AnswerCallAsync(id, "answer"u8.ToArray());
        await NextChangeAsync(client);

        await Assert.ThrowsAsync<IOException>(() => client.SendIceCandidateAsync(id, "candidate"u8.ToArray())); // the node dies

        var failed = await NextChangeAsync(client);
        Assert.Equal((id, CallState.Ended, CallEnd.Failed), (failed.Id, failed.State, failed.EndReason));
        Assert.Empty(client.ActiveCalls);
    }

    [Fact]
    public async Task A_refused_offer_ends_the_call_as_failed_and_throws()
    {
        await using var server = new ScriptedServer(_ => new Frame { Error = new Error { Code = ErrorCode.Blocked, Message = "blocked" } });
        await using var client = await WhatsAppClient.ConnectAsync(server.Options, ScriptedServer.Alice);

        var refused = await Assert.ThrowsAsync<ServerErrorException>(() => client.StartCallAsync("bob", CallMedia.Audio, "offer"u8.ToArray()));

        Assert.Equal(ErrorCode.Blocked, refused.Code);
        Assert.Equal(CallState.Outgoing, (await NextChangeAsync(client)).State);
        Assert.Equal(CallEnd.Failed, (await NextChangeAsync(client)).EndReason);
        Assert.Empty(client.ActiveCalls);
    }

    [Fact]
    public async Task Hanging_up_a_call_the_server_no_longer_has_ends_it_here_quietly()
    {
        var id = CallId.New();
        await using var server = new ScriptedServer(f => f.PacketCase == Frame.PacketOneofCase.CallHangup
            ? new Frame { Error = new Error { Code = ErrorCode.NotFound } }
            : new Frame { Ok = new Ok() })
        {
            PushAfterLogin = [Push(Offer(id, Bob, "offer"))],
        };
        await using var client = await WhatsAppClient.ConnectAsync(server.Options, ScriptedServer.Alice);
        await NextChangeAsync(client);
        await client.AnswerCallAsync(id, "answer"u8.ToArray());
        await NextChangeAsync(client);

        await client.HangupAsync(id);

        Assert.Equal(CallEnd.HungUp, (await NextChangeAsync(client)).EndReason);
    }

    [Fact]
    public async Task Actions_that_do_not_fit_the_call_throw_before_anything_is_sent()
    {
        var id = CallId.New();
        await using var server = new ScriptedServer(Ok) { PushAfterLogin = [Push(Offer(id, Bob, "offer"))] };
        await using var client = await WhatsAppClient.ConnectAsync(server.Options, ScriptedServer.Alice);
        await NextChangeAsync(client);
        await server.ReceiveAsync(f => f.CallRinging is not null);

        await Assert.ThrowsAsync<InvalidOperationException>(() => client.HangupAsync(id)); // it rings: reject it
        await Assert.ThrowsAsync<InvalidOperationException>(() => client.LeaveCallAsync(id)); // not a group call
        await Assert.ThrowsAsync<InvalidOperationException>(() => client.SendDescriptionAsync(id, Bob, "x"u8.ToArray()));
        await Assert.ThrowsAsync<InvalidOperationException>(() => client.RejectCallAsync(CallId.New()));
        await Assert.ThrowsAsync<ArgumentException>(() => client.JoinCallAsync(id, Group));

        Assert.DoesNotContain(server.Received, f => f.PacketCase is Frame.PacketOneofCase.CallHangup or Frame.PacketOneofCase.LeaveCall
            or Frame.PacketOneofCase.CallAnswer or Frame.PacketOneofCase.CallReject or Frame.PacketOneofCase.JoinCall);
        Assert.Equal(CallState.Incoming, Assert.Single(client.ActiveCalls).State);
    }

    [Fact]
    public async Task Ringing_and_busy_can_be_sent_by_the_application_too()
    {
        var id = CallId.New();
        await using var server = new ScriptedServer(Ok) { PushAfterLogin = [Push(Offer(id, Bob, "offer"))] };
        await using var client = await WhatsAppClient.ConnectAsync(server.Options, ScriptedServer.Alice);
        await NextChangeAsync(client);

        await client.RingingAsync(id);
        await client.BusyAsync(id);

        Assert.All(server.Requests(f => f.CallRinging), r => Assert.Equal((id.Bytes, "bob"), (r.CallId, r.ToUserId)));
        Assert.Equal((id.Bytes, "bob"), (server.Requests(f => f.CallBusy).Single().CallId, server.Requests(f => f.CallBusy).Single().ToUserId));
        Assert.Equal(CallEnd.Busy, (await NextChangeAsync(client)).EndReason);
    }

    [Fact]
    public async Task Relays_and_their_credentials_come_from_GetCallRelays()
    {
        await using var server = new ScriptedServer(_ => new Frame
        {
            CallRelays = new CallRelays
            {
                ExpiresAt = 1_700_000_000_000,
                Relays = { new CallRelay { Urls = { "turn:relay.example.com:3478?transport=udp" }, Username = "1700000000:alice", Credential = "c2VjcmV0" } },
            },
        });
        await using var client = await WhatsAppClient.ConnectAsync(server.Options, ScriptedServer.Alice);

        var relays = await client.GetCallRelaysAsync();

        Assert.Equal("1700000000:alice", relays.Relays.Single().Username);
        Assert.Single(server.Requests(f => f.GetCallRelays));
    }

    [Fact]
    public async Task With_encryption_the_offer_and_the_answer_travel_end_to_end()
    {
        using var bobKeys = KeyStore.Open(Path.Combine(_folder, "bob.db"));
        var bob = new EndToEnd(bobKeys, "bob", 1);
        var bobUpload = bob.FullUpload(DateTimeOffset.UtcNow);
        await using var server = new ScriptedServer(f => f.PacketCase == Frame.PacketOneofCase.FetchPreKeyBundles
            ? new Frame
            {
                PreKeyBundles = new PreKeyBundles
                {
                    UserId = "bob",
                    Bundles =
                    {
                        new PreKeyBundle
                        {
                            DeviceId = 1, RegistrationId = bobUpload.RegistrationId, IdentityKey = bobUpload.IdentityKey, SignedPrekey = bobUpload.SignedPrekey,
                            OneTimePrekey = bobUpload.OneTimePrekeys[0], KemPrekey = bobUpload.OneTimeKemPrekeys[0],
                        },
                    },
                },
            }
            : new Frame { Ok = new Ok() });
        await using var proxy = new PushingProxy(server);
        using var aliceKeys = KeyStore.Open(Path.Combine(_folder, "alice.db"));
        await using var client = await WhatsAppClient.ConnectAsync(proxy.Options with { Keys = aliceKeys }, ScriptedServer.Alice);

        var call = await client.StartCallAsync("bob", CallMedia.Audio, "v=0 secret offer"u8.ToArray());

        var entry = server.Requests(f => f.CallOffer).Single().Offers.Single();
        Assert.Equal(CiphertextType.PrekeyMessage, entry.Device.Type);
        Assert.DoesNotContain("secret", System.Text.Encoding.UTF8.GetString(entry.Device.Ciphertext.ToByteArray()));
        Assert.Equal("v=0 secret offer", bob.Decrypt("alice", 1, entry.Device.Type, entry.Device.Ciphertext).Content.Body.ToStringUtf8());

        var sealedAnswer = bob.Encrypt("alice", 1, new E2eContent { Body = ByteString.CopyFromUtf8("v=0 secret answer") });
        await proxy.PushAsync(Signal(call.Id, Bob, s => s.Answer = new CallAnswer { CallId = call.Id.Bytes, ToUserId = "alice", ToDeviceId = 1, Ciphertext = sealedAnswer.ToByteString() }));
        Assert.Equal(CallState.Outgoing, (await NextChangeAsync(client)).State);
        Assert.Equal(CallState.Connected, (await NextChangeAsync(client)).State);
        var answer = Assert.IsType<CallPeerMessage>(await NextCallEventAsync(client));
        Assert.Equal("v=0 secret answer", answer.Payload!.ToStringUtf8());

        // Alice's candidate is sealed for bob's device the same way: a serialized DeviceCiphertext.
        await client.SendIceCandidateAsync(call.Id, "candidate:secret"u8.ToArray());
        var ice = DeviceCiphertext.Parser.ParseFrom(server.Requests(f => f.IceCandidate).Single().Ciphertext);
        Assert.Equal("candidate:secret", bob.Decrypt("alice", 1, ice.Type, ice.Ciphertext).Content.Body.ToStringUtf8());

        // What cannot be decrypted still arrives, without a payload.
        await proxy.PushAsync(Signal(call.Id, Bob, s => s.IceCandidate = new IceCandidate { CallId = call.Id.Bytes, Ciphertext = ByteString.CopyFromUtf8("garbage") }));
        Assert.Null(Assert.IsType<CallPeerMessage>(await NextCallEventAsync(client)).Payload);
    }
}
