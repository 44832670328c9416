using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Akka.WhatsApp.Domain.Calls;
using Xunit;

namespace Akka.WhatsApp.Integration.Tests;

/// <summary>
/// The TURN credentials the server hands out, checked by a real relay: the coturn that ./build.sh test starts
/// (scripts/coturn.sh, REST API auth with the secret in WA_TEST_TURN_SECRET). A TURN Allocate (RFC 5766) with a
/// credential from <see cref="TurnCredentials.Issue"/> gets a relayed address; an altered or expired one gets 401.
/// </summary>
public sealed class TurnSpec
{
    private const string ServerVariable = "WA_TEST_TURN";
    private const string SecretVariable = "WA_TEST_TURN_SECRET";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan Ttl = TimeSpan.FromMinutes(10);

    private static IPEndPoint Relay => IPEndPoint.Parse(Required(ServerVariable, "host:port"));

    private static string Secret => Required(SecretVariable, "static-auth-secret");

    private static string Required(string variable, string what) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"This test needs a TURN relay and {variable} is not set. Run the tests through ./build.sh test, which starts coturn " +
                $"(scripts/coturn.sh), or start turnserver with --use-auth-secret and set {ServerVariable} (host:port) and " +
                $"{SecretVariable} (its {what}).");

    private static string NewUser() => $"turn-{Guid.NewGuid():N}";

    [Theory]
    [InlineData(TurnTransport.Udp)]
    [InlineData(TurnTransport.Tcp)]
    public async Task A_credential_the_server_issued_allocates_a_relayed_address(TurnTransport transport)
    {
        var credential = TurnCredentials.Issue(Secret, NewUser(), DateTimeOffset.UtcNow, Ttl);

        var outcome = await AllocateAsync(transport, credential.Username, credential.Credential);

        Assert.True(outcome.Allocated, $"coturn refused a fresh credential: {outcome}");
        Assert.Equal(IPAddress.Loopback, outcome.Relayed!.Address); // scripts/coturn.sh relays on 127.0.0.1
        Assert.NotEqual(0, outcome.Relayed.Port);
    }

    [Fact]
    public async Task GetCallRelays_on_a_node_configured_with_the_relay_hands_out_credentials_it_accepts()
    {
        var settings = await TestNodes.SettingsAsync(Host.JournalKind.Sqlite) with
        {
            Turn = new TurnSettings([$"turn:{Relay}?transport=udp", $"turn:{Relay}?transport=tcp"], Secret, TimeSpan.FromHours(1)),
        };
        await using var node = await TestNodes.StartAsync(settings);
        await using var client = await TestUsers.ConnectAsync(node, await TestUsers.RegisterAsync(node));

        var before = DateTimeOffset.UtcNow;
        var relays = (await client.RequestAsync(new Protocol.Frame { GetCallRelays = new Protocol.GetCallRelays() })).CallRelays;
        var relay = Assert.Single(relays.Relays);
        Assert.Equal(settings.Turn.Urls, relay.Urls);
        Assert.EndsWith(":" + client.Credentials.UserId, relay.Username);
        Assert.InRange(DateTimeOffset.FromUnixTimeMilliseconds((long)relays.ExpiresAt), before.AddMinutes(59), before.AddMinutes(61));
        Assert.True((await AllocateAsync(TurnTransport.Udp, relay.Username, relay.Credential)).Allocated, "coturn refused what GetCallRelays handed out");

        // A node without relays answers with none (clients then go peer to peer, or fail where a relay is needed).
        await using var plain = await TestNodes.StartAsync(await TestNodes.SettingsAsync(Host.JournalKind.Sqlite));
        await using var other = await TestUsers.ConnectAsync(plain, await TestUsers.RegisterAsync(plain));
        Assert.Empty((await other.RequestAsync(new Protocol.Frame { GetCallRelays = new Protocol.GetCallRelays() })).CallRelays.Relays);
    }

    [Fact]
    public async Task An_altered_password_or_a_username_whose_expiry_was_pushed_back_is_refused()
    {
        var credential = TurnCredentials.Issue(Secret, NewUser(), DateTimeOffset.UtcNow, Ttl);
        var password = credential.Credential;
        var altered = (password[0] == 'A' ? 'B' : 'A') + password[1..];
        var (expiry, user) = (credential.ExpiresAt.ToUnixTimeSeconds(), credential.Username[(credential.Username.IndexOf(':') + 1)..]);
        var later = $"{expiry + 86_400}:{user}";

        AssertRefused(await AllocateAsync(TurnTransport.Udp, credential.Username, altered), "an altered password");
        AssertRefused(await AllocateAsync(TurnTransport.Udp, later, password), "a username with a later expiry and the original password");
        // The same user with the credential as issued is allocated: the refusals above are the credential's, not the user's.
        Assert.True((await AllocateAsync(TurnTransport.Udp, credential.Username, password)).Allocated, "the credential as issued was refused");
    }

    [Fact]
    public async Task An_expired_credential_is_refused()
    {
        var user = NewUser();
        var expired = TurnCredentials.Issue(Secret, user, DateTimeOffset.UtcNow - TimeSpan.FromHours(2), TimeSpan.FromHours(1));
        Assert.True(expired.ExpiresAt < DateTimeOffset.UtcNow, $"the credential should have expired at {expired.ExpiresAt:O}");

        AssertRefused(await AllocateAsync(TurnTransport.Udp, expired.Username, expired.Credential), "a credential that expired an hour ago");
        var fresh = TurnCredentials.Issue(Secret, user, DateTimeOffset.UtcNow, Ttl);
        Assert.True((await AllocateAsync(TurnTransport.Udp, fresh.Username, fresh.Credential)).Allocated, "a fresh credential for the same user was refused");
    }

    private static void AssertRefused(AllocateOutcome outcome, string what)
    {
        Assert.False(outcome.Allocated, $"coturn allocated a relay for {what}: {outcome}");
        Assert.True(outcome.ErrorCode == 401, $"coturn should refuse {what} with 401 Unauthorized: {outcome}");
    }

    private static async Task<AllocateOutcome> AllocateAsync(TurnTransport transport, string username, string password)
    {
        using var timeout = new CancellationTokenSource(Wait);
        try
        {
            return await TurnAllocate.RunAsync(Relay, transport, username, password, timeout.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            throw new TimeoutException($"coturn at {Relay} ({transport}) did not complete an Allocate within {Wait.TotalSeconds} s");
        }
        catch (SocketException e)
        {
            throw new InvalidOperationException($"coturn at {Relay} ({transport}) could not be reached ({e.SocketErrorCode}): is it running? ./build.sh test starts it", e);
        }
    }

    /// <summary>How the client reaches the relay; the relayed address is UDP either way.</summary>
    public enum TurnTransport
    {
        Udp,
        Tcp,
    }

    /// <summary>What a relay answered to an authenticated Allocate: the relayed address, or the error it refused with.</summary>
    private sealed record AllocateOutcome(IPEndPoint? Relayed, int ErrorCode, string Reason)
    {
        public bool Allocated => Relayed is not null;

        public override string ToString() => Allocated ? $"allocated {Relayed}" : $"error {ErrorCode} {Reason}";
    }

    /// <summary>
    /// A minimal TURN client, just enough to ask for one allocation with long-term credentials (RFC 5389 §10.2, RFC 5766 §6):
    /// an Allocate without credentials draws 401 with the realm and a nonce, the second one carries USERNAME, REALM, NONCE
    /// and MESSAGE-INTEGRITY keyed with MD5(username:realm:password). Written here rather than driving turnutils_uclient,
    /// whose exit code does not tell a refused allocation from a failure later in its own peer test.
    /// </summary>
    private static class TurnAllocate
    {
        private const uint MagicCookie = 0x2112A442;
        private const ushort AllocateRequest = 0x0003;
        private const ushort AllocateSuccess = 0x0103;
        private const ushort AllocateError = 0x0113;
        private const ushort Username = 0x0006;
        private const ushort MessageIntegrity = 0x0008;
        private const ushort ErrorCodeAttribute = 0x0009;
        private const ushort Realm = 0x0014;
        private const ushort Nonce = 0x0015;
        private const ushort XorRelayedAddress = 0x0016;
        private const ushort RequestedTransport = 0x0019;
        private const byte UdpProtocol = 17;

        public static async Task<AllocateOutcome> RunAsync(IPEndPoint relay, TurnTransport transport, string username, string password, CancellationToken cancellationToken)
        {
            await using IStunChannel channel = transport == TurnTransport.Udp ? new UdpChannel(relay) : await TcpChannel.ConnectAsync(relay, cancellationToken);
            (ushort, byte[]) udp = (RequestedTransport, [UdpProtocol, 0, 0, 0]);

            var challenge = await channel.ExchangeAsync(Encode(AllocateRequest, [udp], key: null), cancellationToken);
            if (challenge.Type != AllocateError || ErrorOf(challenge).Code != 401 || challenge.Find(Realm) is null || challenge.Find(Nonce) is null)
                throw new InvalidOperationException($"an Allocate without credentials should draw 401 with REALM and NONCE, got type 0x{challenge.Type:x4} {ErrorOf(challenge)}");
            var realm = challenge.Find(Realm)!;
            var nonce = challenge.Find(Nonce)!;
            var key = MD5.HashData(Encoding.UTF8.GetBytes($"{username}:{Encoding.UTF8.GetString(realm)}:{password}"));

            // A 438 (stale nonce) hands out a fresh nonce to retry with; any other error is the answer.
            for (var attempt = 0; ; attempt++)
            {
                var reply = await channel.ExchangeAsync(
                    Encode(AllocateRequest, [udp, (Username, Encoding.UTF8.GetBytes(username)), (Realm, realm), (Nonce, nonce)], key), cancellationToken);
                if (reply.Type == AllocateSuccess)
                {
                    if (!reply.IntegrityMatches(key))
                        throw new InvalidOperationException("the Allocate success response carries no valid MESSAGE-INTEGRITY for our key");
                    var relayed = reply.Find(XorRelayedAddress) ?? throw new InvalidOperationException("the Allocate success response has no XOR-RELAYED-ADDRESS");
                    return new AllocateOutcome(DecodeXorAddress(relayed), 0, "");
                }
                if (reply.Type != AllocateError)
                    throw new InvalidOperationException($"unexpected STUN message type 0x{reply.Type:x4} in answer to an Allocate");
                var (code, reason) = ErrorOf(reply);
                if (code == 438 && attempt < 2 && reply.Find(Nonce) is { } fresh)
                {
                    nonce = fresh;
                    continue;
                }
                return new AllocateOutcome(null, code, reason);
            }
        }

        private static (int Code, string Reason) ErrorOf(StunMessage message) =>
            message.Find(ErrorCodeAttribute) is { Length: >= 4 } value
                ? ((value[2] & 0x07) * 100 + value[3], Encoding.UTF8.GetString(value, 4, value.Length - 4))
                : (0, "no ERROR-CODE");

        private static IPEndPoint DecodeXorAddress(byte[] value)
        {
            if (value.Length != 8 || value[1] != 0x01)
                throw new InvalidOperationException("expected an IPv4 XOR-RELAYED-ADDRESS");
            var port = BinaryPrimitives.ReadUInt16BigEndian(value.AsSpan(2)) ^ (ushort)(MagicCookie >> 16);
            var address = BinaryPrimitives.ReadUInt32BigEndian(value.AsSpan(4)) ^ MagicCookie;
            var bytes = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(bytes, address);
            return new IPEndPoint(new IPAddress(bytes), port);
        }

        /// <summary>A request with a fresh transaction id; with a key, MESSAGE-INTEGRITY last (RFC 5389 §15.4).</summary>
        private static byte[] Encode(ushort type, IReadOnlyList<(ushort Type, byte[] Value)> attributes, byte[]? key)
        {
            var body = new List<byte>();
            foreach (var (attributeType, value) in attributes)
            {
                var head = new byte[4];
                BinaryPrimitives.WriteUInt16BigEndian(head, attributeType);
                BinaryPrimitives.WriteUInt16BigEndian(head.AsSpan(2), (ushort)value.Length);
                body.AddRange(head);
                body.AddRange(value);
                body.AddRange(new byte[(4 - value.Length % 4) % 4]);
            }
            var header = new byte[20];
            BinaryPrimitives.WriteUInt16BigEndian(header, type);
            BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), MagicCookie);
            RandomNumberGenerator.Fill(header.AsSpan(8, 12));
            BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(2), (ushort)(body.Count + (key is null ? 0 : 24)));
            byte[] message = [.. header, .. body];
            if (key is null)
                return message;
            var integrity = new byte[24];
            BinaryPrimitives.WriteUInt16BigEndian(integrity, MessageIntegrity);
            BinaryPrimitives.WriteUInt16BigEndian(integrity.AsSpan(2), 20);
            HMACSHA1.HashData(key, message).CopyTo(integrity, 4);
            return [.. message, .. integrity];
        }
    }

    /// <summary>One STUN message as received: its type, transaction id and attributes with their offsets in <see cref="Raw"/>.</summary>
    private sealed class StunMessage(ushort type, byte[] raw, IReadOnlyList<(ushort Type, int Offset, byte[] Value)> attributes)
    {
        public ushort Type { get; } = type;
        public byte[] Raw { get; } = raw;
        public ReadOnlySpan<byte> TransactionId => Raw.AsSpan(8, 12);

        public byte[]? Find(ushort attributeType) => attributes.FirstOrDefault(a => a.Type == attributeType).Value;

        /// <summary>Whether MESSAGE-INTEGRITY is the HMAC-SHA1 of what precedes it, with the length the sender signed.</summary>
        public bool IntegrityMatches(byte[] key)
        {
            var (_, offset, value) = attributes.FirstOrDefault(a => a.Type == 0x0008);
            if (value is not { Length: 20 })
                return false;
            var signed = Raw[..offset];
            BinaryPrimitives.WriteUInt16BigEndian(signed.AsSpan(2), (ushort)(offset - 20 + 24));
            return CryptographicOperations.FixedTimeEquals(HMACSHA1.HashData(key, signed), value);
        }

        /// <summary>The message in <paramref name="datagram"/>, or null when it is not a well-formed STUN message.</summary>
        public static StunMessage? TryParse(byte[] datagram)
        {
            if (datagram.Length < 20 || BinaryPrimitives.ReadUInt32BigEndian(datagram.AsSpan(4)) != 0x2112A442)
                return null;
            var length = BinaryPrimitives.ReadUInt16BigEndian(datagram.AsSpan(2));
            if (datagram.Length != 20 + length)
                return null;
            var attributes = new List<(ushort, int, byte[])>();
            for (var at = 20; at + 4 <= datagram.Length;)
            {
                var attributeType = BinaryPrimitives.ReadUInt16BigEndian(datagram.AsSpan(at));
                var size = BinaryPrimitives.ReadUInt16BigEndian(datagram.AsSpan(at + 2));
                if (at + 4 + size > datagram.Length)
                    return null;
                attributes.Add((attributeType, at, datagram.AsSpan(at + 4, size).ToArray()));
                at += 4 + size + (4 - size % 4) % 4;
            }
            return new StunMessage(BinaryPrimitives.ReadUInt16BigEndian(datagram), datagram, attributes);
        }
    }

    /// <summary>Sends a request and returns the response with the same transaction id.</summary>
    private interface IStunChannel : IAsyncDisposable
    {
        Task<StunMessage> ExchangeAsync(byte[] request, CancellationToken cancellationToken);
    }

    /// <summary>STUN over UDP: retransmitted with a doubling timeout from 250 ms (RFC 5389 §7.2.1), until the caller's deadline.</summary>
    private sealed class UdpChannel(IPEndPoint relay) : IStunChannel
    {
        private readonly Socket _socket = NewSocket(relay);

        private static Socket NewSocket(IPEndPoint relay)
        {
            var socket = new Socket(relay.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            socket.Connect(relay);
            return socket;
        }

        public async Task<StunMessage> ExchangeAsync(byte[] request, CancellationToken cancellationToken)
        {
            var buffer = new byte[2048];
            for (var rto = TimeSpan.FromMilliseconds(250); ; rto *= 2)
            {
                await _socket.SendAsync(request, SocketFlags.None, cancellationToken);
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                attempt.CancelAfter(rto);
                try
                {
                    while (true)
                    {
                        var read = await _socket.ReceiveAsync(buffer, SocketFlags.None, attempt.Token);
                        if (StunMessage.TryParse(buffer[..read]) is { } reply && reply.TransactionId.SequenceEqual(request.AsSpan(8, 12)))
                            return reply;
                    }
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    // no answer within this RTO: send again
                }
            }
        }

        public ValueTask DisposeAsync()
        {
            _socket.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>STUN over TCP (RFC 5389 §7.2.2): messages back to back, each framed by its own header's length.</summary>
    private sealed class TcpChannel(TcpClient client) : IStunChannel
    {
        private readonly NetworkStream _stream = client.GetStream();

        public static async Task<TcpChannel> ConnectAsync(IPEndPoint relay, CancellationToken cancellationToken)
        {
            var client = new TcpClient(relay.AddressFamily);
            try
            {
                await client.ConnectAsync(relay, cancellationToken);
                return new TcpChannel(client);
            }
            catch
            {
                client.Dispose();
                throw;
            }
        }

        public async Task<StunMessage> ExchangeAsync(byte[] request, CancellationToken cancellationToken)
        {
            await _stream.WriteAsync(request, cancellationToken);
            while (true)
            {
                var header = new byte[20];
                await _stream.ReadExactlyAsync(header, cancellationToken);
                var message = new byte[20 + BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(2))];
                header.CopyTo(message, 0);
                await _stream.ReadExactlyAsync(message.AsMemory(20), cancellationToken);
                var reply = StunMessage.TryParse(message) ?? throw new InvalidOperationException("the relay sent a malformed STUN message over TCP");
                if (reply.TransactionId.SequenceEqual(request.AsSpan(8, 12)))
                    return reply;
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stream.DisposeAsync();
            client.Dispose();
        }
    }
}
