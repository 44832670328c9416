using System.Security.Cryptography;
using Akka.WhatsApp.Domain.Mailbox;
using Akka.WhatsApp.Domain.Registration;
using A = Akka.WhatsApp.Domain.Accounts.AccountReplies;
using V = Akka.WhatsApp.Domain.Registration.VerificationReplies;

namespace Akka.WhatsApp.Edge.Handlers;

/// <summary>Registration, login and logout (PROTOCOL.md §6).</summary>
public sealed class AuthHandler : IPacketHandler
{
    private const int TokenBytes = 32;
    private const int MaxDeviceName = 64;

    public void Register(PacketTable table) => table
        .BeforeLogin(Frame.PacketOneofCase.RequestCode, RequestCodeAsync)
        .BeforeLogin(Frame.PacketOneofCase.VerifyCode, VerifyCodeAsync, login: true)
        .BeforeLogin(Frame.PacketOneofCase.Login, LoginAsync, login: true)
        .Request(Frame.PacketOneofCase.Logout, LogoutAsync);

    private static async Task<Frame?> RequestCodeAsync(Frame frame, IEdgeSession session)
    {
        if (session.Settings.AuthThrottle.CodeRequested(session.RemoteAddress, session.Time.GetUtcNow()) is { } codeWait)
            throw new RequestException(ErrorCode.RateLimited, "too many verification codes requested from this address; try again later", WaitAtLeast(codeWait));
        var phone = frame.RequestCode.PhoneNumber;
        var channel = frame.RequestCode.Delivery == CodeDelivery.Voice ? CodeChannel.Voice : CodeChannel.Sms;
        return await session.AskAsync<IVerificationReply>(session.Backend.Verifications, new VerificationCommands.RequestCode(phone, "", channel)) switch
        {
            V.CodeSent sent => new Frame
            {
                CodeSent = new CodeSent
                {
                    PhoneNumber = phone,
                    Delivery = channel == CodeChannel.Voice ? CodeDelivery.Voice : CodeDelivery.Sms,
                    CodeLength = 6,
                    ExpiresAt = WireMapping.Ms(sent.ExpiresAt),
                    RetryAfterSeconds = (uint)Math.Ceiling(sent.RetryAfter.TotalSeconds),
                },
            },
            V.Rejected r => throw Refused(r),
            _ => throw new RequestException(ErrorCode.Internal, "unexpected answer"),
        };
    }

    private static RequestException Refused(V.Rejected r) => r.Error switch
    {
        VerificationError.RateLimited => new RequestException(ErrorCode.RateLimited, r.Reason, WaitAtLeast(r.RetryAfter)),
        VerificationError.CodeExpired => new RequestException(ErrorCode.CodeExpired, r.Reason),
        VerificationError.CodeInvalid => new RequestException(ErrorCode.CodeInvalid, r.Reason),
        VerificationError.Unavailable => new RequestException(ErrorCode.Unavailable, r.Reason, WaitAtLeast(r.RetryAfter)),
        _ => new RequestException(ErrorCode.InvalidArgument, r.Reason),
    };

