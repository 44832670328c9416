using Akka.WhatsApp.Media.S3;
using Akka.WhatsApp.Testing;

namespace Akka.WhatsApp.Media.Tests;

/// <summary>S3 store options against the s3rver that ./build.sh test starts (<see cref="TestS3"/>: fails clearly when it is not set).</summary>
internal static class TestS3Server
{
    public static string NewBucket() => TestS3.NewBucket("wa-test");

    public static S3MediaOptions Options(string bucket, bool createBucket = true) => new()
    {
        Endpoint = TestS3.Endpoint,
        AccessKey = TestS3.AccessKey,
        SecretKey = TestS3.SecretKey,
        Bucket = bucket,
        CreateBucket = createBucket,
    };
}
