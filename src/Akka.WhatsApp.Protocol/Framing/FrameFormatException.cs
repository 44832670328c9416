namespace Akka.WhatsApp.Protocol.Framing;

/// <summary>
/// A byte stream that cannot be read as frames: oversize, malformed, or ended inside a frame
/// (<see cref="DecodeStatus.NeedMoreData"/>). The connection cannot continue after it.
/// </summary>
public sealed class FrameFormatException : Exception
{
    public FrameFormatException(DecodeStatus status, string message)
        : base(message) =>
        Status = status;

    /// <summary>Why the stream could not be framed.</summary>
    public DecodeStatus Status { get; }
}
