using Akka.Actor;
using Akka.Persistence;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Akka.WhatsApp.Host.Management;

/// <summary>
/// The journal half of /health/ready: the journal is asked for the highest sequence number of a probe id, which
/// reaches the database. The other checks are Akka.Hosting's (actor system liveness, cluster readiness); all are
/// ASP.NET Core health checks, mapped in <see cref="ManagementRoutes"/>. Akka.Persistence.Hosting's journal check
/// needs the journal configured through its builder, and ours is configured by HOCON (JournalSetup).
/// </summary>
public static class NodeHealth
{
    private const string ProbePersistenceId = "__health-probe";
    private static readonly TimeSpan JournalTimeout = TimeSpan.FromSeconds(3);

    public static async Task<HealthCheckResult> JournalCheckAsync(ActorSystem system, CancellationToken cancellationToken)
    {
        try
        {
            var journal = Akka.Persistence.Persistence.Instance.Apply(system).JournalFor(null);
            var answer = await journal.Ask<object>(
                replyTo => new ReplayMessages(1, 0, 0, ProbePersistenceId, replyTo), JournalTimeout, cancellationToken);
            return answer switch
            {
                RecoverySuccess => HealthCheckResult.Healthy("ok"),
                ReplayMessagesFailure f => HealthCheckResult.Unhealthy("failed: " + f.Cause.Message),
                _ => HealthCheckResult.Unhealthy("unexpected answer " + answer.GetType().Name),
            };
        }
        catch (AskTimeoutException)
        {
            return HealthCheckResult.Unhealthy($"no answer within {JournalTimeout.TotalSeconds:0} s");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy("failed: " + e.Message);
        }
    }
}
