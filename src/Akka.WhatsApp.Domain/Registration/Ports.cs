namespace Akka.WhatsApp.Domain.Registration;

/// <summary>How a verification code reaches the phone (the wire CodeDelivery).</summary>
public enum CodeChannel
{
    Sms = 1,

    /// <summary>A call that reads the code out, for numbers that cannot receive SMS.</summary>
    Voice = 2,
}

/// <summary>
/// Sends a verification code to a phone (an SMS provider in production, the log in development). A refusal throws, and
/// the client is answered UNAVAILABLE.
/// </summary>
public interface ISmsGateway
{
    Task SendCodeAsync(string phone, string code, CodeChannel channel, CancellationToken cancellationToken);
}

/// <summary>The phone → user read model, for contact discovery. Kept up to date from verification events.</summary>
public interface IPhoneDirectory
{
    Task RegisterAsync(string phone, UserId user, CancellationToken cancellationToken);

    /// <summary>The registered users among <paramref name="phones"/>; unknown numbers are simply absent.</summary>
    Task<IReadOnlyDictionary<string, UserId>> LookupAsync(IReadOnlyCollection<string> phones, CancellationToken cancellationToken);

    /// <summary>
    /// Which of <paramref name="users"/> are registered: one query for a whole list of ids a client named (group
    /// members, presence subscriptions), so that ids that do not exist never start an entity.
    /// </summary>
    Task<IReadOnlySet<UserId>> ExistingAsync(IReadOnlyCollection<UserId> users, CancellationToken cancellationToken);
}
