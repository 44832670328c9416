using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using Akka.WhatsApp.Client;
using Akka.WhatsApp.Protocol;
using Akka.WhatsApp.Protocol.Framing;

namespace Akka.WhatsApp.Cli;

/// <summary>
/// Lets other `wa` commands of the same profile use the device's one connection while `wa listen` or `wa chat` holds
/// it: the server allows one connection per device and closes the older one with DEVICE_REPLACED (PROTOCOL.md §6), so a
/// `wa send` of its own would end the running listener. The holder listens on a loopback port named in the profile
/// (relay.json, mode 600) and speaks the wire protocol there: Hello and Login (with the device's own token) are answered
/// locally, every request is sent on the holder's connection and its answer relayed. Pushes are not relayed: the holder
/// stores and shows them.
/// </summary>
public sealed class LocalRelay : IAsyncDisposable
{
    private const string FileName = "relay.json";

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly WhatsAppClient _client;
    private readonly string _file;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    private sealed record Address(int Port, int Pid);

    private LocalRelay(string folder, WhatsAppClient client)
    {
        _client = client;
        _file = Path.Combine(folder, FileName);
        _listener.Start();
        var address = new Address(((IPEndPoint)_listener.LocalEndpoint).Port, Environment.ProcessId);
        File.WriteAllText(_file, JsonSerializer.Serialize(address));
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(_file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        _accepting = AcceptAsync();
    }

    /// <summary>Offers <paramref name="client"/>'s connection to the profile's other commands until disposed.</summary>
    public static LocalRelay Start(string folder, WhatsAppClient client) => new(folder, client);

    /// <summary>The port of a relay running for the profile in <paramref name="folder"/>, if one answers.</summary>
    public static int? Find(string folder)
    {
        var file = Path.Combine(folder, FileName);
        if (!File.Exists(file))
            return null;
        try
        {
            var address = JsonSerializer.Deserialize<Address>(File.ReadAllText(file));
            if (address is null)
                return null;
            using var probe = new TcpClient();
            probe.Connect(IPAddress.Loopback, address.Port);
            return address.Port;
        }
        catch (Exception e) when (e is SocketException or IOException or JsonException)
        {
            return null; // left behind by a process that is gone
        }
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient peer;
            try
            {
                peer = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            _ = ServeAsync(peer);
        }
    }

    private async Task ServeAsync(TcpClient peer)
    {
        using (peer)
        {
            var stream = peer.GetStream();
            var reader = new FrameReader(stream);
            var writing = new SemaphoreSlim(1, 1);
            var loggedIn = false;
            async Task Write(Frame frame)
            {
                await writing.WaitAsync();
                try
                {
                    await stream.WriteFrameAsync(frame, _stop.Token);
                }
                finally
                {
                    writing.Release();
                }
            }
            try
            {
                while (await reader.ReadAsync(_stop.Token) is { } frame)
                {
                    var id = frame.RequestId;
                    switch (frame.PacketCase)
                    {
                        case Frame.PacketOneofCase.Hello:
                            await Write(new Frame
                            {
                                RequestId = id,
                                Welcome = new Welcome
                                {
                                    ServerTime = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), SessionId = "relay", ProtocolVersion = ProtocolVersion.Current,
                                    MaxFrame = FrameCodec.DefaultMaxFrameSize, HeartbeatIntervalSeconds = 30,
                                },
                            });
                            break;
                        case Frame.PacketOneofCase.Login:
                            loggedIn = Owns(frame.Login);
                            await Write(loggedIn
                                ? new Frame { RequestId = id, LoginOk = new LoginOk { UserId = frame.Login.UserId, DeviceId = frame.Login.DeviceId } }
                                : Refusal(id, ErrorCode.BadCredentials, "not this profile's device"));
                            break;
                        case Frame.PacketOneofCase.Ping:
                            await Write(new Frame { RequestId = id, Pong = new Pong { ClientTimestamp = frame.Ping.ClientTimestamp } });
                            break;
                        case Frame.PacketOneofCase.Ack:
                            break; // the holder acknowledges what it stored
                        case Frame.PacketOneofCase.Typing when loggedIn:
                            await _client.NotifyAsync(new Frame { Typing = frame.Typing }, _stop.Token);
                            break;
                        case var _ when !loggedIn:
                            await Write(Refusal(id, ErrorCode.Unauthenticated, "log in first"));
                            return;
                        default:
                            _ = RelayAsync(frame, Write);
                            break;
                    }
                }
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or FrameFormatException or SocketException)
            {
                // The command ended (or the relay is stopping): nothing to answer.
            }
        }
    }

    private bool Owns(Login login) =>
        login.UserId == _client.Credentials.UserId && login.DeviceId == _client.Credentials.DeviceId
        && CryptographicOperations.FixedTimeEquals(login.Token.Span, _client.Credentials.Token);

    /// <summary>One request on the holder's connection; its answer (or error) goes back under the command's request id.</summary>
    private async Task RelayAsync(Frame request, Func<Frame, Task> write)
    {
        var id = request.RequestId;
        var forwarded = request.Clone();
        forwarded.RequestId = 0;
        Frame answer;
        try
        {
            answer = await ToHolderAsync(forwarded);
        }
        catch (ServerErrorException e)
        {
            answer = new Frame { Error = e.Error };
        }
        catch (Exception e) when (e is IOException or TimeoutException or ObjectDisposedException)
        {
            answer = Refusal(0, ErrorCode.Unavailable, "the listening wa lost its connection; retry");
        }
        catch (OperationCanceledException)
        {
            return;
        }
        answer.RequestId = id;
        try
        {
            await write(answer);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // The command is gone.
        }
    }

    /// <summary>
    /// A message the command left for the holder to encrypt (<see cref="ClientOptions.EncryptedByRelay"/>: one PLAINTEXT
    /// ciphertext for device 0, which never leaves this machine) is sent through the holder's SDK, which holds the
    /// device's sessions; every other request goes to the server as it is.
    /// </summary>
    private async Task<Frame> ToHolderAsync(Frame request)
    {
        switch (request.PacketCase)
        {
            case Frame.PacketOneofCase.Send when request.Send is { Ciphertexts: [{ DeviceId: 0, Type: CiphertextType.Plaintext } only] } send:
                return new Frame
                {
                    SendResult = await _client.SendAsync(send.ToUserId, only.Ciphertext.Memory, send.Kind, send.MessageId.ToByteArray(),
                        send.TargetMessageId.IsEmpty ? null : send.TargetMessageId.ToByteArray(), _stop.Token, send.Silent),
                };
            case Frame.PacketOneofCase.GroupSend when request.GroupSend is { PerDevice.Items: [{ UserId: "", Device: { DeviceId: 0, Type: CiphertextType.Plaintext } only }] } post:
                return new Frame
                {
                    GroupSendResult = await _client.GroupSendAsync(post.GroupId, only.Ciphertext.Memory, post.Kind, post.MessageId.ToByteArray(), post.Mentions, _stop.Token,
                        post.TargetMessageId.IsEmpty ? null : post.TargetMessageId.ToByteArray()),
                };
            default:
                return await _client.RequestAsync(request, _stop.Token);
        }
    }

    private static Frame Refusal(uint id, ErrorCode code, string message) => new() { RequestId = id, Error = new Error { Code = code, Message = message } };

    public async ValueTask DisposeAsync()
    {
        try
        {
            File.Delete(_file);
        }
        catch (IOException)
        {
        }
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }
}
