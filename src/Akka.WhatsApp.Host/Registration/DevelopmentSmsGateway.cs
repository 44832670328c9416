using System.Collections.Concurrent;
using Akka.WhatsApp.Domain.Registration;
using Microsoft.Extensions.Logging;

namespace Akka.WhatsApp.Host.Registration;

/// <summary>
/// The development SMS gateway: logs each verification code and keeps the latest per number so that
/// GET /dev/verification-codes/{phone} can serve it to tests, the CLI and client authors.
/// On in the embedded default, off in production (WA_DEV_SMS=off). Codes live in this node's memory.
/// </summary>
public sealed class DevelopmentSmsGateway(ILogger<DevelopmentSmsGateway> log) : ISmsGateway
{
    private readonly ConcurrentDictionary<string, string> _latest = new(StringComparer.Ordinal);

    public Task SendCodeAsync(string phone, string code, CodeChannel channel, CancellationToken cancellationToken)
    {
        _latest[phone] = code;
        log.LogInformation("Development SMS gateway: verification code for {Phone} is {Code} ({Channel})", phone, code, channel);
        return Task.CompletedTask;
    }

    public string? LatestCode(string phone) => _latest.GetValueOrDefault(phone);
}

/// <summary>Used when no SMS provider is configured in production: refuses to pretend a code was sent.</summary>
public sealed class UnconfiguredSmsGateway : ISmsGateway
{
    public Task SendCodeAsync(string phone, string code, CodeChannel channel, CancellationToken cancellationToken) =>
        Task.FromException(new InvalidOperationException(
            "no SMS gateway is configured: set WA_DEV_SMS=on for development or configure the Twilio provider (WA_TWILIO_ACCOUNT_SID, WA_TWILIO_AUTH_TOKEN, WA_TWILIO_FROM)"));
}
