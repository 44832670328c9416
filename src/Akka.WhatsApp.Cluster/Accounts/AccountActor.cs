using Akka.Actor;
using Akka.Hosting;
using Akka.WhatsApp.Cluster.Entities;
using Akka.WhatsApp.Domain.Accounts;

namespace Akka.WhatsApp.Cluster.Accounts;

/// <summary>The sharded persistent entity of one user's account.</summary>
public sealed class AccountActor(string userId)
    : AggregateActor<AccountState, IAccountCommand, IAccountEvent, IAccountReply>("account-" + userId, AccountState.Empty)
{
    public static Props PropsFor(string userId) => Props.Create(() => new AccountActor(userId));
}

/// <summary>Registry key of the Account shard region.</summary>
public sealed class AccountRegion;

public static class AccountSharding
{
    public const string TypeName = "account";

    public static AkkaConfigurationBuilder AddAccountSharding(this AkkaConfigurationBuilder builder, EntitySettings settings) =>
        builder.WithEntity<AccountRegion>(TypeName, AccountActor.PropsFor, m => (m as IAccountCommand)?.User.Value, settings);
}
