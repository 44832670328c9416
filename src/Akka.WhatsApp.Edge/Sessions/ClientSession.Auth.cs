using System.Security.Cryptography;
using Akka.Actor;
using Akka.WhatsApp.Domain;
using Akka.WhatsApp.Domain.Accounts;
using Akka.WhatsApp.Domain.Mailbox;
using Akka.WhatsApp.Domain.Registration;
using Akka.WhatsApp.Protocol;
using A = Akka.WhatsApp.Domain.Accounts.AccountReplies;
using V = Akka.WhatsApp.Domain.Registration.VerificationReplies;

namespace Akka.WhatsApp.Edge.Sessions;

/// <summary>Registration, login, logout and devices.</summary>
public sealed partial class ClientSession
{
    private const int TokenBytes = 32;

    private async Task<T> AskAsync<T>(IActorRef target, object message) where T : class =>
        await target.Ask<object>(message, Backend.AskTimeout) as T
        ?? throw new RequestException(ErrorCode.Internal, "unexpected answer from the backend");

    private async Task<Frame?> RequestCodeAsync(Frame frame)
    {
        var phone = frame.RequestCode.PhoneNumber;
        var reply = await AskAsync<IVerificationReply>(Backend.Verifications, new VerificationCommands.RequestCode(phone, ""));
        return reply switch
        {
            V.CodeSent sent => new Frame
            {
                CodeSent = new CodeSent
                {
                    PhoneNumber = phone,
                    Delivery = CodeDelivery.Sms,
                    CodeLength = 6,
                    ExpiresAt = WireMapping.Ms(sent.ExpiresAt),
                    RetryAfterSeconds = (uint)sent.RetryAfter.TotalSeconds,
                },
            },
            V.Rejected r => throw RefusedVerification(r),
            _ => throw new RequestException(ErrorCode.Internal, "unexpected answer"),
        };
    }

    private static RequestException RefusedVerification(V.Rejected r) => r.Error switch
    {
        Domain.Registration.VerificationError.RateLimited => new RequestException(ErrorCode.RateLimited, r.Reason, (ulong)r.RetryAfter.TotalMilliseconds),
        Domain.Registration.VerificationError.CodeExpired => new RequestException(ErrorCode.CodeExpired, r.Reason),
        Domain.Registration.VerificationError.CodeInvalid => new RequestException(ErrorCode.CodeInvalid, r.Reason),
        Domain.Registration.VerificationError.Unavailable => new RequestException(ErrorCode.Unavailable, r.Reason, (ulong)r.RetryAfter.TotalMilliseconds),
        _ => new RequestException(ErrorCode.InvalidArgument, r.Reason),
    };

    /// <summary>Moves to LoggingIn while the handler checks credentials; back to Handshaking if it fails.</summary>
    private void BeginLogin(Frame frame, Func<Frame, Task<Frame?>> handler)
    {
        lock (_gate)
        {
            if (State != SessionState.Handshaking)
                return;
            State = SessionState.LoggingIn;
        }
        Run(frame, async f =>
        {
            try
            {
                return await handler(f);
            }
            catch
            {
                lock (_gate)
                    if (State == SessionState.LoggingIn)
                        State = SessionState.Handshaking;
                throw;
            }
        });
    }

    private async Task<Frame?> VerifyCodeAsync(Frame frame)
    {
        var request = frame.VerifyCode;
        var phone = request.PhoneNumber;
        var candidate = UserId.New();
        var verified = await AskAsync<IVerificationReply>(Backend.Verifications, new VerificationCommands.VerifyCode(phone, request.Code, candidate)) switch
        {
            V.Verified v => v,
            V.Rejected r => throw RefusedVerification(r),
            _ => throw new RequestException(ErrorCode.Internal, "unexpected answer"),
        };

        var earlier = verified.NewUser ? null : await AskAsync<IAccountReply>(Backend.Accounts, new AccountCommands.GetDevices(verified.User)) as A.Devices;
        var token = RandomNumberGenerator.GetBytes(TokenBytes);
        var tokenHash = AccountState.HashToken(token);
        var name = string.IsNullOrWhiteSpace(request.DeviceName) ? "primary" : request.DeviceName;
        var registered = await AskAsync<IAccountReply>(Backend.Accounts,
            new AccountCommands.RegisterPrimary(verified.User, phone, tokenHash, name[..Math.Min(name.Length, 64)], (int)_platform)) as A.Authenticated
            ?? throw new RequestException(ErrorCode.Internal, "unexpected answer from the backend");
        // Registering a number again starts over with a new primary (PROTOCOL.md §6): the earlier devices' tokens no
        // longer work (their sessions are told, on every node), and what their mailbox kept for them is dropped, since
        // it was encrypted for keys that are gone. Dropped before this session attaches, so that the new primary keeps
        // its own queue; a connection of an earlier device still attached is closed with DEVICE_REMOVED.
        foreach (var device in earlier?.List ?? [])
            await AskAsync<IMailboxReply>(Backend.Mailboxes, new MailboxCommands.DropDevice(verified.User, device.Id));

        var user = verified.User;
        var isNew = verified.NewUser;
        Authenticate(user, new DeviceToken(DeviceId.Primary, AccountState.Fingerprint(tokenHash)), registered.Generation, 0, _ => new Frame
        {
            RequestId = frame.RequestId,
            Registered = new Registered
            {
                UserId = user.Value,
                DeviceId = DeviceId.Primary.Value,
                Token = Google.Protobuf.ByteString.CopyFrom(token),
                NewAccount = isNew,
                DeliveryWindow = (uint)_settings.DeliveryWindow,
            },
        });
        return null;
    }

