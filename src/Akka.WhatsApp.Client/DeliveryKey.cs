using Akka.WhatsApp.Protocol;
using Google.Protobuf;

namespace Akka.WhatsApp.Client;

/// <summary>
/// What makes a delivered message unique (PROTOCOL.md §8.1, §11): (group, message id) for group messages and
/// group events, (sender, message id) otherwise. A client that stores messages deduplicates by it too.
/// </summary>
public readonly record struct DeliveryKey(string Conversation, bool IsGroup, ByteString MessageId)
{
    public static DeliveryKey Of(Deliver deliver) => deliver.GroupId.Length > 0
        ? new DeliveryKey(deliver.GroupId, IsGroup: true, deliver.MessageId)
        : new DeliveryKey(deliver.FromUserId, IsGroup: false, deliver.MessageId);
}
