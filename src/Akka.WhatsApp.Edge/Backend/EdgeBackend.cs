using Akka.Actor;
using Akka.WhatsApp.Domain.Messaging;
using Akka.WhatsApp.Domain.Registration;

namespace Akka.WhatsApp.Edge.Backend;

/// <summary>
/// What the edge talks to behind a connection: the shard-region proxies of the entities, the presence bus
/// and the phone directory. The edge never sees the entities themselves, only these references.
/// </summary>
public sealed record EdgeBackend(
    ActorSystem System,
    IActorRef Mailboxes,
    IActorRef Accounts,
    IActorRef Groups,
    IActorRef Verifications,
    IActorRef PresenceBus,
    IPhoneDirectory Directory)
{
    /// <summary>How long a request waits for an entity before the client gets TIMEOUT.</summary>
    public TimeSpan AskTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>The transport-independent 1:1 sender over these regions.</summary>
    public MessageSender Messages => _messages ??= new MessageSender(Accounts, Mailboxes, AskTimeout, Time);

    private MessageSender? _messages;
}
