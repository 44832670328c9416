using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Polly;
using Polly.Retry;

namespace Akka.WhatsApp.Cluster.Notifications;

/// <summary>What the push and SMS providers share: an HTTP client that may trust one more certificate, and retries with backoff.</summary>
public static class ProviderHttp
{
    /// <summary>
    /// A client for one provider. <paramref name="trust"/> (a PEM file; WA_PUSH_CA) is trusted besides the system's roots: a
    /// TLS-inspecting proxy in front of the provider, or the local provider servers of the tests.
    /// </summary>
    public static HttpClient Client(string? trust, TimeSpan timeout) => new(Handler(trust)) { Timeout = timeout };

    /// <summary>The handler of <see cref="Client"/>: pooled HTTP/1.1 and HTTP/2 connections, trusting <paramref name="trust"/> too.</summary>
    public static SocketsHttpHandler Handler(string? trust)
    {
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            PooledConnectionLifetime = TimeSpan.FromMinutes(30),
            ConnectTimeout = TimeSpan.FromSeconds(10),
        };
        if (trust is not null)
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(trust);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
            {
                if (errors == SslPolicyErrors.None)
                    return true;
                if (certificate is null || chain is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
                    return false;
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.AddRange(roots);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(new X509Certificate2(certificate));
            };
        }
        return handler;
    }

    /// <summary>
    /// Retries what a provider asks to retry (429 and 5xx, or no answer at all) with exponential backoff and jitter,
    /// waiting at least what its Retry-After says (capped), up to <paramref name="attempts"/> retries.
    /// </summary>
    public static ResiliencePipeline<HttpResponseMessage> Retries(int attempts, TimeSpan firstDelay, TimeProvider time) =>
        new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = time }
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = attempts,
                Delay = firstDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                MaxDelay = TimeSpan.FromSeconds(30),
                ShouldHandle = new PredicateBuilder<HttpResponseMessage>()
                    .Handle<HttpRequestException>()
                    .Handle<TaskCanceledException>()
                    .HandleResult(r => r.StatusCode == HttpStatusCode.TooManyRequests || (int)r.StatusCode >= 500),
                DelayGenerator = args =>
                {
                    var after = args.Outcome.Result?.Headers.RetryAfter;
                    var wait = after?.Delta ?? (after?.Date is { } date ? date - time.GetUtcNow() : null);
                    return ValueTask.FromResult(wait is { } w && w > TimeSpan.Zero ? TimeSpan.FromTicks(Math.Min(w.Ticks, TimeSpan.FromSeconds(30).Ticks)) : (TimeSpan?)null);
                },
                OnRetry = args =>
                {
                    args.Outcome.Result?.Dispose();
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
}
