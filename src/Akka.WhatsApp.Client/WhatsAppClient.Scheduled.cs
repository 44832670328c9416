using Akka.WhatsApp.Protocol;
using Google.Protobuf;

namespace Akka.WhatsApp.Client;

/// <summary>
/// Scheduled messages (PROTOCOL.md §8.8): <see cref="SendAsync"/> and <see cref="GroupSendAsync"/> with a send time hand
/// the server the ciphertexts now; these list, move and cancel what is pending. When a scheduled message went out and
/// some recipient devices were linked or reinstalled since it was encrypted, the server names them in a SYSTEM
/// scheduled_update to the scheduling device, which encrypts the stored message for them and resends it here, by itself.
/// </summary>
public sealed partial class WhatsAppClient
{
    /// <summary>This user's scheduled messages that are not sent yet, by send time.</summary>
    public async Task<IReadOnlyList<ScheduledMessageInfo>> ListScheduledAsync(CancellationToken cancellationToken = default)
    {
        var reply = await RequestAsync(new Frame { ListScheduled = new ListScheduled() }, cancellationToken);
        return Expect(reply, reply.ScheduledList).Messages;
    }

    /// <summary>Moves a pending scheduled message to <paramref name="sendAt"/> (NOT_FOUND once it is sent or cancelled).</summary>
    public async Task RescheduleAsync(ByteString messageId, DateTimeOffset sendAt, CancellationToken cancellationToken = default) =>
        await RequestAsync(new Frame
        {
            RescheduleMessage = new RescheduleMessage { MessageId = messageId, SendAt = SendAtOf(sendAt) },
        }, cancellationToken);

    /// <summary>Cancels a pending scheduled message: it is never delivered (NOT_FOUND once it is sent).</summary>
    public async Task CancelScheduledAsync(ByteString messageId, CancellationToken cancellationToken = default) =>
        await RequestAsync(new Frame { CancelScheduled = new CancelScheduled { MessageId = messageId } }, cancellationToken);

    private static ulong SendAtOf(DateTimeOffset? sendAt) => sendAt is { } at ? (ulong)Math.Max(0, at.ToUnixTimeMilliseconds()) : 0;

    /// <summary>
    /// A scheduled message of this device went out (§8.8): the devices the stored ciphertexts no longer fit get a copy
    /// encrypted now from the message store, under the same id (a resend when some device got the message, else the
    /// message is sent afresh to the current devices). The server names the device that does it (the scheduling one, or
    /// the primary once that was removed: it has the sync copy); the others only take note.
    /// </summary>
    private void OnScheduledUpdate(ScheduledUpdate update)
    {
        var resendBy = update.ResendByDeviceId != 0 ? update.ResendByDeviceId : update.FromDeviceId;
        if (update.Outcome != ScheduledOutcome.Sent || resendBy != Credentials.DeviceId || update.Resend.Count == 0
            || _options.Store is not { } store || store.Outgoing(Storage.MessageStore.Hex(update.MessageId)) is not { } original)
            return;
        _ = Task.Run(async () =>
        {
            try
            {
                if (!update.Delivered && update.GroupId.Length == 0)
                {
                    await SendAsync(update.ToUserId, original.Body, original.Kind, update.MessageId.ToByteArray(), cancellationToken: _closing.Token);
                    return;
                }
                foreach (var stale in update.Resend)
                    foreach (var device in stale.MissingDeviceIds.Union(stale.StaleDeviceIds))
                        await ResendCopyAsync(stale.UserId, device, original, update.MessageId, update.GroupId);
            }
            catch (Exception e) when (e is IOException or TimeoutException or ServerErrorException or OperationCanceledException or ObjectDisposedException
                                          or System.Security.Cryptography.CryptographicException or InvalidOperationException or EncryptionException)
            {
                // The message then stays missing on the devices left out (the others have it); the next message works as usual.
            }
        });
    }
}