    private static async Task<Frame?> VerifyCodeAsync(Frame frame, IEdgeSession session)
    {
        var request = frame.VerifyCode;
        var phone = request.PhoneNumber;
        var backend = session.Backend;
        ThrowIfThrottled(session, account: null);
        var verified = await session.AskAsync<IVerificationReply>(backend.Verifications, new VerificationCommands.VerifyCode(phone, request.Code, UserId.New())) switch
        {
            V.Verified v => v,
            V.Rejected { Error: VerificationError.CodeInvalid or VerificationError.CodeExpired } r => throw Failed(session, null, Refused(r)),
            V.Rejected r => throw Refused(r),
            _ => throw new RequestException(ErrorCode.Internal, "unexpected answer"),
        };

        var earlier = verified.NewUser ? null : await session.AskAsync<IAccountReply>(backend.Accounts, new AccountCommands.GetDevices(verified.User)) as A.Devices;
        var token = RandomNumberGenerator.GetBytes(TokenBytes);
        var tokenHash = AccountState.HashToken(token);
        var name = string.IsNullOrWhiteSpace(request.DeviceName) ? "primary" : request.DeviceName;
        var registered = await session.AskAsync<IAccountReply>(backend.Accounts,
                new AccountCommands.RegisterPrimary(verified.User, phone, tokenHash, name[..Math.Min(name.Length, MaxDeviceName)], (int)session.Platform))
            as A.Authenticated ?? throw new RequestException(ErrorCode.Internal, "unexpected answer from the backend");
        // Registering a number again starts over with a new primary (PROTOCOL.md §6): the earlier devices' tokens no
        // longer work (their sessions are told, on every node), and what their mailbox kept for them is dropped, since
        // it was encrypted for keys that are gone. Dropped before this session attaches, so that the new primary keeps
        // its own queue; a connection of an earlier device still attached is closed with DEVICE_REMOVED.
        foreach (var device in AccountState.DevicesDroppedByRegistration(earlier?.List))
            await session.AskAsync<IMailboxReply>(backend.Mailboxes, new MailboxCommands.DropDevice(verified.User, device));

        var (user, isNew) = (verified.User, verified.NewUser);
        session.LoggedIn(user, new DeviceToken(DeviceId.Primary, AccountState.Fingerprint(tokenHash)), registered.Generation, 0, _ => new Frame
        {
            RequestId = frame.RequestId,
            Registered = new Registered
            {
                UserId = user.Value,
                DeviceId = DeviceId.Primary.Value,
                Token = Google.Protobuf.ByteString.CopyFrom(token),
                NewAccount = isNew,
                DeliveryWindow = (uint)session.Settings.DeliveryWindow,
            },
        });
        return null; // the device's actor answers, before the backlog
    }

    private static async Task<Frame?> LoginAsync(Frame frame, IEdgeSession session)
    {
        var login = frame.Login;
        if (login.UserId.Length == 0 || login.DeviceId == 0 || login.Token.IsEmpty)
            throw Failed(session, null, new RequestException(ErrorCode.BadCredentials, "unknown device or wrong token"));
        var user = new UserId(login.UserId);
        var device = new DeviceId(login.DeviceId);
        ThrowIfThrottled(session, user.Value);
        var tokenHash = AccountState.HashToken(login.Token.Span);
        if (await session.AskAsync<IAccountReply>(session.Backend.Accounts, new AccountCommands.Authenticate(user, device, tokenHash)) is not A.Authenticated ok)
            throw Failed(session, user.Value, new RequestException(ErrorCode.BadCredentials, "unknown device or wrong token"));

        var window = (uint)session.Settings.DeliveryWindow;
        session.LoggedIn(user, new DeviceToken(device, AccountState.Fingerprint(tokenHash)), ok.Generation, (long)Math.Min(login.LastAckedSeq, long.MaxValue),
            acked => new Frame
            {
                RequestId = frame.RequestId,
                LoginOk = new LoginOk
                {
                    UserId = user.Value, DeviceId = device.Value, LastAckedSeq = (ulong)acked, DeliveryWindow = window, PhoneNumber = ok.Phone,
                },
            }, ok.HasKeys);
        return null;
    }

    private static async Task<Frame?> LogoutAsync(Frame frame, IEdgeSession session)
    {
        await DevicesHandler.UnlinkAsync(session, session.Device);
        session.Close(new Frame { RequestId = frame.RequestId, Ok = new Ok() });
        return null;
    }

    /// <summary>RATE_LIMITED while this address, or this account, has failed too often in the current window.</summary>
    private static void ThrowIfThrottled(IEdgeSession session, string? account)
    {
        if (session.Settings.AuthThrottle.LoginBlocked(session.RemoteAddress, account, session.Time.GetUtcNow()) is { } wait)
            throw new RequestException(ErrorCode.RateLimited,
                account is null ? "too many failed attempts from this address; try again later" : "too many failed logins; try again later",
                WaitAtLeast(wait));
    }

    /// <summary>Counts a failed login or verification against the address and the account, and gives back the refusal to throw.</summary>
    private static RequestException Failed(IEdgeSession session, string? account, RequestException refusal)
    {
        session.Settings.AuthThrottle.Failed(session.RemoteAddress, account, session.Time.GetUtcNow());
        return refusal;
    }

    /// <summary>retry_after_ms rounded up: a client that waits exactly that long is never refused again for it.</summary>
    internal static ulong WaitAtLeast(TimeSpan retryAfter) => (ulong)Math.Ceiling(Math.Max(0, retryAfter.TotalMilliseconds));
}
