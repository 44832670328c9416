using Akka.WhatsApp.Domain.Accounts;
using Akka.WhatsApp.Domain.Messaging;
using Akka.WhatsApp.Domain.Status;
using Google.Protobuf;
using A = Akka.WhatsApp.Domain.Accounts.AccountReplies;
using C = Akka.WhatsApp.Domain.Status.StatusCommands;
using R = Akka.WhatsApp.Domain.Status.StatusReplies;
using DeviceCiphertext = Akka.WhatsApp.Domain.Mailbox.DeviceCiphertext;
using StatusAudience = Akka.WhatsApp.Domain.Status.StatusAudience;
using StatusAudienceMode = Akka.WhatsApp.Domain.Status.StatusAudienceMode;
using Ciphertexts = System.Collections.Immutable.ImmutableDictionary<Akka.WhatsApp.Domain.UserId,
    System.Collections.Immutable.ImmutableSortedDictionary<uint, Akka.WhatsApp.Domain.Mailbox.DeviceCiphertext>>;

namespace Akka.WhatsApp.Edge.Handlers;

/// <summary>
/// Status posts (PROTOCOL.md §14). The server never sees a contact list: the poster's client applies its status
/// privacy to its own contacts and encrypts for exactly that audience, so the audience is the users named in
/// <c>per_device</c>, less every pair with a block either way (checked here at post time and again at fetch time,
/// through the Account entities). The per-device lists are checked like a group send's (§8.2 STALE_DEVICES). The
/// poster's Status entity keeps the post and indexes it in each audience user's entity; a feed is read from the
/// viewer's index and then from each owner's entity, which hands every device only its own ciphertext.
/// </summary>
public sealed class StatusHandler : IPacketHandler
{
    /// <summary>Status ids one ViewStatus may name.</summary>
    public const int MaxViewIds = 256;

    public void Register(PacketTable table) => table
        .Send(Frame.PacketOneofCase.PostStatus, PostAsync)
        .Request(Frame.PacketOneofCase.GetStatusFeed, FeedAsync)
        .Request(Frame.PacketOneofCase.ViewStatus, ViewAsync)
        .Request(Frame.PacketOneofCase.GetStatusViewers, ViewersAsync)
        .Request(Frame.PacketOneofCase.DeleteStatus, DeleteAsync);

    private static async Task<Frame?> PostAsync(Frame frame, IEdgeSession session)
    {
        var post = frame.PostStatus;
        var id = IdOf(post.StatusId);
        if (post.Kind is not (ContentKind.Text or ContentKind.Image or ContentKind.Video or ContentKind.VoiceNote))
            throw new RequestException(ErrorCode.InvalidArgument, "kind is TEXT, IMAGE, VIDEO or VOICE_NOTE");
        if (post.PayloadCase != PostStatus.PayloadOneofCase.PerDevice)
            throw new RequestException(ErrorCode.InvalidArgument,
                "a status needs per_device ciphertexts (sender_key_ciphertext is not supported by this server: encrypt per device for the audience)");
        if (post.Kind != ContentKind.Text && post.MediaId.Length == 0)
            throw new RequestException(ErrorCode.InvalidArgument, "an IMAGE, VIDEO or VOICE_NOTE status names its uploaded media_id");
        var audience = AudienceOf(post.Audience);
        var ciphertexts = PerDevice(session, post.PerDevice);
        if (ciphertexts.Keys.Count(u => u != session.User) > StatusState.MaxAudience)
            throw new RequestException(ErrorCode.InvalidArgument, $"a status goes to at most {StatusState.MaxAudience} users");
        if (post.MediaId.Length > 0 && (session.Backend.Media is not { } media
                || !await media.IsOwnAsync(session.User.Value, post.MediaId, Domain.Media.MediaClass.Status, CancellationToken.None)))
            throw new RequestException(ErrorCode.InvalidArgument, "media_id must be your own completed upload of kind STATUS");

        ciphertexts = await CheckAudienceAsync(session, ciphertexts, GroupMessagesHandler.RegistrationsOf(post.PerDevice));
        var reply = await AskAsync(session, new C.Post(session.User, session.Device, id, (int)post.Kind, post.MediaId, audience,
            (long)Math.Min(post.ClientTimestamp, long.MaxValue), ciphertexts));
        return reply switch
        {
            R.Posted p => new Frame
            {
                StatusPosted = new StatusPosted
                {
                    StatusId = post.StatusId, ServerTimestamp = WireMapping.Ms(p.At), ExpiresAt = WireMapping.Ms(p.ExpiresAt), Duplicate = p.Duplicate,
                },
            },
            var other => throw Refused(session, other),
        };
    }

