using Akka.Hosting;
using Akka.WhatsApp.Domain.Registration;

namespace Akka.WhatsApp.Cluster.Registration;

/// <summary>Registry key of the phone-verification shard region.</summary>
public sealed class VerificationRegion;

public static class VerificationSharding
{
    public const string TypeName = "phone";

    public static AkkaConfigurationBuilder AddVerificationSharding(this AkkaConfigurationBuilder builder, EntitySettings settings,
        ISmsGateway sms, IPhoneDirectory directory) =>
        builder.WithEntity<VerificationRegion>(TypeName, phone => VerificationActor.PropsFor(phone, sms, directory),
            m => (m as IVerificationCommand)?.Phone, settings);
}
