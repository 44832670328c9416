using Akka.WhatsApp.Client;
using Akka.WhatsApp.Host;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;
using Xunit;

namespace Akka.WhatsApp.Integration.Tests;

/// <summary>
/// One device logged in over a bare connection: no SDK, so every push is visible and nothing is acknowledged or
/// deduplicated behind the test's back. The protocol specs (calls, status, scheduled sends) talk through these.
/// </summary>
public sealed record BareDevice(Credentials Credentials, WhatsAppConnection Connection)
{
    public string User => Credentials.UserId;

    public uint Id => Credentials.DeviceId;

    /// <summary>Hello and Login on a new connection to <paramref name="node"/>; the caller disposes the connection.</summary>
    public static async Task<BareDevice> LoginAsync(WhatsAppNode node, Credentials credentials, string client)
    {
        var connection = await WhatsAppConnection.ConnectAsync("127.0.0.1", (await node.EdgeEndpoint).Port);
        await connection.HelloAsync(client, platform: Platform.Desktop);
        var reply = await connection.RequestAsync(new Frame
        {
            Login = new Login { UserId = credentials.UserId, DeviceId = credentials.DeviceId, Token = ByteString.CopyFrom(credentials.Token) },
        });
        Assert.Equal(Frame.PacketOneofCase.LoginOk, reply.PacketCase);
        return new BareDevice(credentials, connection);
    }
}
