namespace Akka.WhatsApp.Domain.Registration;

/// <summary>Sends a verification code to a phone (an SMS gateway in production, the log in development).</summary>
public interface ISmsGateway
{
    Task SendCodeAsync(string phone, string code, CancellationToken cancellationToken);
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
