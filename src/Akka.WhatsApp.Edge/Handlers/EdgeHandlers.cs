namespace Akka.WhatsApp.Edge.Handlers;

/// <summary>
/// Every protocol area the edge serves, one handler each (the areas of frame.proto and PROTOCOL.md). A new area
/// (keys, media, status, calls, push, sync) is a handler file in this folder and one line here.
/// </summary>
public static class EdgeHandlers
{
    public static readonly PacketTable Table = PacketTable.Of(
        new AuthHandler(),
        new DevicesHandler(),
        new AccountHandler(),
        new MessagingHandler(),
        new ScheduledHandler(),
        new PresenceHandler(),
        new GroupsHandler(),
        new GroupMessagesHandler(),
        new KeysHandler(),
        new MediaHandler(),
        new NotificationsHandler(),
        new CallsHandler(),
        new SyncHandler(),
        new StatusHandler());
}
