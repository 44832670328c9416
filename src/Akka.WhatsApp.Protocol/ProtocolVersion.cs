namespace Akka.WhatsApp.Protocol;

/// <summary>The wire protocol versions this build speaks (<see cref="Hello.ProtocolVersion"/>, <see cref="Welcome.ProtocolVersion"/>).</summary>
public static class ProtocolVersion
{
    /// <summary>The version described by protocol/*.proto and PROTOCOL.md.</summary>
    public const uint Current = 1;

    /// <summary>The oldest client version a server still accepts; older clients get UPGRADE_REQUIRED.</summary>
    public const uint MinimumSupported = 1;
}
