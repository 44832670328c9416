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
          }
          serialization-bindings {
            "Akka.WhatsApp.Domain.Mailbox.IMailboxCommand, Akka.WhatsApp.Domain" = wa-mailbox
            "Akka.WhatsApp.Domain.Mailbox.IMailboxEvent, Akka.WhatsApp.Domain" = wa-mailbox
            "Akka.WhatsApp.Domain.Mailbox.IMailboxReply, Akka.WhatsApp.Domain" = wa-mailbox
          }
          serialization-identifiers {
            "Akka.WhatsApp.Cluster.Mailbox.MailboxSerializer, Akka.WhatsApp.Cluster" = 110
          }
        }
        """);
}
