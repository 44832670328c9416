using System.Security.Cryptography;
using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.WhatsApp.Domain.Presence;
using Akka.WhatsApp.Protocol;

namespace Akka.WhatsApp.Edge.Sessions;

/// <summary>Linking a companion device: the new device shows a code, the primary approves it.</summary>
public sealed partial class ClientSession
{
    private IActorRef? _linkWaiter;

    private void OnRequestDeviceLink(Frame frame)
    {
        var request = frame.RequestDeviceLink;
        if (request.IdentityKey.IsEmpty || request.IdentityKey.Length > 64)
        {
            Reply(frame, ErrorCode.InvalidArgument, "identity_key is required (at most 64 bytes)", close: false);
            return;
        }
        var code = Convert.ToBase64String(RandomNumberGenerator.GetBytes(18)).Replace('+', '-').Replace('/', '_');
        var name = string.IsNullOrWhiteSpace(request.DeviceName) ? "companion" : request.DeviceName[..Math.Min(request.DeviceName.Length, 64)];
        var key = request.IdentityKey.ToByteArray();
        var backend = Backend;
        // The waiter sends the code once it listens for the approval: a primary quick to approve must find it.
        var answer = new Frame
        {
            RequestId = frame.RequestId,
            DeviceLinkCode = new DeviceLinkCode { LinkCode = code, ExpiresAt = WireMapping.Ms(_time.GetUtcNow() + LinkWaiterActor.Lifetime) },
        };
        lock (_gate)
        {
            _linkWaiter?.Tell(PoisonPill.Instance);
            _linkWaiter = backend.System.ActorOf(Props.Create(() => new LinkWaiterActor(code, name, request.Platform, key, _connection, backend, answer)));
        }
    }

    private async Task<Frame?> ApproveDeviceLinkAsync(Frame frame)
    {
        var approve = frame.ApproveDeviceLink;
        if (Device != Domain.DeviceId.Primary)
            throw new RequestException(ErrorCode.NotPrimary, "only the primary device can approve a link");
        if (approve.LinkCode.Length == 0)
            throw new RequestException(ErrorCode.InvalidArgument, "link_code is required");
        LinkResult result;
        try
        {
            result = await Backend.PresenceBus.Ask<LinkResult>(
                replyTo => new Publish(LinkTopics.Link(approve.LinkCode), new LinkApproved(approve.LinkCode, User, Device, approve.IdentityKey.ToByteArray(), replyTo)),
                TimeSpan.FromSeconds(5), CancellationToken.None);
        }
        catch (AskTimeoutException)
        {
            throw new RequestException(ErrorCode.CodeInvalid, "no device is waiting with this code");
        }
        if (result.ErrorCode != 0)
            throw new RequestException((ErrorCode)result.ErrorCode, result.Reason);
        return await ListDevicesAsync(frame);
    }

    /// <summary>The user declined the device showing this code: it is told FORBIDDEN. Unknown codes are ignored.</summary>
    private void OnRejectDeviceLink(Frame frame)
    {
        if (Device != Domain.DeviceId.Primary)
        {
            Reply(frame, ErrorCode.NotPrimary, "only the primary device can reject a link", close: false);
            return;
        }
        Backend.PresenceBus.Tell(new Publish(LinkTopics.Link(frame.RejectDeviceLink.LinkCode), new LinkRejected(frame.RejectDeviceLink.LinkCode)));
        _connection.Send(new Frame { RequestId = frame.RequestId, Ok = new Ok() });
    }
}
