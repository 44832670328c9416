using Akka.Configuration;

namespace Akka.WhatsApp.Cluster.Serialization;

/// <summary>
/// Binds every persisted and remote type of ours to its Protobuf serializer. The single source of these
/// bindings: the host's registrations and the tests both use it. Serializer ids are forever.
/// </summary>
public static class ClusterSerialization
{
    public static readonly Config Config = ConfigurationFactory.ParseString("""
        akka.actor {
          serializers {
            wa-mailbox = "Akka.WhatsApp.Cluster.Mailbox.MailboxSerializer, Akka.WhatsApp.Cluster"
            wa-accounts = "Akka.WhatsApp.Cluster.Accounts.AccountSerializer, Akka.WhatsApp.Cluster"
            wa-presence = "Akka.WhatsApp.Cluster.Presence.PresenceSerializer, Akka.WhatsApp.Cluster"
            wa-groups = "Akka.WhatsApp.Cluster.Groups.GroupSerializer, Akka.WhatsApp.Cluster"
            wa-monitoring = "Akka.WhatsApp.Cluster.Monitoring.MonitoringSerializer, Akka.WhatsApp.Cluster"
            wa-keys = "Akka.WhatsApp.Cluster.Keys.KeysSerializer, Akka.WhatsApp.Cluster"
            wa-calls = "Akka.WhatsApp.Cluster.Calls.CallSerializer, Akka.WhatsApp.Cluster"
            wa-schedule = "Akka.WhatsApp.Cluster.Scheduling.ScheduleSerializer, Akka.WhatsApp.Cluster"
            wa-history-sync = "Akka.WhatsApp.Cluster.Sync.HistorySyncSerializer, Akka.WhatsApp.Cluster"
            wa-status = "Akka.WhatsApp.Cluster.Status.StatusSerializer, Akka.WhatsApp.Cluster"
          }
          serialization-bindings {
            "Akka.WhatsApp.Domain.Mailbox.IMailboxCommand, Akka.WhatsApp.Domain" = wa-mailbox
            "Akka.WhatsApp.Domain.Mailbox.IMailboxEvent, Akka.WhatsApp.Domain" = wa-mailbox
            "Akka.WhatsApp.Domain.Mailbox.IMailboxReply, Akka.WhatsApp.Domain" = wa-mailbox
            "Akka.WhatsApp.Domain.Mailbox.IMailboxPush, Akka.WhatsApp.Domain" = wa-mailbox
            "Akka.WhatsApp.Domain.Mailbox.MailboxState, Akka.WhatsApp.Domain" = wa-mailbox
            "Akka.WhatsApp.Domain.Accounts.IAccountCommand, Akka.WhatsApp.Domain" = wa-accounts
            "Akka.WhatsApp.Domain.Accounts.IAccountEvent, Akka.WhatsApp.Domain" = wa-accounts
            "Akka.WhatsApp.Domain.Accounts.IAccountReply, Akka.WhatsApp.Domain" = wa-accounts
            "Akka.WhatsApp.Domain.Accounts.IAccountNotice, Akka.WhatsApp.Domain" = wa-accounts
            "Akka.WhatsApp.Domain.Registration.IVerificationCommand, Akka.WhatsApp.Domain" = wa-accounts
            "Akka.WhatsApp.Domain.Registration.IVerificationEvent, Akka.WhatsApp.Domain" = wa-accounts
            "Akka.WhatsApp.Domain.Registration.IVerificationReply, Akka.WhatsApp.Domain" = wa-accounts
            "Akka.WhatsApp.Domain.Presence.IPresenceSignal, Akka.WhatsApp.Domain" = wa-presence
            "Akka.WhatsApp.Domain.Groups.IGroupCommand, Akka.WhatsApp.Domain" = wa-groups
            "Akka.WhatsApp.Domain.Groups.IGroupEvent, Akka.WhatsApp.Domain" = wa-groups
            "Akka.WhatsApp.Domain.Groups.IGroupReply, Akka.WhatsApp.Domain" = wa-groups
            "Akka.WhatsApp.Domain.Groups.GroupState, Akka.WhatsApp.Domain" = wa-groups
            "Akka.WhatsApp.Cluster.Monitoring.INodeStatsMessage, Akka.WhatsApp.Cluster" = wa-monitoring
            "Akka.WhatsApp.Domain.Keys.IKeyCommand, Akka.WhatsApp.Domain" = wa-keys
            "Akka.WhatsApp.Domain.Keys.IKeyEvent, Akka.WhatsApp.Domain" = wa-keys
            "Akka.WhatsApp.Domain.Keys.IKeyReply, Akka.WhatsApp.Domain" = wa-keys
            "Akka.WhatsApp.Domain.Keys.KeyState, Akka.WhatsApp.Domain" = wa-keys
            "Akka.WhatsApp.Domain.Keys.IKeyNotice, Akka.WhatsApp.Domain" = wa-keys
            "Akka.WhatsApp.Domain.Calls.ICallMessage, Akka.WhatsApp.Domain" = wa-calls
            "Akka.WhatsApp.Domain.Scheduling.IScheduleCommand, Akka.WhatsApp.Domain" = wa-schedule
            "Akka.WhatsApp.Domain.Scheduling.IScheduleEvent, Akka.WhatsApp.Domain" = wa-schedule
            "Akka.WhatsApp.Domain.Scheduling.IScheduleReply, Akka.WhatsApp.Domain" = wa-schedule
            "Akka.WhatsApp.Domain.Scheduling.ScheduleState, Akka.WhatsApp.Domain" = wa-schedule
            "Akka.WhatsApp.Domain.Sync.IHistorySyncCommand, Akka.WhatsApp.Domain" = wa-history-sync
            "Akka.WhatsApp.Domain.Sync.IHistorySyncEvent, Akka.WhatsApp.Domain" = wa-history-sync
            "Akka.WhatsApp.Domain.Sync.IHistorySyncReply, Akka.WhatsApp.Domain" = wa-history-sync
            "Akka.WhatsApp.Domain.Sync.IHistorySyncNotice, Akka.WhatsApp.Domain" = wa-history-sync
            "Akka.WhatsApp.Domain.Sync.HistorySyncState, Akka.WhatsApp.Domain" = wa-history-sync
            "Akka.WhatsApp.Domain.Status.IStatusCommand, Akka.WhatsApp.Domain" = wa-status
            "Akka.WhatsApp.Domain.Status.IStatusEvent, Akka.WhatsApp.Domain" = wa-status
            "Akka.WhatsApp.Domain.Status.IStatusReply, Akka.WhatsApp.Domain" = wa-status
            "Akka.WhatsApp.Domain.Status.IStatusPush, Akka.WhatsApp.Domain" = wa-status
            "Akka.WhatsApp.Domain.Status.StatusState, Akka.WhatsApp.Domain" = wa-status
          }
          serialization-identifiers {
            "Akka.WhatsApp.Cluster.Mailbox.MailboxSerializer, Akka.WhatsApp.Cluster" = 110
            "Akka.WhatsApp.Cluster.Accounts.AccountSerializer, Akka.WhatsApp.Cluster" = 111
            "Akka.WhatsApp.Cluster.Presence.PresenceSerializer, Akka.WhatsApp.Cluster" = 112
            "Akka.WhatsApp.Cluster.Groups.GroupSerializer, Akka.WhatsApp.Cluster" = 113
            "Akka.WhatsApp.Cluster.Monitoring.MonitoringSerializer, Akka.WhatsApp.Cluster" = 114
            "Akka.WhatsApp.Cluster.Keys.KeysSerializer, Akka.WhatsApp.Cluster" = 115
            "Akka.WhatsApp.Cluster.Calls.CallSerializer, Akka.WhatsApp.Cluster" = 116
            "Akka.WhatsApp.Cluster.Scheduling.ScheduleSerializer, Akka.WhatsApp.Cluster" = 119
            "Akka.WhatsApp.Cluster.Sync.HistorySyncSerializer, Akka.WhatsApp.Cluster" = 118
            "Akka.WhatsApp.Cluster.Status.StatusSerializer, Akka.WhatsApp.Cluster" = 117
          }
        }
        """);
}
