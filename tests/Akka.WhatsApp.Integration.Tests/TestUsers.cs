using Akka.WhatsApp.Client;
using Akka.WhatsApp.Host;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;

namespace Akka.WhatsApp.Integration.Tests;

/// <summary>Registers users the way a client does: RequestCode, the development gateway's code, VerifyCode.</summary>
public static class TestUsers
{
    private static int _next = Random.Shared.Next(1_000_000);

    public static string NewPhone() => "+1555" + Interlocked.Increment(ref _next).ToString("D7", System.Globalization.CultureInfo.InvariantCulture);

    public static async Task<string> CodeFromDevGatewayAsync(WhatsAppNode node, string phone) =>
        await DevelopmentCodes.FetchAsync(node.ManagementUri, phone) ?? throw new InvalidOperationException($"the node sent no code to {phone}");

    public static async Task<Credentials> RegisterAsync(WhatsAppNode node, string? phone = null)
    {
        phone ??= NewPhone();
        var options = await OptionsAsync(node);
        await WhatsAppClient.RequestCodeAsync(options, phone);
        var code = await CodeFromDevGatewayAsync(node, phone);
        return (await WhatsAppClient.VerifyAsync(options, phone, code)).Credentials;
    }

    /// <summary>Registers <paramref name="count"/> users, a few at a time.</summary>
    public static async Task<Credentials[]> RegisterManyAsync(WhatsAppNode node, int count, int parallel = 16)
    {
        using var gate = new SemaphoreSlim(parallel);
        return await Task.WhenAll(Enumerable.Range(0, count).Select(async _ =>
        {
            await gate.WaitAsync();
            try
            {
                return await RegisterAsync(node);
            }
            finally
            {
                gate.Release();
            }
        }));
    }

    /// <summary>
    /// Logs in over a bare connection (no SDK deduplication) and returns every Deliver the server pushes before
    /// QueueEmpty, without acknowledging: exactly what the user's mailbox holds for this device.
    /// </summary>
    public static async Task<List<Deliver>> RawBacklogAsync(WhatsAppNode node, Credentials user)
    {
        await using var connection = await WhatsAppConnection.ConnectAsync("127.0.0.1", (await node.EdgeEndpoint).Port);
        await connection.HelloAsync();
        var reply = await connection.RequestAsync(new Frame
        {
            Login = new Login { UserId = user.UserId, DeviceId = user.DeviceId, Token = ByteString.CopyFrom(user.Token) },
        });
        if (reply.PacketCase != Frame.PacketOneofCase.LoginOk)
            throw new InvalidOperationException($"login answered {reply.PacketCase}");
        var got = new List<Deliver>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await foreach (var push in connection.Pushes.ReadAllAsync(cts.Token))
        {
            if (push.PacketCase == Frame.PacketOneofCase.QueueEmpty)
                return got;
            if (push.PacketCase == Frame.PacketOneofCase.Deliver)
                got.Add(push.Deliver);
        }
        throw new InvalidOperationException("the connection closed before QueueEmpty");
    }

    public static async Task<ClientOptions> OptionsAsync(WhatsAppNode node) =>
        new("127.0.0.1", (await node.EdgeEndpoint).Port) { RequestTimeout = TimeSpan.FromSeconds(20), MinReconnectDelay = TimeSpan.FromMilliseconds(100) };

    public static async Task<WhatsAppClient> ConnectAsync(WhatsAppNode node, Credentials credentials, ulong lastAcked = 0) =>
        await WhatsAppClient.ConnectAsync(await OptionsAsync(node), credentials, lastAcked);

    /// <summary>Reads events until <paramref name="count"/> of type <typeparamref name="T"/> arrived, failing with what came instead.</summary>
    public static async Task<List<T>> NextAsync<T>(this WhatsAppClient client, int count = 1, TimeSpan? timeout = null) where T : ClientEvent
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(20));
        var got = new List<T>();
        var other = new List<string>();
        try
        {
            while (got.Count < count && await client.Events.WaitToReadAsync(cts.Token))
                while (got.Count < count && client.Events.TryRead(out var e))
                    if (e is T t)
                        got.Add(t);
                    else
                        other.Add(e.GetType().Name);
        }
        catch (OperationCanceledException)
        {
        }
        if (got.Count < count)
            throw new TimeoutException($"expected {count} {typeof(T).Name}, got {got.Count}; other events: {string.Join(", ", other)}");
        return got;
    }

    /// <summary>Asserts that no event of type <typeparamref name="T"/> arrives within <paramref name="wait"/>.</summary>
    public static async Task<List<ClientEvent>> DrainAsync(this WhatsAppClient client, TimeSpan wait)
    {
        var got = new List<ClientEvent>();
        using var cts = new CancellationTokenSource(wait);
        try
        {
            while (await client.Events.WaitToReadAsync(cts.Token))
                while (client.Events.TryRead(out var e))
                    got.Add(e);
        }
        catch (OperationCanceledException)
        {
        }
        return got;
    }

    public static string Text(this MessageReceived m) => m.Deliver.Ciphertext.ToStringUtf8();

    public static ReadOnlyMemory<byte> Payload(string text) => System.Text.Encoding.UTF8.GetBytes(text);
}