    /// <summary>
    /// The audience as stored: every named user less blocked pairs (either way; the poster is not told which) and unknown
    /// accounts; then each remaining user's devices, and the poster's own other devices, must be exactly those given, each
    /// for its current install when the ciphertext names a registration id (§8.2).
    /// </summary>
    private static async Task<Ciphertexts> CheckAudienceAsync(IEdgeSession session, Ciphertexts ciphertexts,
        ImmutableDictionary<UserId, ImmutableSortedDictionary<uint, uint>> registrations)
    {
        var (user, device) = (session.User, session.Device.Value);
        var others = ciphertexts.Keys.Where(u => u != user).ToList();
        var checks = await Task.WhenAll(others.Select(async other =>
        {
            var (mine, theirs) = await MessagingHandler.DeliveryInfoAsync(session, other);
            return (User: other, Theirs: theirs, Blocked: theirs is null || theirs.Blocks || mine is { Blocks: true });
        }));
        var own = await session.AskAsync<IAccountReply>(session.Backend.Accounts, new AccountCommands.GetDeliveryInfo(user, user)) as A.DeliveryInfo
                  ?? throw new RequestException(ErrorCode.Internal, "unexpected answer from the backend");
        var kept = ciphertexts.RemoveRange(checks.Where(c => c.Blocked).Select(c => c.User));
        DeviceMismatch? Check(UserId who, A.DeliveryInfo current, IEnumerable<uint> given, uint? sending) =>
            SendPolicy.Check(SendPolicy.Mismatch, who, current, given, registrations.GetValueOrDefault(who) ?? ImmutableSortedDictionary<uint, uint>.Empty, sending);
        var stale = checks.Where(c => !c.Blocked)
            .Select(c => Check(c.User, c.Theirs!, kept[c.User].Keys, null))
            .Append(Check(user, own, kept.GetValueOrDefault(user)?.Keys ?? [], device))
            .OfType<DeviceMismatch>().ToList();
        if (stale.Count > 0)
            throw new RequestException(ErrorCode.StaleDevices, "the ciphertexts do not match the audience's current devices",
                stale: [.. stale.Select(WireMapping.Wire)]);
        return kept;
    }

