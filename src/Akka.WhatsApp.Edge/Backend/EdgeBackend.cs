using Akka.WhatsApp.Domain.Messaging;
using Akka.WhatsApp.Domain.Registration;

namespace Akka.WhatsApp.Edge.Backend;

/// <summary>
/// What the edge talks to behind a connection: the shard-region proxies of the entities, the presence bus and the
/// phone directory, given by the host when it starts (every one required: a missing one fails the start, not a
/// request). The edge never sees the entities themselves, only these references. A new area adds its region here.
/// </summary>
public sealed class EdgeBackend
{
    public required ActorSystem System { get; init; }

    public required IActorRef Mailboxes { get; init; }

    public required IActorRef Accounts { get; init; }

    public required IActorRef Groups { get; init; }

    public required IActorRef Verifications { get; init; }

    /// <summary>The key directory: one entity per user holding its devices' public keys.</summary>
    public required IActorRef Keys { get; init; }

    /// <summary>The distributed pub-sub mediator: presence, typing, device notices, link approvals.</summary>
    public required IActorRef PresenceBus { get; init; }

    public required IPhoneDirectory Directory { get; init; }

    /// <summary>
    /// Media uploads and downloads (§12): the catalog and the store behind presigned URLs. The host always gives one;
    /// the edge's own unit tests, which cover other areas, do not (the media requests then answer NOT_IMPLEMENTED).
    /// </summary>
    public Domain.Media.MediaService? Media { get; init; }

    /// <summary>
    /// The Call entities (§15), one per call id. The host always gives it; without one (the edge's own unit tests) the
    /// call packets answer NOT_IMPLEMENTED.
    /// </summary>
    public IActorRef? Calls { get; init; }

    /// <summary>
    /// The Schedule entities (§8.8), one per sender. The host always gives it; without one (the edge's own unit tests)
    /// scheduled sends and the scheduled-message requests answer NOT_IMPLEMENTED.
    /// </summary>
    public IActorRef? Schedules { get; init; }

    /// <summary>
    /// The history sync entities (§17), one per account. The host always gives it; without one (the edge's own unit tests)
    /// the sync packets answer NOT_IMPLEMENTED.
    /// </summary>
    public IActorRef? HistorySync { get; init; }

    /// <summary>The Status entities (§14), one per user. The host always gives it; without one the status packets answer NOT_IMPLEMENTED.</summary>
    public IActorRef? Status { get; init; }

    /// <summary>The TURN relays GetCallRelays hands out credentials for (coturn use-auth-secret); none: no relays.</summary>
    public Domain.Calls.TurnSettings? Turn { get; init; }

    /// <summary>How long a request waits for an entity before the client gets TIMEOUT.</summary>
    public TimeSpan AskTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>The transport-independent 1:1 sender over these regions.</summary>
    public MessageSender Messages => _messages ??= new MessageSender(Accounts, Mailboxes, AskTimeout, Time, Schedules);

    private MessageSender? _messages;
}
