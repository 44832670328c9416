using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;
using static Akka.WhatsApp.Domain.Registration.VerificationCommands;
using static Akka.WhatsApp.Domain.Registration.VerificationEvents;
using static Akka.WhatsApp.Domain.Registration.VerificationReplies;

namespace Akka.WhatsApp.Domain.Registration;

/// <summary>
/// Verification of one phone number: the pending one-time code (hash only), its expiry and failed attempts,
/// the rate limit on code requests, and the user id the number belongs to once verified.
/// </summary>
public sealed record VerificationState : IAggregate<VerificationState, IVerificationCommand, IVerificationEvent, IVerificationReply>
{
    public static readonly TimeSpan CodeLifetime = TimeSpan.FromMinutes(10);
    /// <summary>At least this long between two code requests.</summary>
    public static readonly TimeSpan ResendInterval = TimeSpan.FromSeconds(30);
    /// <summary>At most <see cref="MaxRequestsPerWindow"/> code requests per window.</summary>
    public static readonly TimeSpan RequestWindow = TimeSpan.FromHours(1);
    public const int MaxRequestsPerWindow = 5;
    /// <summary>Wrong guesses allowed per code before it is void.</summary>
    public const int MaxAttempts = 5;

    public static readonly VerificationState Empty = new();

    public UserId? User { get; init; }
    public byte[]? CodeHash { get; init; }
    public DateTimeOffset CodeExpiresAt { get; init; }
    public int FailedAttempts { get; init; }
    public ImmutableQueue<DateTimeOffset> RecentRequests { get; init; } = ImmutableQueue<DateTimeOffset>.Empty;

    public static byte[] Hash(string phone, string code) => SHA256.HashData(Encoding.UTF8.GetBytes(phone + ":" + code));

    public (IVerificationReply Reply, IReadOnlyList<IVerificationEvent> Events) Decide(IVerificationCommand command, DateTimeOffset now)
    {
        if (!PhoneNumber.IsValid(command.Phone))
            return (new Rejected(VerificationError.InvalidNumber, "the phone number must be in E.164 form, like +14155550123", TimeSpan.Zero), []);

        switch (command)
        {
            case RequestCode r:
            {
                var recent = RecentRequests.Where(t => now - t < RequestWindow).ToList();
                var retryAfter = recent.Count == 0 ? TimeSpan.Zero : recent[^1] + ResendInterval - now;
                if (retryAfter > TimeSpan.Zero)
                    return (new Rejected(VerificationError.RateLimited, "a code was sent moments ago", retryAfter), []);
                if (recent.Count >= MaxRequestsPerWindow)
                    return (new Rejected(VerificationError.RateLimited, "too many codes requested for this number", recent[0] + RequestWindow - now), []);
                var expires = now + CodeLifetime;
                return (new CodeSent(expires, ResendInterval), [new CodeIssued(Hash(r.Phone, r.Code), now, expires)]);
            }
            case VerifyCode v:
            {
                if (CodeHash is null || now >= CodeExpiresAt)
                    return (new Rejected(VerificationError.CodeExpired, "no valid code for this number; request a new one", TimeSpan.Zero), []);
                if (FailedAttempts >= MaxAttempts)
                    return (new Rejected(VerificationError.CodeExpired, "too many wrong codes; request a new one", TimeSpan.Zero), []);
                if (!CryptographicOperations.FixedTimeEquals(CodeHash, Hash(v.Phone, v.Code)))
                    return (new Rejected(VerificationError.CodeInvalid, $"wrong code ({MaxAttempts - FailedAttempts - 1} attempts left)", TimeSpan.Zero),
                        [new AttemptFailed(now)]);
                var user = User ?? v.NewUserId;
                return (new Verified(user, User is null), [new NumberVerified(user, now)]);
            }
            default:
                return (new Rejected(VerificationError.InvalidNumber, $"unknown command {command.GetType().Name}", TimeSpan.Zero), []);
        }
    }

    public VerificationState Apply(IVerificationEvent @event) => @event switch
    {
        CodeIssued c => this with
        {
            CodeHash = c.CodeHash,
            CodeExpiresAt = c.ExpiresAt,
            FailedAttempts = 0,
            RecentRequests = Trim(RecentRequests.Enqueue(c.At), c.At),
        },
        AttemptFailed => this with { FailedAttempts = FailedAttempts + 1 },
        // A code is good for one registration only.
        NumberVerified n => this with { User = n.User, CodeHash = null, FailedAttempts = 0 },
        _ => this,
    };

    private static ImmutableQueue<DateTimeOffset> Trim(ImmutableQueue<DateTimeOffset> queue, DateTimeOffset now)
    {
        while (!queue.IsEmpty && now - queue.Peek() >= RequestWindow)
            queue = queue.Dequeue();
        return queue;
    }
}
