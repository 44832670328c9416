using System.Security.Cryptography;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.WhatsApp.Domain.Presence;
using A = Akka.WhatsApp.Domain.Accounts.AccountReplies;

namespace Akka.WhatsApp.Edge.Sessions;

/// <summary>
/// A not-yet-linked device waiting for its primary to approve the link code it shows. On approval it checks
/// the identity key the primary scanned, links itself to the account with a fresh token, and hands that
/// token to its own connection only. It answers the approving session and stops; it expires after 5 minutes.
/// </summary>
public sealed class LinkWaiterActor : ReceiveActor, IWithTimers
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(5);

    private sealed class Expired : INoSerializationVerificationNeeded
    {
        public static readonly Expired Instance = new();
    }

    private sealed record Linked(LinkApproved Approval, byte[] Token, IAccountReply Reply) : INoSerializationVerificationNeeded;

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="codeAnswer">Sent to the device once the subscription to approvals is acknowledged (before, an
    /// approval published at once would find nobody listening).</param>
    public LinkWaiterActor(string code, string deviceName, Platform platform, byte[] identityKey, Action<Frame> send, EdgeBackend backend,
        Frame codeAnswer)
    {
        Receive<SubscribeAck>(_ => send(codeAnswer));
        Receive<LinkApproved>(approval =>
        {
            if (!CryptographicOperations.FixedTimeEquals(approval.IdentityKey, identityKey))
            {
                approval.ReplyTo.Tell(new LinkResult(code, 0, (int)ErrorCode.Forbidden, "the identity key does not match the device showing this code"));
                return;
            }
            var token = RandomNumberGenerator.GetBytes(32);
            backend.Accounts.Ask<IAccountReply>(new AccountCommands.LinkDevice(approval.User, approval.ApprovedBy, AccountState.HashToken(token), deviceName, (int)platform),
                    backend.AskTimeout)
                .ContinueWith(t => new Linked(approval, token, t.IsCompletedSuccessfully ? t.Result : new A.Rejected(AccountError.InvalidArgument, "no answer")),
                    TaskScheduler.Default)
                .PipeTo(Self);
            Become(Linking);
        });
        Receive<Expired>(_ => Fail(ErrorCode.CodeExpired));
        Receive<LinkRejected>(_ => Fail(ErrorCode.Forbidden));
        Timers.StartSingleTimer("expiry", Expired.Instance, Lifetime);
        backend.PresenceBus.Tell(new Subscribe(LinkTopics.Link(code), Self));

        void Linking()
        {
            Receive<Linked>(linked =>
            {
                if (linked.Reply is A.DeviceLinked ok)
                {
                    send(new Frame
                    {
                        DeviceLinked = new DeviceLinked
                        {
                            UserId = linked.Approval.User.Value,
                            DeviceId = ok.Device.Value,
                            Token = Google.Protobuf.ByteString.CopyFrom(linked.Token),
                            PhoneNumber = ok.Phone,
                            AccountSignature = Google.Protobuf.ByteString.CopyFrom(linked.Approval.AccountSignature),
                        },
                    });
                    linked.Approval.ReplyTo.Tell(new LinkResult(code, ok.Device.Value, 0, ""));
                }
                else
                {
                    var (error, reason) = linked.Reply is A.Rejected { Error: AccountError.TooManyDevices } r
                        ? (ErrorCode.TooManyDevices, r.Reason)
                        : (ErrorCode.Forbidden, (linked.Reply as A.Rejected)?.Reason ?? "refused");
                    linked.Approval.ReplyTo.Tell(new LinkResult(code, 0, (int)error, reason));
                    send(new Frame { DeviceLinkFailed = new DeviceLinkFailed { LinkCode = code, Reason = error } });
                }
                Context.Stop(Self);
            });
            Receive<Expired>(_ => { });
            Receive<LinkApproved>(a => a.ReplyTo.Tell(new LinkResult(code, 0, (int)ErrorCode.CodeInvalid, "this code was already used")));
        }

        void Fail(ErrorCode reason)
        {
            send(new Frame { DeviceLinkFailed = new DeviceLinkFailed { LinkCode = code, Reason = reason } });
            Context.Stop(Self);
        }
    }
}
