using System.Net;
using System.Net.Http.Json;
using Akka.WhatsApp.Client;

namespace Akka.WhatsApp.LoadTest.Core;

/// <summary>
/// Where the load goes and how users come to exist: the server edges (connections are spread over them in turn),
/// the source addresses to connect from, the management address for provisioning, and the processes whose CPU
/// and memory the report shows.
/// </summary>
public sealed record LoadContext
{
    public required IReadOnlyList<DnsEndPoint> Servers { get; init; }

    /// <summary>Management HTTP of the (first) server: bulk provisioning, or development SMS codes without a token.</summary>
    public required Uri Management { get; init; }

    /// <summary>WA_LOADTEST_TOKEN of the server: users are created in bulk. Without it every user registers by SMS code.</summary>
    public string? ProvisioningToken { get; init; }

    /// <summary>Local addresses connections are made from, in turn (none: the OS chooses).</summary>
    public IReadOnlyList<IPAddress> SourceAddresses { get; init; } = [];

    public ProcessStats Stats { get; init; } = new([]);

    public TextWriter Progress { get; init; } = Console.Error;

    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Connections opened at the same time while connecting many users.</summary>
    public int ConnectConcurrency { get; init; } = 100;

    /// <summary>Connection <paramref name="index"/> goes to server index mod servers, from source address index mod addresses.</summary>
    public ClientOptions OptionsFor(int index)
    {
        var server = Servers[index % Servers.Count];
        return new ClientOptions(server.Host, server.Port)
        {
            ClientName = "loadtest",
            RequestTimeout = RequestTimeout,
            LocalAddress = SourceAddresses.Count == 0 ? null : SourceAddresses[index % SourceAddresses.Count],
        };
    }

    /// <summary>Creates <paramref name="count"/> users: in bulk when a provisioning token is set, else through SMS verification.</summary>
    public async Task<IReadOnlyList<Credentials>> ProvisionAsync(int count, CancellationToken cancellationToken)
    {
        var users = new List<Credentials>(count);
        if (ProvisioningToken is { } token)
        {
            using var http = new HttpClient { BaseAddress = Management, Timeout = TimeSpan.FromMinutes(5) };
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            while (users.Count < count)
            {
                var batch = Math.Min(count - users.Count, 5_000);
                using var response = await http.PostAsJsonAsync("/loadtest/users", new { count = batch }, cancellationToken);
                if (!response.IsSuccessStatusCode)
                    throw new InvalidOperationException(
                        $"provisioning at {Management}loadtest/users answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}" +
                        " (is WA_LOADTEST_TOKEN set on the server, to the same value as --token?)");
                var body = await response.Content.ReadFromJsonAsync<ProvisionedBatch>(cancellationToken)
                           ?? throw new InvalidOperationException("provisioning answered an empty body");
                users.AddRange(body.Users.Select(u => new Credentials(u.UserId, u.DeviceId, Convert.FromBase64String(u.Token))));
            }
            return users;
        }

        // Without a token: the real registration flow, reading codes from the development SMS gateway.
        var prefix = Random.Shared.Next(100, 999);
        var registered = new Credentials[count];
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = cancellationToken }, async (i, ct) =>
        {
            var options = OptionsFor(i);
            var phone = $"+1{prefix}{Environment.ProcessId % 1000:D3}{i:D5}";
            await WhatsAppClient.RequestCodeAsync(options, phone, ct);
            var code = await DevelopmentCodes.FetchAsync(Management, phone, ct)
                       ?? throw new InvalidOperationException($"no development code for {phone} at {Management}: give --token for bulk provisioning, " +
                                                              "or run the server with WA_DEV_SMS=on");
            registered[i] = (await WhatsAppClient.VerifyAsync(options, phone, code, "loadtest", ct)).Credentials;
        });
        return registered;
    }

    /// <summary>Logs every user in (ConnectConcurrency at a time); connection i uses <see cref="OptionsFor"/>(i).</summary>
    public async Task<List<WhatsAppClient>> ConnectAsync(IReadOnlyList<Credentials> users, CancellationToken cancellationToken,
        Func<int, ClientOptions>? options = null)
    {
        var clients = new WhatsAppClient[users.Count];
        await Parallel.ForAsync(0, users.Count, new ParallelOptions { MaxDegreeOfParallelism = ConnectConcurrency, CancellationToken = cancellationToken },
            async (i, ct) => clients[i] = await WhatsAppClient.ConnectAsync((options ?? OptionsFor)(i), users[i], cancellationToken: ct));
        return [.. clients];
    }

    /// <summary>Provisions and connects <paramref name="count"/> users.</summary>
    public async Task<List<WhatsAppClient>> OnlineUsersAsync(int count, CancellationToken cancellationToken)
    {
        Progress.WriteLine($"loadtest: provisioning {count} users");
        var users = await ProvisionAsync(count, cancellationToken);
        Progress.WriteLine($"loadtest: connecting {count} users");
        return await ConnectAsync(users, cancellationToken);
    }

    public static async Task DisposeAllAsync(IEnumerable<WhatsAppClient> clients) =>
        await Task.WhenAll(clients.Select(c => c.DisposeAsync().AsTask()));

    private sealed record ProvisionedBatch(List<ProvisionedUser> Users);

    private sealed record ProvisionedUser(string UserId, uint DeviceId, string Token, string Phone);
}

/// <summary>What a failed request is counted as: the server's error code, TIMEOUT, or the exception's name.</summary>
public static class ErrorCodes
{
    public static string Of(Exception e) => e switch
    {
        AggregateException { InnerException: { } inner } => Of(inner),
        ServerErrorException s => s.Code.ToString(),
        TimeoutException or OperationCanceledException => "TIMEOUT",
        IOException or System.Net.Sockets.SocketException => "CONNECTION",
        _ => e.GetType().Name,
    };

    public static void Count(Dictionary<string, long> errors, Exception e)
    {
        lock (errors)
            errors[Of(e)] = errors.GetValueOrDefault(Of(e)) + 1;
    }
}
