using System.Security.Cryptography;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;

namespace Akka.WhatsApp.Client;

/// <summary>Groups (PROTOCOL.md §11). Group messages and events arrive as <see cref="MessageReceived"/> with Deliver.group_id set.</summary>
public sealed partial class WhatsAppClient
{
    /// <summary>
    /// Creates a group with this user as creator and <paramref name="memberUserIds"/> as the first members (one result each).
    /// Retried under the same <paramref name="requestKey"/> (16 random bytes unless given) across lost replies and
    /// reconnects, so it creates one group.
    /// </summary>
    public async Task<GroupCreated> CreateGroupAsync(string name, IEnumerable<string> memberUserIds, string description = "",
        GroupSettings? settings = null, string iconMediaId = "", byte[]? requestKey = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(memberUserIds);
        ArgumentNullException.ThrowIfNull(description);
        ArgumentNullException.ThrowIfNull(iconMediaId);
        if (requestKey is { Length: not IdLength })
            throw new ArgumentException($"a request key is {IdLength} bytes", nameof(requestKey));
        var key = ByteString.CopyFrom(requestKey ?? RandomNumberGenerator.GetBytes(IdLength));
        var members = memberUserIds.ToArray();
        var reply = await RequestWithRetriesAsync(() =>
        {
            var create = new CreateGroup { Name = name, Description = description, IconMediaId = iconMediaId, Settings = settings?.Clone(), RequestKey = key };
            create.MemberUserIds.AddRange(members);
            return new Frame { CreateGroup = create };
        }, "the group could not be created", recover: null, cancellationToken);
        return Expect(reply, reply.GroupCreated);
    }

    /// <summary>A group this user is a member of (NOT_A_MEMBER otherwise, also for groups that do not exist).</summary>
    public async Task<GroupInfo> GetGroupInfoAsync(string groupId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(groupId);
        var reply = await RequestAsync(new Frame { GetGroupInfo = new GetGroupInfo { GroupId = groupId } }, cancellationToken);
        return Expect(reply, reply.GroupInfo);
    }

    /// <summary>The groups this user is a member of.</summary>
    public async Task<GroupList> ListGroupsAsync(CancellationToken cancellationToken = default)
    {
        var reply = await RequestAsync(new Frame { ListGroups = new ListGroups() }, cancellationToken);
        return Expect(reply, reply.GroupList);
    }

    /// <summary>
    /// Changes what is given and leaves the rest: "" removes the icon; <paramref name="settings"/> replaces all three
    /// settings (admins only), so read them first to change one.
    /// </summary>
    public async Task<GroupInfo> UpdateGroupAsync(string groupId, string? name = null, string? description = null, string? iconMediaId = null,
        GroupSettings? settings = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(groupId);
        if (name is not null)
            ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var update = new UpdateGroup { GroupId = groupId, Settings = settings?.Clone() };
        if (name is not null)
            update.Name = name;
        if (description is not null)
            update.Description = description;
        if (iconMediaId is not null)
            update.IconMediaId = iconMediaId;
        var reply = await RequestAsync(new Frame { UpdateGroup = update }, cancellationToken);
        return Expect(reply, reply.GroupInfo);
    }

    /// <summary>Adds members; each user's outcome is in the result (e.g. FORBIDDEN: invite them with a link instead).</summary>
    public Task<MembersResult> AddMembersAsync(string groupId, IEnumerable<string> userIds, CancellationToken cancellationToken = default) =>
        ChangeMembersAsync(groupId, userIds, (g, users) =>
        {
            var add = new AddMembers { GroupId = g };
            add.UserIds.AddRange(users);
            return new Frame { AddMembers = add };
        }, cancellationToken);

    public Task<MembersResult> RemoveMembersAsync(string groupId, IEnumerable<string> userIds, CancellationToken cancellationToken = default) =>
        ChangeMembersAsync(groupId, userIds, (g, users) =>
        {
            var remove = new RemoveMembers { GroupId = g };
            remove.UserIds.AddRange(users);
            return new Frame { RemoveMembers = remove };
        }, cancellationToken);

    public Task<MembersResult> PromoteAdminsAsync(string groupId, IEnumerable<string> userIds, CancellationToken cancellationToken = default) =>
        ChangeMembersAsync(groupId, userIds, (g, users) =>
        {
            var promote = new PromoteAdmins { GroupId = g };
            promote.UserIds.AddRange(users);
            return new Frame { PromoteAdmins = promote };
        }, cancellationToken);

    public Task<MembersResult> DemoteAdminsAsync(string groupId, IEnumerable<string> userIds, CancellationToken cancellationToken = default) =>
        ChangeMembersAsync(groupId, userIds, (g, users) =>
        {
            var demote = new DemoteAdmins { GroupId = g };
            demote.UserIds.AddRange(users);
            return new Frame { DemoteAdmins = demote };
        }, cancellationToken);

    private async Task<MembersResult> ChangeMembersAsync(string groupId, IEnumerable<string> userIds, Func<string, string[], Frame> request,
        CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(groupId);
        ArgumentNullException.ThrowIfNull(userIds);
        var users = userIds.ToArray();
        if (users.Length == 0 || users.Any(string.IsNullOrEmpty))
            throw new ArgumentException("name at least one user, and no empty user id", nameof(userIds));
        var reply = await RequestAsync(request(groupId, users), cancellationToken);
        return Expect(reply, reply.MembersResult);
    }

