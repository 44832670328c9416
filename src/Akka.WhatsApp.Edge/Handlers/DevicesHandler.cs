using System.Security.Cryptography;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.WhatsApp.Domain.Mailbox;
using Akka.WhatsApp.Domain.Presence;
using A = Akka.WhatsApp.Domain.Accounts.AccountReplies;
using static Akka.WhatsApp.Edge.Handlers.EdgeSessionExtensions;

namespace Akka.WhatsApp.Edge.Handlers;

/// <summary>A user's devices (PROTOCOL.md §7): the list, linking a companion (the new device shows a code, the primary approves it), removing one.</summary>
public sealed class DevicesHandler : IPacketHandler
{
    private const int MaxDeviceName = 64;
    private const int MaxIdentityKey = 64;

    public void Register(PacketTable table) => table
        .Request(Frame.PacketOneofCase.ListDevices, ListAsync)
        .Request(Frame.PacketOneofCase.RemoveDevice, RemoveAsync)
        .BeforeLogin(Frame.PacketOneofCase.RequestDeviceLink, OnRequestLink)
        .Request(Frame.PacketOneofCase.ApproveDeviceLink, ApproveLinkAsync)
        .Immediate(Frame.PacketOneofCase.RejectDeviceLink, OnRejectLink);

    private static async Task<Frame?> RemoveAsync(Frame frame, IEdgeSession session)
    {
        var target = new DeviceId(frame.RemoveDevice.DeviceId);
        if (target == DeviceId.Primary)
            throw new RequestException(ErrorCode.InvalidArgument, "the primary device is replaced by registering the number again");
        await UnlinkAsync(session, target);
        return await ListAsync(frame, session);
    }

    /// <summary>Unlinks a device (the account decides who may): its token stops working, its queue is dropped, its connection closed.</summary>
    public static async Task UnlinkAsync(IEdgeSession session, DeviceId device)
    {
        switch (await session.AskAsync<IAccountReply>(session.Backend.Accounts, new AccountCommands.UnlinkDevice(session.User, session.Device, device)))
        {
            case A.Done:
                // Its sessions on every node are told by the account; the mailbox closes an attached one with DEVICE_REMOVED.
                session.Backend.Mailboxes.Tell(new MailboxCommands.DropDevice(session.User, device));
                break;
            case A.Rejected { Error: AccountError.NotFound } r:
                throw new RequestException(ErrorCode.NotFound, r.Reason);
            case A.Rejected { Error: AccountError.NotPrimary } r:
                throw new RequestException(ErrorCode.NotPrimary, r.Reason);
            case A.Rejected r:
                throw new RequestException(ErrorCode.Forbidden, r.Reason);
        }
    }

    private static async Task<Frame?> ListAsync(Frame frame, IEdgeSession session)
    {
        var backend = session.Backend;
        var devices = await session.AskAsync<IAccountReply>(backend.Accounts, new AccountCommands.GetDevices(session.User)) as A.Devices
            ?? throw new RequestException(ErrorCode.NotFound, "no such account");
        var presence = await session.AskAsync<IMailboxReply>(backend.Mailboxes, new MailboxCommands.GetPresence(session.User)) as MailboxReplies.PresenceIs;
        var now = WireMapping.Ms(session.Time.GetUtcNow());
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

    private static void OnRequestLink(Frame frame, IEdgeSession session)
    {
        var request = frame.RequestDeviceLink;
        if (request.IdentityKey.IsEmpty || request.IdentityKey.Length > MaxIdentityKey)
        {
            session.Refuse(frame, ErrorCode.InvalidArgument, $"identity_key is required (at most {MaxIdentityKey} bytes)");
            return;
        }
        var code = Convert.ToBase64String(RandomNumberGenerator.GetBytes(18)).Replace('+', '-').Replace('/', '_');
        var name = string.IsNullOrWhiteSpace(request.DeviceName) ? "companion" : request.DeviceName[..Math.Min(request.DeviceName.Length, MaxDeviceName)];
        var key = request.IdentityKey.ToByteArray();
        var backend = session.Backend;
        // The waiter sends the code once it listens for the approval: a primary quick to approve must find it.
        var answer = new Frame
        {
            RequestId = frame.RequestId,
            DeviceLinkCode = new DeviceLinkCode { LinkCode = code, ExpiresAt = WireMapping.Ms(session.Time.GetUtcNow() + LinkWaiterActor.Lifetime) },
        };
        Action<Frame> send = session.Send;
        session.WaitForLink(() => backend.System.ActorOf(Props.Create(() => new LinkWaiterActor(code, name, request.Platform, key, send, backend, answer))));
    }

    private static async Task<Frame?> ApproveLinkAsync(Frame frame, IEdgeSession session)
    {
        var approve = frame.ApproveDeviceLink;
        if (session.Device != DeviceId.Primary)
            throw new RequestException(ErrorCode.NotPrimary, "only the primary device can approve a link");
        if (approve.LinkCode.Length == 0)
            throw new RequestException(ErrorCode.InvalidArgument, "link_code is required");
        if (approve.AccountSignature.Length > KeysHandler.MaxAccountSignature)
            throw new RequestException(ErrorCode.InvalidArgument, $"account_signature has at most {KeysHandler.MaxAccountSignature} bytes");
        LinkResult result;
        try
        {
            var (user, device) = (session.User, session.Device);
            result = await session.Backend.PresenceBus.Ask<LinkResult>(
                replyTo => new Publish(LinkTopics.Link(approve.LinkCode), new LinkApproved(approve.LinkCode, user, device, approve.IdentityKey.ToByteArray(), replyTo,
                    approve.AccountSignature.ToByteArray())),
                LinkApprovalTimeout, CancellationToken.None);
        }
        catch (AskTimeoutException)
        {
            throw new RequestException(ErrorCode.CodeInvalid, "no device is waiting with this code");
        }
        if (result.ErrorCode != 0)
            throw new RequestException((ErrorCode)result.ErrorCode, result.Reason);
        return await ListAsync(frame, session);
    }

    /// <summary>How long an approval waits for the device showing the code to answer (it is on some node of the cluster).</summary>
    private static readonly TimeSpan LinkApprovalTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The user declined the device showing this code: it is told FORBIDDEN. Unknown codes are ignored.</summary>
    private static void OnRejectLink(Frame frame, IEdgeSession session)
    {
        if (session.Device != DeviceId.Primary)
        {
            session.Refuse(frame, ErrorCode.NotPrimary, "only the primary device can reject a link");
            return;
        }
        session.Backend.PresenceBus.Tell(new Publish(LinkTopics.Link(frame.RejectDeviceLink.LinkCode), new LinkRejected(frame.RejectDeviceLink.LinkCode)));
        session.Send(new Frame { RequestId = frame.RequestId, Ok = new Ok() });
    }
}
