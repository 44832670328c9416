using System.Security.Cryptography;
using Akka.Event;
using Akka.Persistence;
using Akka.WhatsApp.Domain.Registration;
using static Akka.WhatsApp.Domain.Registration.VerificationEvents;

namespace Akka.WhatsApp.Cluster.Registration;

/// <summary>
/// The sharded persistent entity verifying one phone number. Sends each new code through the SMS gateway
/// once the code is persisted, and records a verified number in the phone directory before it replies.
/// </summary>
public sealed class VerificationActor : AggregateActor<VerificationState, IVerificationCommand, IVerificationEvent, IVerificationReply>
{
    private readonly string _phone;
    private readonly ISmsGateway _sms;
    private readonly IPhoneDirectory _directory;
    private (string Code, CodeChannel Channel)? _lastCode;

    public VerificationActor(string phone, ISmsGateway sms, IPhoneDirectory directory)
        : base("phone-" + phone, VerificationState.Empty)
    {
        _phone = phone;
        _sms = sms;
        _directory = directory;
    }

    /// <summary>A number verified before a crash is written to the directory again (idempotent) when it comes back.</summary>
    protected override void OnRecovered()
    {
        if (State.User is not { } user)
            return;
        var (log, id) = (Log, PersistenceId);
        _directory.RegisterAsync(_phone, user, CancellationToken.None).ContinueWith(
            t => log.Warning("{0}: directory refresh failed: {1}", id, t.Exception?.GetBaseException().Message),
            CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
    }

    public static Props PropsFor(string phone, ISmsGateway sms, IPhoneDirectory directory) =>
        Props.Create(() => new VerificationActor(phone, sms, directory));

    /// <summary>Codes are generated here, not in the pure state, and only their hash is persisted.</summary>
    protected override IVerificationCommand Prepare(IVerificationCommand command)
    {
        if (command is not VerificationCommands.RequestCode r)
            return command;
        var code = RandomNumberGenerator.GetInt32(0, 1_000_000).ToString("D6", System.Globalization.CultureInfo.InvariantCulture);
        _lastCode = (code, r.Channel);
        return r with { Code = code };
    }

    /// <summary>A code the gateway could not send is reported, so the client does not wait for an SMS that never comes.</summary>
    protected override IVerificationReply ReplyWhenEffectFailed(IVerificationReply reply, Exception failure) =>
        reply is VerificationReplies.CodeSent
            ? new VerificationReplies.Rejected(VerificationError.Unavailable, "the verification code could not be sent; try again later", TimeSpan.FromSeconds(30))
            : reply;

    protected override Task? OnPersisted(IVerificationEvent @event)
    {
        switch (@event)
        {
            case CodeIssued when _lastCode is { } issued:
                _lastCode = null;
                return _sms.SendCodeAsync(_phone, issued.Code, issued.Channel, CancellationToken.None);
            case NumberVerified v:
                return _directory.RegisterAsync(_phone, v.User, CancellationToken.None);
            default:
                return null;
        }
    }
}