    private static async Task<Frame?> FeedAsync(Frame frame, IEdgeSession session)
    {
        var (user, device) = (session.User, session.Device);
        var since = DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Min(frame.GetStatusFeed.Since, (ulong)DateTimeOffset.MaxValue.ToUnixTimeMilliseconds()));
        var owners = await AskAsync(session, new C.GetFeedOwners(user)) as R.FeedOwners
                     ?? throw new RequestException(ErrorCode.Internal, "unexpected answer from the backend");
        var perOwner = await Task.WhenAll(owners.Owners.Select(async owner =>
        {
            // Blocks are checked again now: a block made after the post hides it from then on.
            if (owner != user)
            {
                var (mine, theirs) = await MessagingHandler.DeliveryInfoAsync(session, owner);
                if (theirs is null || theirs.Blocks || mine is { Blocks: true })
                    return [];
            }
            return (await AskAsync(session, new C.GetItems(owner, user, device, since)) as R.Items)?.Posts ?? [];
        }));
        var feed = new StatusFeed();
        var budget = session.Settings.MaxFrameSize - 1024;
        foreach (var item in perOwner.SelectMany(p => p).OrderBy(i => i.PostedAt).ThenBy(i => i.Owner.Value, StringComparer.Ordinal))
        {
            var wire = Wire(item);
            budget -= wire.CalculateSize() + 8;
            if (budget < 0)
            {
                feed.More = true; // the client asks again from the last item's posted_at
                break;
            }
            feed.Items.Add(wire);
        }
        return new Frame { StatusFeed = feed };
    }

    private static async Task<Frame?> ViewAsync(Frame frame, IEdgeSession session)
    {
        var view = frame.ViewStatus;
        if (view.OwnerUserId.Length == 0 || view.OwnerUserId == session.User.Value)
            throw new RequestException(ErrorCode.InvalidArgument, "owner_user_id names another user");
        if (view.StatusIds.Count is 0 or > MaxViewIds)
            throw new RequestException(ErrorCode.InvalidArgument, $"a view names 1 to {MaxViewIds} status ids");
        var owner = new UserId(view.OwnerUserId);
        var (mine, theirs) = await MessagingHandler.DeliveryInfoAsync(session, owner);
        if (theirs is null || theirs.Blocks || mine is { Blocks: true })
            throw new RequestException(ErrorCode.NotFound, "no such status");
        // A viewer with read receipts off is counted but not named (as WhatsApp does).
        var listed = mine?.ReadReceipts ?? true;
        return await AskAsync(session, new C.View(owner, session.User, [.. view.StatusIds.Select(IdOf)], listed)) switch
        {
            R.Done => new Frame { Ok = new Ok() },
            var other => throw Refused(session, other),
        };
    }

    private static async Task<Frame?> ViewersAsync(Frame frame, IEdgeSession session)
    {
        var get = frame.GetStatusViewers;
        // The entity is the caller's own: only the owner can ever ask for a post's viewers.
        return await AskAsync(session, new C.GetViewers(session.User, IdOf(get.StatusId))) switch
        {
            R.Viewers v => new Frame
            {
                StatusViewers = new StatusViewers
                {
                    StatusId = get.StatusId, ViewCount = (uint)v.Count,
                    Viewers = { v.Listed.Select(l => new StatusViewer { UserId = l.User.Value, ViewedAt = WireMapping.Ms(l.At) }) },
                },
            },
            var other => throw Refused(session, other),
        };
    }

    private static async Task<Frame?> DeleteAsync(Frame frame, IEdgeSession session) =>
        await AskAsync(session, new C.Delete(session.User, IdOf(frame.DeleteStatus.StatusId))) switch
        {
            R.Deleted => new Frame { Ok = new Ok() },
            var other => throw Refused(session, other),
        };

    private static StatusItem Wire(StatusItemView i)
    {
        var item = new StatusItem
        {
            OwnerUserId = i.Owner.Value, OwnerDeviceId = i.FromDevice.Value, StatusId = ByteString.CopyFrom(i.Id.ToByteArray()), Kind = (ContentKind)i.Kind,
            PostedAt = WireMapping.Ms(i.PostedAt), ExpiresAt = WireMapping.Ms(i.ExpiresAt), Viewed = i.Viewed,
        };
        if (i.Ciphertext is { } c)
        {
            item.Ciphertext = ByteString.CopyFrom(c.Bytes);
            item.CiphertextType = (CiphertextType)c.Type;
        }
        if (i.Audience is { } a)
            item.Audience = new Protocol.StatusAudience { Mode = (Protocol.StatusAudienceMode)(int)a.Mode, UserIds = { a.Users.Select(u => u.Value) } };
        return item;
    }

    private static StatusId IdOf(ByteString bytes) =>
        StatusId.TryFrom(bytes.Span, out var id) ? id : throw new RequestException(ErrorCode.InvalidArgument, "status_id must be exactly 16 bytes");

    private static StatusAudience AudienceOf(Protocol.StatusAudience? wire)
    {
        if (wire is null)
            return StatusAudience.Default;
        if (!Enum.IsDefined(wire.Mode))
            throw new RequestException(ErrorCode.InvalidArgument, "audience.mode is CONTACTS, CONTACTS_EXCEPT or ONLY_SHARE_WITH");
        if (wire.UserIds.Count > StatusState.MaxAudience)
            throw new RequestException(ErrorCode.InvalidArgument, $"audience.user_ids has at most {StatusState.MaxAudience} users");
        return new StatusAudience((StatusAudienceMode)(int)wire.Mode, [.. wire.UserIds.Where(u => u.Length > 0).Distinct().Select(u => new UserId(u))]);
    }

    /// <summary>Every item comes back in a StatusItem of a StatusFeed frame: it must fit one.</summary>
    private static Ciphertexts PerDevice(IEdgeSession session, RecipientCiphertexts wire) =>
        GroupMessagesHandler.PerUser(wire, maxCiphertext: session.Settings.MaxFrameSize - 1024);

    private static async Task<IStatusReply> AskAsync(IEdgeSession session, IStatusCommand command) =>
        await session.AskAsync<IStatusReply>(session.Backend.Status ?? throw new RequestException(ErrorCode.NotImplemented, "status is not configured on this node"),
            command);

    private static RequestException Refused(IEdgeSession session, IStatusReply reply) => reply switch
    {
        R.Rejected { Error: StatusError.NotFound } r => new RequestException(ErrorCode.NotFound, r.Reason),
        R.Rejected { Error: StatusError.LimitReached } r => new RequestException(ErrorCode.RateLimited, r.Reason,
            retryAfterMs: r.RetryAt is { } at ? (ulong)Math.Max(1, Math.Ceiling((at - session.Time.GetUtcNow()).TotalMilliseconds)) : 0),
        R.Rejected r => new RequestException(ErrorCode.InvalidArgument, r.Reason),
        _ => new RequestException(ErrorCode.Internal, "unexpected answer from the backend"),
    };
}
