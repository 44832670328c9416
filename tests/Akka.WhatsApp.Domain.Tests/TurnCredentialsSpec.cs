using Akka.WhatsApp.Domain.Calls;
using Xunit;

namespace Akka.WhatsApp.Domain.Tests;

/// <summary>TURN credentials in coturn's REST API scheme: what the relay recomputes, and when it stops accepting them.</summary>
public sealed class TurnCredentialsSpec
{
    private const string Secret = "north-relay-secret";
    private static readonly DateTimeOffset Now = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);

    // The expected passwords were computed outside .NET, as the relay does:
    //   printf '%s' "$username" | openssl dgst -sha1 -hmac "$secret" -binary | base64
    [Theory]
    [InlineData(Secret, "ann", "1796302800:ann", "F7y6Y0viRoiQv/9U9+dfm5coisQ=")]
    [InlineData("sécret", "zoë", "1796302800:zoë", "a3Fh07Z4c+OdkxwwUmUT0Qu2rew=")] // both keyed and signed as UTF-8
    public void The_username_carries_the_expiry_in_unix_seconds_and_the_password_is_the_base64_HMAC_SHA1_of_it(
        string secret, string user, string username, string password)
    {
        var credential = TurnCredentials.Issue(secret, user, Now, TimeSpan.FromHours(1));

        Assert.Equal(username, credential.Username);
        Assert.Equal(password, credential.Credential);
        Assert.Equal(new DateTimeOffset(2026, 12, 3, 13, 0, 0, TimeSpan.Zero), credential.ExpiresAt);
        Assert.Equal(1796302800, credential.ExpiresAt.ToUnixTimeSeconds());
    }

    [Fact]
    public void The_expiry_is_rounded_up_to_a_whole_second_so_a_credential_never_lives_shorter_than_asked()
    {
        var credential = TurnCredentials.Issue(Secret, "ann", Now.AddMilliseconds(250), TimeSpan.FromHours(1));

        Assert.Equal("1796302801:ann", credential.Username);
        Assert.Equal("TFkU0M7/ciMURLr9NbToJa/Hrb0=", credential.Credential);
        Assert.Equal(Now.AddHours(1).AddSeconds(1), credential.ExpiresAt);

        // A single tick past a second is a whole second more; a time already on a second stays where it is.
        Assert.Equal(Now.AddSeconds(2), TurnCredentials.Issue(Secret, "ann", Now.AddSeconds(1), TimeSpan.FromTicks(1)).ExpiresAt);
        Assert.Equal(Now.AddSeconds(1), TurnCredentials.Issue(Secret, "ann", Now.AddTicks(1), TimeSpan.FromSeconds(1) - TimeSpan.FromTicks(1)).ExpiresAt);
    }

    [Fact]
    public void The_expiry_is_in_unix_time_whatever_the_offset_of_now()
    {
        var inBerlin = Now.ToOffset(TimeSpan.FromHours(1));

        var credential = TurnCredentials.Issue(Secret, "ann", inBerlin, TimeSpan.FromHours(1));

        Assert.Equal("1796302800:ann", credential.Username);
        Assert.Equal(TimeSpan.Zero, credential.ExpiresAt.Offset);
    }

    [Fact]
    public void Every_user_and_every_expiry_gets_its_own_password()
    {
        var ann = TurnCredentials.Issue(Secret, "ann", Now, TimeSpan.FromHours(1));

        Assert.NotEqual(ann.Credential, TurnCredentials.Issue(Secret, "ben", Now, TimeSpan.FromHours(1)).Credential);
        Assert.NotEqual(ann.Credential, TurnCredentials.Issue(Secret, "ann", Now, TimeSpan.FromHours(2)).Credential);
        Assert.NotEqual(ann.Credential, TurnCredentials.Issue("another-secret", "ann", Now, TimeSpan.FromHours(1)).Credential);
    }

    [Fact]
    public void An_empty_secret_or_user_id_and_a_ttl_that_is_not_positive_are_refused()
    {
        var hour = TimeSpan.FromHours(1);

        Assert.ThrowsAny<ArgumentException>(() => TurnCredentials.Issue("", "ann", Now, hour));
        Assert.ThrowsAny<ArgumentException>(() => TurnCredentials.Issue(null!, "ann", Now, hour));
        Assert.ThrowsAny<ArgumentException>(() => TurnCredentials.Issue(Secret, "", Now, hour));
        Assert.ThrowsAny<ArgumentException>(() => TurnCredentials.Issue(Secret, " ", Now, hour));
        Assert.ThrowsAny<ArgumentException>(() => TurnCredentials.Issue(Secret, null!, Now, hour));
        Assert.ThrowsAny<ArgumentException>(() => TurnCredentials.Issue(Secret, "ann", Now, TimeSpan.Zero));
        Assert.ThrowsAny<ArgumentException>(() => TurnCredentials.Issue(Secret, "ann", Now, TimeSpan.FromSeconds(-1)));
    }
}
