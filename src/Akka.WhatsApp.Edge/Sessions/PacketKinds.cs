
namespace Akka.WhatsApp.Edge.Sessions;

/// <summary>Classifies packets by the field-number ranges of <see cref="Frame"/> (protocol/frame.proto).</summary>
public static class PacketKinds
{
    /// <summary>Client packets use oneof field numbers 10..199, server packets 200..399.</summary>
    public static bool IsClientPacket(Frame.PacketOneofCase packet) => (int)packet is >= 10 and < 200;

    /// <summary>Packets allowed after Hello and before login.</summary>
    public static bool IsHandshake(Frame.PacketOneofCase packet) => packet is
        Frame.PacketOneofCase.RequestCode or
        Frame.PacketOneofCase.VerifyCode or
        Frame.PacketOneofCase.Login or
        Frame.PacketOneofCase.RequestDeviceLink;

    public static string Describe(Frame frame) =>
        frame.PacketCase == Frame.PacketOneofCase.None ? "(empty or unknown)" : frame.PacketCase.ToString();
}
