using System.Net;

namespace Akka.WhatsApp.Edge.Sessions;

/// <summary>The transport side of one client connection, as a session sees it.</summary>
public interface IClientConnection
{
    /// <summary>A short id for logs.</summary>
    string Id { get; }

    EndPoint? RemoteAddress { get; }

    /// <summary>Queues a frame; frames are flushed in batches by the transport.</summary>
    void Send(Frame frame);

    /// <summary>Sends a last frame and closes the connection once it is written.</summary>
    void SendAndClose(Frame frame);
}
