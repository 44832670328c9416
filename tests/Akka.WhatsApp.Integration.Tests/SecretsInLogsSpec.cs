using System.Collections.Concurrent;
using Akka.WhatsApp.Host;
using Microsoft.Extensions.Logging;
using Xunit;
using static Akka.WhatsApp.Integration.Tests.TestUsers;

namespace Akka.WhatsApp.Integration.Tests;

/// <summary>
/// What a node's log reveals at its default level (#21 item 7): no phone number, verification code or device token,
/// whatever the node does with them (registration, a failed and a right login, a message, a wrong code, a restart of
/// the conversation, shutdown with its dead letters). The development SMS gateway writes codes to the log by design
/// (it is off in the image and in Kubernetes): its own lines are left out, and shown to be there, so the capture works.
/// </summary>
public sealed class SecretsInLogsSpec
{
    private sealed class Capture : ILoggerProvider
    {
        public ConcurrentQueue<(string Category, string Line)> Lines { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(Capture capture, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (IsEnabled(logLevel))
                    capture.Lines.Enqueue((category, formatter(state, exception) + (exception is null ? "" : " " + exception)));
            }
        }
    }

    [Fact]
    public async Task No_phone_number_code_or_token_reaches_the_log_at_the_default_level()
    {
        var capture = new Capture();
        var settings = await TestNodes.SettingsAsync(JournalKind.Sqlite);
        var node = WhatsAppNode.Create(settings, logging: l =>
        {
            l.SetMinimumLevel(LogLevel.Information);
            l.AddProvider(capture);
        });
        var (phone, bobPhone) = (NewPhone(), NewPhone());
        string code;
        Client.Credentials alice, bob;
        try
        {
            await node.StartAsync();
            await TestNodes.WaitUntilReadyAsync(node);
            var options = await OptionsAsync(node);
            await Client.WhatsAppClient.RequestCodeAsync(options, phone);
            code = await CodeFromDevGatewayAsync(node, phone);
            await Assert.ThrowsAnyAsync<Exception>(() => Client.WhatsAppClient.VerifyAsync(options, phone, code == "000000" ? "111111" : "000000"));
            alice = (await Client.WhatsAppClient.VerifyAsync(options, phone, code)).Credentials;
            bob = await RegisterAsync(node, bobPhone);
            await Assert.ThrowsAnyAsync<Exception>(() => ConnectAsync(node, alice with { Token = new byte[32] }));
            await using (var a = await ConnectAsync(node, alice))
            await using (var b = await ConnectAsync(node, bob))
            {
                await a.SendAsync(bob.UserId, Payload("hello"));
                await b.NextAsync<Client.MessageReceived>();
            }
        }
        finally
        {
            await node.DisposeAsync();
        }

        var lines = capture.Lines.ToList();
        var gateway = lines.Where(l => l.Category.Contains("DevelopmentSmsGateway", StringComparison.Ordinal)).ToList();
        Assert.Contains(gateway, l => l.Line.Contains(phone, StringComparison.Ordinal) && l.Line.Contains(code, StringComparison.Ordinal));
        var rest = lines.Except(gateway).ToList();
        Assert.True(rest.Count > 10, $"only {rest.Count} lines captured: the check would prove nothing");
        var secrets = new Dictionary<string, string>
        {
            ["alice's phone"] = phone,
            ["alice's phone without +"] = phone.TrimStart('+'),
            ["bob's phone"] = bobPhone,
            ["alice's token (base64)"] = Convert.ToBase64String(alice.Token),
            ["alice's token (hex)"] = Convert.ToHexString(alice.Token),
            ["bob's token (base64)"] = Convert.ToBase64String(bob.Token),
        };
        // Six digits can be part of a longer number (a size, a port and a time) by chance: the code counts as itself only.
        var codeLeak = rest.FirstOrDefault(l => System.Text.RegularExpressions.Regex.IsMatch(l.Line, $@"(?<!\d){code}(?!\d)"));
        Assert.True(codeLeak == default, $"the verification code is in the log: [{codeLeak.Category}] {codeLeak.Line}");
        foreach (var (what, secret) in secrets)
        {
            var leak = rest.FirstOrDefault(l => l.Line.Contains(secret, StringComparison.OrdinalIgnoreCase));
            Assert.True(leak == default, $"{what} is in the log: [{leak.Category}] {leak.Line}");
        }
    }
}
