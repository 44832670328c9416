using Akka.WhatsApp.Domain.Registration;
using Xunit;
using static Akka.WhatsApp.Domain.Registration.VerificationCommands;
using R = Akka.WhatsApp.Domain.Registration.VerificationReplies;

namespace Akka.WhatsApp.Domain.Tests;

public sealed class VerificationStateSpec
{
    private const string Phone = "+14155550123";
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);

    private static VerificationState Run(VerificationState state, IVerificationCommand command, DateTimeOffset now, out IVerificationReply reply)
    {
        var (r, events) = state.Decide(command, now);
        reply = r;
        return events.Aggregate(state, (s, e) => s.Apply(e));
    }

    [Theory]
    [InlineData("14155550123")]
    [InlineData("+0155550123")]
    [InlineData("+1415555012a")]
    [InlineData("+1234567")]
    [InlineData("+12345678901234567")]
    public void Numbers_that_are_not_E164_are_refused(string phone)
    {
        var (reply, _) = VerificationState.Empty.Decide(new RequestCode(phone, "123456"), T0);
        Assert.Equal(VerificationError.InvalidNumber, Assert.IsType<R.Rejected>(reply).Error);
    }

    [Fact]
    public void The_right_code_binds_the_number_to_a_new_user_once_and_to_the_same_user_later()
    {
        var state = Run(VerificationState.Empty, new RequestCode(Phone, "123456"), T0, out _);
        state = Run(state, new VerifyCode(Phone, "123456", new UserId("u1")), T0.AddMinutes(1), out var first);
        Assert.Equal(new R.Verified(new UserId("u1"), true), first);

        Run(state, new VerifyCode(Phone, "123456", new UserId("u2")), T0.AddMinutes(2), out var reused);
        Assert.Equal(VerificationError.CodeExpired, Assert.IsType<R.Rejected>(reused).Error);

        state = Run(state, new RequestCode(Phone, "654321"), T0.AddMinutes(3), out _);
        Run(state, new VerifyCode(Phone, "654321", new UserId("u3")), T0.AddMinutes(4), out var again);
        Assert.Equal(new R.Verified(new UserId("u1"), false), again);
    }

    [Fact]
    public void A_code_expires()
    {
        var state = Run(VerificationState.Empty, new RequestCode(Phone, "123456"), T0, out _);
        Run(state, new VerifyCode(Phone, "123456", new UserId("u1")), T0 + VerificationState.CodeLifetime, out var reply);
        Assert.Equal(VerificationError.CodeExpired, Assert.IsType<R.Rejected>(reply).Error);
    }

    [Fact]
    public void Wrong_guesses_are_limited_and_then_even_the_right_code_fails()
    {
        var state = Run(VerificationState.Empty, new RequestCode(Phone, "123456"), T0, out _);
        for (var i = 0; i < VerificationState.MaxAttempts; i++)
        {
            state = Run(state, new VerifyCode(Phone, "000000", new UserId("u1")), T0, out var wrong);
            Assert.Equal(VerificationError.CodeInvalid, Assert.IsType<R.Rejected>(wrong).Error);
        }
        Run(state, new VerifyCode(Phone, "123456", new UserId("u1")), T0, out var right);
        Assert.Equal(VerificationError.CodeExpired, Assert.IsType<R.Rejected>(right).Error);
    }

    [Fact]
    public void Code_requests_are_rate_limited_per_number()
    {
        var state = Run(VerificationState.Empty, new RequestCode(Phone, "1"), T0, out _);
        Run(state, new RequestCode(Phone, "2"), T0.AddSeconds(5), out var tooSoon);
        var rejected = Assert.IsType<R.Rejected>(tooSoon);
        Assert.Equal(VerificationError.RateLimited, rejected.Error);
        Assert.Equal(TimeSpan.FromSeconds(25), rejected.RetryAfter);

        var t = T0;
        for (var i = 1; i < VerificationState.MaxRequestsPerWindow; i++)
        {
            t = t.AddMinutes(1);
            state = Run(state, new RequestCode(Phone, "x"), t, out var ok);
            Assert.IsType<R.CodeSent>(ok);
        }
        Run(state, new RequestCode(Phone, "y"), t.AddMinutes(1), out var tooMany);
        Assert.Equal(VerificationError.RateLimited, Assert.IsType<R.Rejected>(tooMany).Error);
        Run(state, new RequestCode(Phone, "z"), T0 + VerificationState.RequestWindow, out var later);
        Assert.IsType<R.CodeSent>(later);
    }
}
