using System.Text.RegularExpressions;
using Akka.WhatsApp.Client;
using Akka.WhatsApp.Host;
using Akka.WhatsApp.Protocol;
using Akka.WhatsApp.Testing;
using Xunit;
using static Akka.WhatsApp.Integration.Tests.TestUsers;

namespace Akka.WhatsApp.Integration.Tests;

/// <summary>A production-like node: the development SMS gateway off, codes sent through the local Twilio server.</summary>
public sealed class TwilioNode : IAsyncLifetime
{
    public ProviderServers Providers { get; private set; } = null!;
    public WhatsAppNode Node { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Providers = await ProviderServers.StartAsync();
        Node = await TestNodes.StartAsync(await TestNodes.SettingsAsync(JournalKind.Sqlite) with
        {
            DevelopmentSms = false,
            Providers = Providers.Settings(sms: true),
        });
    }

    public async Task DisposeAsync()
    {
        await Node.DisposeAsync();
        await Providers.DisposeAsync();
    }
}

/// <summary>Registration through a real SMS provider's API (PROTOCOL.md §6, README "Push and SMS"), with no development gateway.</summary>
public sealed partial class SmsProviderSpec(TwilioNode fixture) : IClassFixture<TwilioNode>
{
    private WhatsAppNode Node => fixture.Node;
    private ProviderServers Providers => fixture.Providers;

    [Fact]
    public async Task A_user_registers_with_the_code_Twilio_was_asked_to_send_and_the_development_route_does_not_exist()
    {
        var phone = NewPhone();
        var options = await OptionsAsync(Node);

        var sent = await WhatsAppClient.RequestCodeAsync(options, phone);
        Assert.Equal(CodeDelivery.Sms, sent.Delivery);

        var sms = await Eventually.Until(() => Task.FromResult(Providers.Requests.FirstOrDefault(r => r.Service == "twilio-sms" && r.Body.Contains(phone, StringComparison.Ordinal))),
            r => r is not null, TimeSpan.FromSeconds(20), "Twilio to be asked for an SMS");
        Assert.Equal($"/2010-04-01/Accounts/{ProviderServers.TwilioSid}/Messages.json", sms!.Path);
        Assert.Contains($"From={ProviderServers.TwilioFrom}", sms.Body, StringComparison.Ordinal);
        var code = SixDigits().Match(sms.Body).Value;

        var (credentials, isNew) = await WhatsAppClient.VerifyAsync(options, phone, code);
        Assert.True(isNew);
        await using var client = await ConnectAsync(Node, credentials);
        Assert.Equal(credentials.UserId, client.Credentials.UserId);

        using var http = new HttpClient { BaseAddress = Node.ManagementUri };
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await http.GetAsync($"/dev/verification-codes/{Uri.EscapeDataString(phone)}")).StatusCode);
    }

    [Fact]
    public async Task A_voice_code_is_read_out_by_a_Twilio_call()
    {
        var phone = NewPhone();
        await using var connection = await WhatsAppConnection.ConnectAsync("127.0.0.1", (await Node.EdgeEndpoint).Port);
        await connection.HelloAsync();

        var reply = await connection.RequestAsync(new Frame { RequestCode = new RequestCode { PhoneNumber = phone, Delivery = CodeDelivery.Voice } });
        Assert.Equal(CodeDelivery.Voice, reply.CodeSent.Delivery);

        var call = await Eventually.Until(() => Task.FromResult(Providers.Requests.FirstOrDefault(r => r.Service == "twilio-call" && r.Body.Contains(phone, StringComparison.Ordinal))),
            r => r is not null, TimeSpan.FromSeconds(20), "Twilio to be asked for a call");
        Assert.Equal($"/2010-04-01/Accounts/{ProviderServers.TwilioSid}/Calls.json", call!.Path);
        var digits = Regex.Match(call.Body, @"code is ((\d, ){5}\d)").Groups[1].Value.Replace(", ", "", StringComparison.Ordinal);
        Assert.Equal(6, digits.Length);

        var verified = await connection.RequestAsync(new Frame { VerifyCode = new VerifyCode { PhoneNumber = phone, Code = digits, DeviceName = "voice" } });
        Assert.Equal(Frame.PacketOneofCase.Registered, verified.PacketCase);
    }

    [Fact]
    public async Task A_number_Twilio_refuses_is_answered_unavailable()
    {
        var phone = NewPhone();
        Providers.RefusedPhones[phone] = true;

        var refused = await Assert.ThrowsAsync<ServerErrorException>(async () => await WhatsAppClient.RequestCodeAsync(await OptionsAsync(Node), phone));

        Assert.Equal(ErrorCode.Unavailable, refused.Code);
        Assert.Contains(Providers.Requests, r => r.Service == "twilio-sms" && r.Status == 400 && r.Body.Contains(phone, StringComparison.Ordinal));
    }

    [GeneratedRegex(@"\b\d{6}\b")]
    private static partial Regex SixDigits();
}
