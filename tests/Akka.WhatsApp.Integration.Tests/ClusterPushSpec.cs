using Akka.Cluster;
using Akka.WhatsApp.Cluster.Notifications;
using Akka.WhatsApp.Host;
using Akka.WhatsApp.Protocol;
using Akka.WhatsApp.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using static Akka.WhatsApp.Integration.Tests.TestUsers;

namespace Akka.WhatsApp.Integration.Tests;

/// <summary>
/// Pushes on a three-node cluster (PROTOCOL.md §16): every node has the providers configured, yet each offline device
/// is pushed once, by the node that hosts its user's mailbox (the mailboxes, and so the pushes, are spread over them).
/// </summary>
public sealed class ClusterPushSpec : IAsyncLifetime
{
    private readonly List<WhatsAppNode> _nodes = [];
    private ProviderServers _providers = null!;

    public async Task InitializeAsync()
    {
        _providers = await ProviderServers.StartAsync();
        var settings = await TestNodes.SettingsAsync(JournalKind.Postgres) with { Providers = _providers.Settings() };
        var first = await TestNodes.StartAsync(settings);
        _nodes.Add(first);
        var seed = TestNodes.AddressOf(first);
        _nodes.Add(await TestNodes.StartAsync(settings with { SeedNodes = [seed] }));
        _nodes.Add(await TestNodes.StartAsync(settings with { SeedNodes = [seed] }));
        var cluster = Akka.Cluster.Cluster.Get(first.System);
        await Eventually.Until(() => cluster.State.Members.Count(m => m.Status == MemberStatus.Up) == 3, TimeSpan.FromSeconds(60), "three members up");
    }

    public async Task DisposeAsync()
    {
        foreach (var node in Enumerable.Reverse(_nodes))
            await node.DisposeAsync();
        await _providers.DisposeAsync();
    }

    /// <summary>Registers through <paramref name="node"/>; the code is with the node that hosts the number's verification entity.</summary>
    private async Task<Akka.WhatsApp.Client.Credentials> RegisterAsync(WhatsAppNode node)
    {
        var phone = NewPhone();
        var options = await OptionsAsync(node);
        await Akka.WhatsApp.Client.WhatsAppClient.RequestCodeAsync(options, phone);
        string? code = null;
        foreach (var holder in _nodes)
            code ??= await Akka.WhatsApp.Client.DevelopmentCodes.FetchAsync(holder.ManagementUri, phone);
        return (await Akka.WhatsApp.Client.WhatsAppClient.VerifyAsync(options, phone, code ?? throw new InvalidOperationException($"no node sent a code to {phone}"))).Credentials;
    }

    private double Sent(WhatsAppNode node) => node.App.Services.GetRequiredService<PushService>().Metrics.SentCount("apns");

    [Fact]
    public async Task Each_offline_device_is_pushed_once_by_the_node_that_holds_its_mailbox()
    {
        const int users = 12;
        var tokens = new List<string>();
        var recipients = new List<string>();
        for (var i = 0; i < users; i++)
        {
            // Registered and connected through different nodes: where a client connects does not decide who pushes.
            var node = _nodes[i % 3];
            var user = await RegisterAsync(node);
            var token = Convert.ToHexString(Guid.NewGuid().ToByteArray()).ToLowerInvariant();
            await using (var device = await ConnectAsync(node, user))
                Assert.Equal(Frame.PacketOneofCase.Ok, (await device.RequestAsync(new Frame
                {
                    RegisterPushToken = new RegisterPushToken { Platform = PushPlatform.Apns, Token = token },
                })).PacketCase);
            tokens.Add(token);
            recipients.Add(user.UserId);
        }
        await using var sender = await ConnectAsync(_nodes[0], await RegisterAsync(_nodes[0]));

        foreach (var recipient in recipients)
            await sender.SendAsync(recipient, "hello"u8.ToArray());

        await Eventually.Until(() => tokens.All(t => _providers.For("apns", t).Count >= 1), TimeSpan.FromSeconds(30), "a push to every device",
            () => $"{tokens.Count(t => _providers.For("apns", t).Count >= 1)} of {users} pushed");
        await Eventually.Until(() => _nodes.Sum(Sent) >= users, TimeSpan.FromSeconds(10), "the nodes to count what they sent");
        Assert.All(tokens, t => Assert.Single(_providers.For("apns", t)));
        Assert.Equal(users, _nodes.Sum(Sent));
        Assert.True(_nodes.Count(n => Sent(n) > 0) >= 2, $"pushes by node: {string.Join(", ", _nodes.Select(Sent))}");
    }
}