    private async Task<Frame?> LoginAsync(Frame frame)
    {
        var login = frame.Login;
        if (login.UserId.Length == 0 || login.DeviceId == 0 || login.Token.IsEmpty)
            throw new RequestException(ErrorCode.BadCredentials, "unknown device or wrong token");
        var user = new UserId(login.UserId);
        var device = new DeviceId(login.DeviceId);
        var tokenHash = AccountState.HashToken(login.Token.Span);
        var reply = await AskAsync<IAccountReply>(Backend.Accounts, new AccountCommands.Authenticate(user, device, tokenHash));
        if (reply is not A.Authenticated ok)
            throw new RequestException(ErrorCode.BadCredentials, "unknown device or wrong token");

        Authenticate(user, new DeviceToken(device, AccountState.Fingerprint(tokenHash)), ok.Generation, (long)Math.Min(login.LastAckedSeq, long.MaxValue), acked => new Frame
        {
            RequestId = frame.RequestId,
            LoginOk = new LoginOk
            {
                UserId = user.Value,
                DeviceId = device.Value,
                LastAckedSeq = (ulong)acked,
                DeliveryWindow = (uint)_settings.DeliveryWindow,
                PhoneNumber = ok.Phone,
            },
        });
        return null;
    }

    /// <summary>The connection is now this device: its session actor attaches to the mailbox and sends the login reply.</summary>
    private void Authenticate(UserId user, DeviceToken token, long generation, long ackedUpTo, Func<long, Frame> loginReply)
    {
        lock (_gate)
        {
            if (State != SessionState.LoggingIn)
                return;
            User = user;
            Device = token.Device;
            State = SessionState.Authenticated;
            _sessionActor = Backend.System.ActorOf(
                Props.Create(() => new DeviceSessionActor(user, token, generation, ackedUpTo, _settings.DeliveryWindow, _connection, Backend, loginReply, Close,
                    _time, _settings.Metrics)),
                $"session-{SessionId}");
        }
    }

    private async Task<Frame?> LogoutAsync(Frame frame)
    {
        await UnlinkAsync(Device);
        _connection.SendAndClose(new Frame { RequestId = frame.RequestId, Ok = new Ok() });
        lock (_gate)
            State = SessionState.Closed;
        return null;
    }

    private async Task<Frame?> RemoveDeviceAsync(Frame frame)
    {
        var target = new DeviceId(frame.RemoveDevice.DeviceId);
        if (target == DeviceId.Primary)
            throw new RequestException(ErrorCode.InvalidArgument, "the primary device is replaced by registering the number again");
        if (Device != DeviceId.Primary && target != Device)
            throw new RequestException(ErrorCode.NotPrimary, "only the primary device can remove another device");
        await UnlinkAsync(target);
        return await ListDevicesAsync(frame);
    }

    private async Task UnlinkAsync(DeviceId device)
    {
        var reply = await AskAsync<IAccountReply>(Backend.Accounts, new AccountCommands.UnlinkDevice(User, Device, device));
        switch (reply)
        {
            case A.Done:
                // Its queue is dropped and a live connection of that device is closed with DEVICE_REMOVED.
                Backend.Mailboxes.Tell(new MailboxCommands.DropDevice(User, device));
                break;
            case A.Rejected { Error: AccountError.NotFound } r:
                throw new RequestException(ErrorCode.NotFound, r.Reason);
            case A.Rejected r:
                throw new RequestException(ErrorCode.Forbidden, r.Reason);
        }
    }

    private async Task<Frame?> ListDevicesAsync(Frame frame)
    {
        var devices = await AskAsync<IAccountReply>(Backend.Accounts, new AccountCommands.GetDevices(User)) as A.Devices
            ?? throw new RequestException(ErrorCode.NotFound, "no such account");
        var presence = await AskAsync<IMailboxReply>(Backend.Mailboxes, new MailboxCommands.GetPresence(User)) as MailboxReplies.PresenceIs;
        var now = WireMapping.Ms(_time.GetUtcNow());
        var list = new DeviceList();
        list.Devices.AddRange(devices.List.Select(d =>
        {
            var online = presence?.Devices.Contains(d.Id.Value) ?? false;
            return new DeviceInfo
            {
                DeviceId = d.Id.Value, Name = d.Name, Platform = (Platform)d.Platform, LinkedAt = WireMapping.Ms(d.LinkedAt), Online = online,
                // Connected now: its last connection is this one.
                LastSeenAt = online ? now : d.LastSeen is { } seen ? WireMapping.Ms(seen) : 0,
            };
        }));
        return new Frame { DeviceList = list };
    }
}
