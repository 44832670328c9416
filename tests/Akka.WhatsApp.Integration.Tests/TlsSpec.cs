using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Akka.WhatsApp.Client;
using Akka.WhatsApp.Host;
using Akka.WhatsApp.Protocol;
using Xunit;

namespace Akka.WhatsApp.Integration.Tests;

/// <summary>The edge with a configured certificate speaks TLS only; the framing inside is the same.</summary>
public sealed class TlsSpec
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_node_with_a_certificate_serves_the_protocol_over_TLS_and_refuses_plain_TCP()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var pfx = Path.Combine(Directory.CreateTempSubdirectory("wa-tls-").FullName, "edge.pfx");
        await File.WriteAllBytesAsync(pfx, certificate.Export(X509ContentType.Pfx, "secret"));

        var settings = await TestNodes.SettingsAsync(JournalKind.Sqlite) with { TlsCertificatePath = pfx, TlsCertificatePassword = "secret" };
        await using var node = await TestNodes.StartAsync(settings);
        var port = (await node.EdgeEndpoint).Port;
        var thumbprint = certificate.Thumbprint;
        var tls = new TlsOptions("localhost", (_, cert, _, _) => cert is not null && new X509Certificate2(cert).Thumbprint == thumbprint);

        await using (var secure = await WhatsAppConnection.ConnectAsync("127.0.0.1", port, tls: tls))
        {
            var welcome = await secure.HelloAsync().WaitAsync(Wait);
            Assert.Equal(ProtocolVersion.Current, welcome.ProtocolVersion);
        }

        // The SDK registers over TLS too.
        var options = new ClientOptions("127.0.0.1", port) { Tls = tls };
        var phone = TestUsers.NewPhone();
        await WhatsAppClient.RequestCodeAsync(options, phone);
        var (credentials, isNew) = await WhatsAppClient.VerifyAsync(options, phone, await TestUsers.CodeFromDevGatewayAsync(node, phone));
        Assert.True(isNew);
        Assert.Equal(1u, credentials.DeviceId);

        await using var plain = await WhatsAppConnection.ConnectAsync("127.0.0.1", port);
        await Assert.ThrowsAnyAsync<Exception>(() => plain.HelloAsync().WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task A_PEM_certificate_and_key_as_a_Kubernetes_TLS_Secret_holds_them_serve_TLS_1_2_or_newer_and_a_plaintext_client_is_closed_at_once()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var folder = Directory.CreateTempSubdirectory("wa-tls-pem-").FullName;
        var (crt, pem) = (Path.Combine(folder, "tls.crt"), Path.Combine(folder, "tls.key"));
        await File.WriteAllTextAsync(crt, certificate.ExportCertificatePem());
        await File.WriteAllTextAsync(pem, key.ExportPkcs8PrivateKeyPem());

        var settings = await TestNodes.SettingsAsync(JournalKind.Sqlite) with { TlsCertificatePath = crt, TlsKeyPath = pem };
        await using var node = await TestNodes.StartAsync(settings);
        var port = (await node.EdgeEndpoint).Port;

        // The handshake offers only what the edge allows: 1.2 and 1.3; whatever is agreed is one of them.
        using (var tcp = new System.Net.Sockets.TcpClient())
        {
            await tcp.ConnectAsync("127.0.0.1", port);
            await using var tls = new System.Net.Security.SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
            await tls.AuthenticateAsClientAsync("localhost").WaitAsync(Wait);
            Assert.True(tls.SslProtocol is System.Security.Authentication.SslProtocols.Tls12 or System.Security.Authentication.SslProtocols.Tls13,
                $"negotiated {tls.SslProtocol}");
            Assert.Equal(certificate.Thumbprint, new X509Certificate2(tls.RemoteCertificate!).Thumbprint);
        }

        // A client that speaks the protocol in plaintext gets its connection closed, not a hang until the handshake timeout.
        using var plain = new System.Net.Sockets.TcpClient();
        await plain.ConnectAsync("127.0.0.1", port);
        var stream = plain.GetStream();
        await stream.WriteAsync(new byte[] { 0, 0, 0, 12, 10, 10, 8, 1, 18, 6, 116, 101, 115, 116, 101, 114 });
        int read;
        try
        {
            read = await stream.ReadAsync(new byte[256]).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (IOException)
        {
            read = 0; // reset by the server: closed as well
        }
        Assert.Equal(0, read); // a TimeoutException instead: the plaintext connection stayed open
    }
}
