using Akka.Actor;
using Akka.Cluster;
using Akka.Persistence;

namespace Akka.WhatsApp.Host.Management;

/// <summary>The answers of /health/alive and /health/ready.</summary>
public sealed record HealthReport(bool Ok, string Status, IReadOnlyDictionary<string, string> Checks);

/// <summary>
/// Readiness: this node is Up in the cluster and its journal answers a query.
/// The journal is asked for the highest sequence number of a probe id, which reaches the database.
/// </summary>
public sealed class NodeHealth(ActorSystem system)
{
    private const string ProbePersistenceId = "__health-probe";
    private static readonly TimeSpan JournalTimeout = TimeSpan.FromSeconds(3);

    public HealthReport Alive() =>
        system.WhenTerminated.IsCompleted
            ? new HealthReport(false, "terminated", new Dictionary<string, string>())
            : new HealthReport(true, "alive", new Dictionary<string, string>());

    public async Task<HealthReport> ReadyAsync(CancellationToken cancellationToken)
    {
        var member = Akka.Cluster.Cluster.Get(system).SelfMember;
        var clusterOk = member.Status == MemberStatus.Up;
        var (journalOk, journalStatus) = await ProbeJournalAsync(cancellationToken);
        var checks = new Dictionary<string, string>
        {
            ["cluster"] = member.Status.ToString(),
            ["journal"] = journalStatus,
        };
        var ok = clusterOk && journalOk;
        return new HealthReport(ok, ok ? "ready" : "not ready", checks);
    }

    private async Task<(bool, string)> ProbeJournalAsync(CancellationToken cancellationToken)
    {
        try
        {
            var journal = Akka.Persistence.Persistence.Instance.Apply(system).JournalFor(null);
            var answer = await journal.Ask<object>(
                replyTo => new ReplayMessages(1, 0, 0, ProbePersistenceId, replyTo), JournalTimeout, cancellationToken);
            return answer switch
            {
                RecoverySuccess => (true, "ok"),
                ReplayMessagesFailure f => (false, "failed: " + f.Cause.Message),
                _ => (false, "unexpected answer " + answer.GetType().Name),
            };
        }
        catch (AskTimeoutException)
        {
            return (false, $"no answer within {JournalTimeout.TotalSeconds:0} s");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return (false, "failed: " + e.Message);
        }
    }
}
