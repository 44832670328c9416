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
}
