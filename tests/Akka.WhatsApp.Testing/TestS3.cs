namespace Akka.WhatsApp.Testing;

/// <summary>
/// The S3-compatible server that ./build.sh test starts (s3rver, scripts/s3rver.sh; WA_TEST_S3 = host:port, keys
/// S3RVER/S3RVER). A test that needs it fails with a clear message when none is configured: it never skips.
/// </summary>
public static class TestS3
{
    public const string Variable = "WA_TEST_S3";
    public const string AccessKey = "S3RVER";
    public const string SecretKey = "S3RVER";

    public static string Endpoint =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } endpoint
            ? endpoint
            : throw new InvalidOperationException(
                $"This test needs an S3-compatible server and {Variable} is not set. Run the tests through ./build.sh test, which starts s3rver " +
                $"(scripts/s3rver.sh), or start one and set {Variable} to its host:port.");

    /// <summary>A fresh bucket name for one test fixture.</summary>
    public static string NewBucket(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 33, 63)].ToLowerInvariant();
}