    /// <summary>Leaves the group; if this user was its last admin, the longest-standing member becomes admin.</summary>
    public async Task LeaveGroupAsync(string groupId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(groupId);
        await RequestAsync(new Frame { LeaveGroup = new LeaveGroup { GroupId = groupId } }, cancellationToken);
    }

    /// <summary>The group's invite link, created if it has none (admins only).</summary>
    public async Task<InviteLink> CreateInviteLinkAsync(string groupId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(groupId);
        var reply = await RequestAsync(new Frame { CreateInviteLink = new CreateInviteLink { GroupId = groupId } }, cancellationToken);
        return Expect(reply, reply.InviteLink);
    }

    /// <summary>Invalidates the group's invite link (admins only); the next <see cref="CreateInviteLinkAsync"/> makes a new one.</summary>
    public async Task RevokeInviteLinkAsync(string groupId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(groupId);
        await RequestAsync(new Frame { RevokeInviteLink = new RevokeInviteLink { GroupId = groupId } }, cancellationToken);
    }

    /// <summary>What an invite code leads to, without joining (CODE_INVALID when unknown or revoked).</summary>
    public async Task<InvitePreview> PreviewInviteAsync(string code, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(code);
        var reply = await RequestAsync(new Frame { PreviewInvite = new PreviewInvite { Code = code } }, cancellationToken);
        return Expect(reply, reply.InvitePreview);
    }

    /// <summary>Joins the group an invite code leads to; harmless for members.</summary>
    public async Task<GroupInfo> JoinGroupByInviteAsync(string code, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(code);
        var reply = await RequestAsync(new Frame { JoinGroupByInvite = new JoinGroupByInvite { Code = code } }, cancellationToken);
        return Expect(reply, reply.GroupInfo);
    }

    /// <summary>
    /// Posts a message to the group as one sender-key ciphertext for all members: with encryption on
    /// (<see cref="ClientOptions.Keys"/>), <paramref name="payload"/> is encrypted with this device's sender key, which the
    /// members' devices get first; without, it is sent as the ciphertext itself. Returns when the group stored it (✓)
    /// with its group_seq. Retried under the same message id (fresh unless given) across lost replies, reconnects and
    /// rate limiting, so it is stored and shown once.
    /// </summary>
    public async Task<GroupSendResult> GroupSendAsync(string groupId, ReadOnlyMemory<byte> payload, ContentKind kind = ContentKind.Text,
        byte[]? messageId = null, IEnumerable<string>? mentions = null, CancellationToken cancellationToken = default, byte[]? targetMessageId = null,
        DateTimeOffset? sendAt = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(groupId);
        if (messageId is { Length: not IdLength })
            throw new ArgumentException($"a message id is {IdLength} bytes", nameof(messageId));
        if (kind == ContentKind.System)
            throw new ArgumentException("SYSTEM messages are made by the server", nameof(kind));
        var id = ByteString.CopyFrom(messageId ?? Guid.NewGuid().ToByteArray());
        var ciphertext = ByteString.CopyFrom(payload.Span);
        var mentioned = mentions?.ToArray() ?? [];
        var sentAt = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        // Encrypted once, before the first attempt: retries carry the same sender-key message.
        if (_e2e is not null)
            ciphertext = await EncryptForGroupAsync(groupId, new E2eContent { Body = ciphertext }, cancellationToken);
        var reply = await RequestWithRetriesAsync(() =>
        {
            var send = new GroupSend
            {
                GroupId = groupId, MessageId = id, Kind = kind, ClientTimestamp = sentAt, Silent = kind == ContentKind.Reaction, SendAt = SendAtOf(sendAt),
                TargetMessageId = targetMessageId is null ? ByteString.Empty : ByteString.CopyFrom(targetMessageId),
            };
            if (_options.EncryptedByRelay)
                send.PerDevice = new RecipientCiphertexts
                {
                    Items = { new RecipientCiphertext { Device = new DeviceCiphertext { DeviceId = 0, Ciphertext = ciphertext, Type = CiphertextType.Plaintext } } },
                };
            else
                send.SenderKeyCiphertext = ciphertext;
            send.Mentions.AddRange(mentioned);
            return new Frame { GroupSend = send };
        }, "the group message could not be sent", recover: null, cancellationToken);
        return Expect(reply, reply.GroupSendResult);
    }

    /// <summary>Who of the group got / read / played one of this user's own group messages.</summary>
    public async Task<GroupReceipts> GetGroupReceiptsAsync(string groupId, ByteString messageId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(groupId);
        ArgumentNullException.ThrowIfNull(messageId);
        if (messageId.Length != IdLength)
            throw new ArgumentException($"a message id is {IdLength} bytes", nameof(messageId));
        var reply = await RequestAsync(new Frame { GetGroupReceipts = new GetGroupReceipts { GroupId = groupId, MessageId = messageId } }, cancellationToken);
        return Expect(reply, reply.GroupReceipts);
    }

    private const int IdLength = 16;

    /// <summary>The reply's expected packet, or a clear failure when the server answered with another one.</summary>
    private static T Expect<T>(Frame reply, T? packet) where T : class =>
        packet ?? throw new InvalidDataException($"unexpected answer from the server: {reply.PacketCase}");
}
