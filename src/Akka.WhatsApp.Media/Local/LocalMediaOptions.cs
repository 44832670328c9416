namespace Akka.WhatsApp.Media.Local;

/// <summary>Settings of <see cref="LocalDiskMediaStore"/>: where objects live, where its HTTP port listens, how its URLs are signed.</summary>
public sealed record LocalMediaOptions
{
    /// <summary>Folder holding the objects (created with mode 700 when missing).</summary>
    public required string Root { get; init; }

    /// <summary>IP address the HTTP listener binds; 0.0.0.0 (or ::) listens on every interface (then set <see cref="PublicBaseUrl"/>).</summary>
    public string BindAddress { get; init; } = "127.0.0.1";

    /// <summary>TCP port of the HTTP listener; 0 picks a free one (tests).</summary>
    public int Port { get; init; }

    /// <summary>
    /// The base of the URLs handed to clients, when they reach the store through another name or a proxy;
    /// by default http://{BindAddress}:{bound port}/ (loopback when bound to every interface).
    /// </summary>
    public Uri? PublicBaseUrl { get; init; }

    /// <summary>HMAC-SHA256 key of the URL signatures, at least 32 bytes; every node serving the same root needs the same one.</summary>
    public required byte[] Secret { get; init; }

    /// <summary>Largest object an upload URL is issued for (default 2 GiB, the protocol's limit for documents, PROTOCOL.md §12).</summary>
    public long MaxObjectBytes { get; init; } = 2L * 1024 * 1024 * 1024;

    /// <summary>The clock URL expiry is measured against.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}
