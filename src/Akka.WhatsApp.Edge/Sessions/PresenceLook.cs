using Akka.WhatsApp.Domain.Mailbox;
using A = Akka.WhatsApp.Domain.Accounts.AccountReplies;

namespace Akka.WhatsApp.Edge.Sessions;

/// <summary>
/// What a viewer may see of a user's presence (PROTOCOL.md §9), with both sides' blocks and the user's last-seen
/// privacy applied: <c>ONLINE</c> / <c>OFFLINE</c> with last seen, or <c>UNSPECIFIED</c> when hidden. Asked when a
/// subscription starts and again whenever the user's privacy, contacts or blocks change.
/// </summary>
public static class PresenceLook
{
    public static async Task<Protocol.Presence> OfAsync(EdgeBackend backend, UserId viewer, UserId target, bool? viewerBlocksTarget = null)
    {
        var hidden = new Protocol.Presence { UserId = target.Value };
        var blocks = viewerBlocksTarget ?? await backend.Accounts.Ask<object>(new AccountCommands.GetDeliveryInfo(viewer, target), backend.AskTimeout)
            is A.DeliveryInfo { Blocks: true };
        if (blocks || await backend.Accounts.Ask<object>(new AccountCommands.GetDeliveryInfo(target, viewer), backend.AskTimeout)
                is not A.DeliveryInfo { SharesPresence: true })
            return hidden;
        var online = await backend.Mailboxes.Ask<object>(new MailboxCommands.GetPresence(target), backend.AskTimeout) is MailboxReplies.PresenceIs { Online: true };
        var seen = new Protocol.Presence { UserId = target.Value, State = online ? PresenceState.Online : PresenceState.Offline };
        if (!online && await backend.Accounts.Ask<object>(new AccountCommands.View(target, viewer), backend.AskTimeout) is A.Viewed { LastSeen: { } last })
            seen.LastSeen = WireMapping.Ms(last);
        return seen;
    }
}
