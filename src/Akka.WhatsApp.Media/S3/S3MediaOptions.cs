namespace Akka.WhatsApp.Media.S3;

/// <summary>Settings of <see cref="S3MediaStore"/>: which S3-compatible server (MinIO, AWS...), with which credentials, which bucket.</summary>
public sealed record S3MediaOptions
{
    /// <summary>The server as host:port (no scheme).</summary>
    public required string Endpoint { get; init; }

    public required string AccessKey { get; init; }

    public required string SecretKey { get; init; }

    public required string Bucket { get; init; }

    public string Region { get; init; } = "us-east-1";

    /// <summary>HTTPS to the server, and in the URLs handed to clients.</summary>
    public bool UseTls { get; init; }

    /// <summary>Create the bucket at start when it is missing (otherwise a missing bucket fails the start).</summary>
    public bool CreateBucket { get; init; }
}
