namespace Akka.WhatsApp.Protocol.Framing;

/// <summary>The outcome of <see cref="FrameCodec.TryDecode"/>.</summary>
public enum DecodeStatus
{
    /// <summary>A whole frame was decoded.</summary>
    Frame,

    /// <summary>The buffer holds only part of a frame (or nothing); read more bytes and try again.</summary>
    NeedMoreData,

    /// <summary>The length prefix exceeds the maximum frame size (reported before the body arrives).</summary>
    TooLarge,

    /// <summary>The length prefix is not a valid varint32.</summary>
    MalformedLength,

    /// <summary>The body is not a valid Protobuf <see cref="Protocol.Frame"/>.</summary>
    MalformedBody,
}
