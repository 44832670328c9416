using Akka.WhatsApp.Protocol;

namespace Akka.WhatsApp.Client;

/// <summary>What a device needs to log in; keep the token secret (it is shown once, at registration or linking).</summary>
public sealed record Credentials(string UserId, uint DeviceId, byte[] Token);

/// <summary>Something the server pushed or the connection did, in order.</summary>
public abstract record ClientEvent;

/// <summary>
/// A message (or, with Deliver.group_id set, a group message or group event) for this device, shown once:
/// retransmissions of an already seen <see cref="DeliveryKey"/> are dropped.
/// </summary>
public sealed record MessageReceived(Deliver Deliver) : ClientEvent;

/// <summary>A delivered / read / played receipt for messages this user sent (or a sync copy from another own device).</summary>
public sealed record ReceiptReceived(Receipt Receipt) : ClientEvent;

/// <summary>The stored backlog has been pushed after a login; live messages follow.</summary>
public sealed record BacklogDone(ulong LastSeq) : ClientEvent;

public sealed record PresenceChanged(Presence Presence) : ClientEvent;

public sealed record TypingChanged(TypingNotification Typing) : ClientEvent;

/// <summary>The connection was lost; the client reconnects by itself unless it was closed or replaced.</summary>
public sealed record Disconnected(string Reason, bool WillReconnect) : ClientEvent;

/// <summary>After a disconnect, the next attempt (1 = the first) waits <paramref name="Delay"/> before it connects to <paramref name="Endpoint"/>.</summary>
public sealed record Reconnecting(TimeSpan Delay, int Attempt, System.Net.DnsEndPoint Endpoint) : ClientEvent;

/// <summary>Logged in again after a disconnect; the backlog since the last ack follows.</summary>
public sealed record Reconnected : ClientEvent;

/// <summary>This companion device was linked: log in with these credentials.</summary>
public sealed record Linked(Credentials Credentials) : ClientEvent;

/// <summary>This device's one-time prekeys are running low (PROTOCOL.md §13): upload more with UploadKeysAsync.</summary>
public sealed record PreKeysLow(PreKeyLow Low) : ClientEvent;

/// <summary>
/// A message that could not be decrypted (PROTOCOL.md §8.4): acknowledged, not stored, and asked again from its sender,
/// whose re-encrypted copy arrives as a <see cref="MessageReceived"/> with the same message id.
/// </summary>
public sealed record UndecryptableMessage(Deliver Deliver, string Reason) : ClientEvent;

/// <summary>
/// A contact's device now has another identity key than this device saw before (a reinstall, or someone in between):
/// the safety number changed, and a contact verified before is unverified until checked again.
/// </summary>
public sealed record SecurityCodeChanged(string UserId, uint DeviceId) : ClientEvent;

/// <summary>A call on this device began, changed state (or, in a group call, participants) or ended; see <see cref="Calls.CallSession"/>.</summary>
public sealed record CallChanged(Calls.CallSession Call) : ClientEvent;

/// <summary>
/// What a peer device of a call sent this device for the media connection: a session description or an ICE candidate,
/// decrypted when encryption is on (<see cref="Payload"/> null when it could not be).
/// </summary>
public sealed record CallPeerMessage(Calls.CallId CallId, Calls.CallDevice From, Calls.CallPeerMessageKind Kind, Google.Protobuf.ByteString? Payload) : ClientEvent;
