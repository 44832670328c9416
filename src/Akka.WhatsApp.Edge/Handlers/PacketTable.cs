
namespace Akka.WhatsApp.Edge.Handlers;

/// <summary>How the session runs a packet once its state allows it.</summary>
public enum PacketRun
{
    /// <summary>A request answered asynchronously, within the connection's in-flight limit.</summary>
    Request,

    /// <summary>A request that is also a send: it takes a token of the connection's send rate (RATE_LIMITED beyond).</summary>
    Send,

    /// <summary>Registration or login: the session waits in LOGGING_IN while it runs (PROTOCOL.md §4).</summary>
    Login,

    /// <summary>Handled at once on the connection's thread: notifications and requests with nothing to wait for.</summary>
    Immediate,
}

/// <summary>A request's handler: returns its reply, or null when it wrote (or deliberately skipped) the reply itself.</summary>
public delegate Task<Frame?> RequestHandler(Frame frame, IEdgeSession session);

/// <summary>A handler that runs at once and answers (if at all) through the session.</summary>
public delegate void ImmediateHandler(Frame frame, IEdgeSession session);

/// <summary>One packet's route: the state it needs and how it runs.</summary>
public sealed record PacketRoute(Frame.PacketOneofCase Packet, bool BeforeLogin, PacketRun Run, RequestHandler? Request, ImmediateHandler? Immediate);

/// <summary>
/// The edge's dispatch table: which handler serves which client packet (frame.proto numbers packets in blocks per area;
/// each area's handler registers its block). Built once per node and shared by every connection; a packet without a
/// route is answered NOT_IMPLEMENTED. A new protocol area is one handler file and one line in <see cref="EdgeHandlers"/>.
/// </summary>
public sealed class PacketTable
{
    private readonly Dictionary<Frame.PacketOneofCase, PacketRoute> _routes = new();

    public static readonly PacketTable Empty = new();

    public static PacketTable Of(params IPacketHandler[] handlers)
    {
        var table = new PacketTable();
        foreach (var handler in handlers)
            handler.Register(table);
        return table;
    }

    /// <summary>A request of a logged-in device.</summary>
    public PacketTable Request(Frame.PacketOneofCase packet, RequestHandler handler) => Add(new(packet, false, PacketRun.Request, handler, null));

    /// <summary>A message send of a logged-in device (rate limited per connection).</summary>
    public PacketTable Send(Frame.PacketOneofCase packet, RequestHandler handler) => Add(new(packet, false, PacketRun.Send, handler, null));

    /// <summary>A packet of a logged-in device handled at once (notifications, local answers).</summary>
    public PacketTable Immediate(Frame.PacketOneofCase packet, ImmediateHandler handler) => Add(new(packet, false, PacketRun.Immediate, null, handler));

    /// <summary>A request allowed after Hello and before login; <paramref name="login"/>: it logs the connection in.</summary>
    public PacketTable BeforeLogin(Frame.PacketOneofCase packet, RequestHandler handler, bool login = false) =>
        Add(new(packet, true, login ? PacketRun.Login : PacketRun.Request, handler, null));

    /// <summary>A packet allowed after Hello and before login, handled at once.</summary>
    public PacketTable BeforeLogin(Frame.PacketOneofCase packet, ImmediateHandler handler) => Add(new(packet, true, PacketRun.Immediate, null, handler));

    public bool TryGet(Frame.PacketOneofCase packet, out PacketRoute route) => _routes.TryGetValue(packet, out route!);

    public IReadOnlyCollection<PacketRoute> Routes => _routes.Values;

    private PacketTable Add(PacketRoute route)
    {
        if (!_routes.TryAdd(route.Packet, route))
            throw new InvalidOperationException($"{route.Packet} has two handlers");
        return this;
    }
}

/// <summary>One protocol area's packets (auth, devices, messaging...): it registers a route for each packet it serves.</summary>
public interface IPacketHandler
{
    void Register(PacketTable table);
}
