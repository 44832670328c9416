using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Akka.WhatsApp.LoadTest.Core;

/// <summary>
/// `LoadTest push-sink --dir D --port P`: a stand-in for APNs for the push benchmark (the real one cannot be reached
/// from here). It writes D/apns.p8 (a fresh P-256 team key) and D/ca.pem (its self-signed certificate) for the server's
/// WA_APNS_KEY_FILE and WA_PUSH_CA, then answers <c>POST /3/device/{token}</c> over HTTP/2 with TLS as APNs does (200),
/// noting when each token was pushed; <c>GET /arrivals</c> hands those times (unix ms) to the push scenario. It runs
/// until stopped. It does not check the provider token's signature: the tests' APNs server does.
/// </summary>
public static class PushSink
{
    public const string KeyId = "BENCHKEY01";
    public const string TeamId = "BENCHTEAM1";
    public const string Topic = "bench.wa";

    public static async Task<int> RunAsync(IReadOnlyDictionary<string, string> options, CancellationToken cancellationToken = default)
    {
        var dir = options.GetValueOrDefault("dir") ?? throw new ArgumentException("push-sink needs --dir");
        var port = int.Parse(options.GetValueOrDefault("port", "18443"), System.Globalization.CultureInfo.InvariantCulture);
        Directory.CreateDirectory(dir);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var certificate = LoopbackCertificate("wa-bench-push-sink");
        var arrivals = new ConcurrentDictionary<string, long>();

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.Http2.MaxStreamsPerConnection = 1000;
            k.Listen(IPAddress.Loopback, port, listen =>
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                listen.UseHttps(certificate);
            });
        });
        var app = builder.Build();
        app.MapPost("/3/device/{token}", (string token) =>
        {
            arrivals.TryAdd(token, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            return Results.Ok();
        });
        app.MapGet("/arrivals", () => Results.Json(arrivals));
        await app.StartAsync(cancellationToken);
        // The files last: their presence tells the bench script that the sink listens.
        await File.WriteAllTextAsync(Path.Combine(dir, "apns.p8"), key.ExportPkcs8PrivateKeyPem(), cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(dir, "ca.pem"), certificate.ExportCertificatePem(), cancellationToken);
        Console.Error.WriteLine($"push-sink: APNs stand-in on https://127.0.0.1:{port}, key and certificate in {dir}");
        // Until SIGTERM or Ctrl-C: the host's console lifetime turns them into a stop.
        await app.WaitForShutdownAsync(cancellationToken);
        return 0;
    }

    /// <summary>A self-signed TLS certificate for 127.0.0.1 and localhost, with its key, that is its own root (trusted as a PEM file).</summary>
    public static X509Certificate2 LoopbackCertificate(string name)
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=" + name, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(2));
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);
    }
}
