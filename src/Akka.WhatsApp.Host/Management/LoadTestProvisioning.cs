using System.Security.Cryptography;
using System.Text;
using Akka.Actor;
using Akka.Hosting;
using Akka.WhatsApp.Cluster.Accounts;
using Akka.WhatsApp.Domain;
using Akka.WhatsApp.Domain.Accounts;
using Akka.WhatsApp.Domain.Registration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Akka.WhatsApp.Host.Management;

/// <summary>
/// Bulk account creation for load tests: a load test of 100,000 users cannot go through 100,000 SMS
/// verifications. The route exists only when WA_LOADTEST_TOKEN is set, and answers only requests that carry
/// that token. Each account is a real one (an Account entity with a primary device, and a phone directory
/// entry), created the way a verified registration creates it, minus the SMS code.
/// </summary>
public static class LoadTestProvisioning
{
    public const int MaxPerRequest = 5_000;
    private const int TokenBytes = 32;
    private const int Parallelism = 64;

    public sealed record Request(int Count, string? PhonePrefix = null);

    public sealed record ProvisionedUser(string UserId, uint DeviceId, string Token, string Phone);

    public static IEndpointRouteBuilder MapLoadTestProvisioning(this IEndpointRouteBuilder routes, string token)
    {
        var expected = new BearerToken(token);
        routes.MapPost("/loadtest/users", async (HttpContext http, Request request, ActorRegistry registry,
            IPhoneDirectory directory, CancellationToken ct) =>
        {
            if (!expected.IsPresentIn(http.Request))
                return Results.Json(new { error = "a load-test token is required: Authorization: Bearer <WA_LOADTEST_TOKEN>" },
                    statusCode: StatusCodes.Status401Unauthorized);
            if (request.Count is < 1 or > MaxPerRequest)
                return Results.Json(new { error = $"count must be between 1 and {MaxPerRequest}" }, statusCode: StatusCodes.Status400BadRequest);
            var prefix = request.PhonePrefix ?? "+1555";
            if (!PhoneNumber.IsValid(prefix + "0000000") || prefix.Length > 8)
                return Results.Json(new { error = "phonePrefix must be '+' and 1 to 7 digits (numbers get random digits up to 15)" },
                    statusCode: StatusCodes.Status400BadRequest);

            var accounts = registry.Get<AccountRegion>();
            var users = new ProvisionedUser[request.Count];
            await Parallel.ForAsync(0, request.Count, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = ct },
                async (i, token) =>
                {
                    var user = UserId.New();
                    var phone = RandomPhone(prefix);
                    var secret = RandomNumberGenerator.GetBytes(TokenBytes);
                    var reply = await accounts.Ask<IAccountReply>(
                        new AccountCommands.RegisterPrimary(user, phone, AccountState.HashToken(secret), "loadtest"), TimeSpan.FromSeconds(30), token);
                    if (reply is not AccountReplies.Authenticated)
                        throw new InvalidOperationException($"the account entity refused {user}: {reply}");
                    await directory.RegisterAsync(phone, user, token);
                    users[i] = new ProvisionedUser(user.Value, DeviceId.Primary.Value, Convert.ToBase64String(secret), phone);
                });
            return Results.Json(new { users });
        });
        return routes;
    }

    /// <summary>The prefix followed by random digits up to 15 digits in all (E.164's maximum).</summary>
    private static string RandomPhone(string prefix)
    {
        var digits = new StringBuilder(prefix, 16);
        while (digits.Length < 16)
            digits.Append((char)('0' + RandomNumberGenerator.GetInt32(10)));
        return digits.ToString();
    }
}
