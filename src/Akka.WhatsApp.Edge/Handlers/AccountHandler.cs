using Akka.WhatsApp.Domain.Registration;
using A = Akka.WhatsApp.Domain.Accounts.AccountReplies;

namespace Akka.WhatsApp.Edge.Handlers;

/// <summary>Profile, privacy, contacts and blocks (PROTOCOL.md §10).</summary>
public sealed class AccountHandler : IPacketHandler
{
    private const int MaxContactsPerSync = 1000;

    public void Register(PacketTable table) => table
        .Request(Frame.PacketOneofCase.GetProfile, GetProfileAsync)
        .Request(Frame.PacketOneofCase.SetProfile, SetProfileAsync)
        .Request(Frame.PacketOneofCase.GetPrivacy, GetPrivacyAsync)
        .Request(Frame.PacketOneofCase.SetPrivacy, SetPrivacyAsync)
        .Request(Frame.PacketOneofCase.SyncContacts, SyncContactsAsync)
        .Request(Frame.PacketOneofCase.BlockUser, BlockAsync)
        .Request(Frame.PacketOneofCase.UnblockUser, BlockAsync)
        .Request(Frame.PacketOneofCase.ListBlocked, ListBlockedAsync);

    private static async Task<A.Viewed> ViewAsync(IEdgeSession session, UserId user) =>
        await session.AskAsync<IAccountReply>(session.Backend.Accounts, new AccountCommands.View(user, session.User)) as A.Viewed
        ?? throw new RequestException(ErrorCode.NotFound, $"no user {user}");

    private static async Task<Frame?> GetProfileAsync(Frame frame, IEdgeSession session)
    {
        var user = frame.GetProfile.UserId.Length == 0 ? session.User : new UserId(frame.GetProfile.UserId);
        var view = await ViewAsync(session, user);
        return new Frame { Profile = WireMapping.Wire(user, view.Profile, view.LastSeen) };
    }

    private static async Task<Frame?> SetProfileAsync(Frame frame, IEdgeSession session)
    {
        var set = frame.SetProfile;
        var current = (await ViewAsync(session, session.User)).Profile;
        var next = new Domain.Accounts.Profile(
            set.HasName ? set.Name : current.Name,
            set.HasAbout ? set.About : current.About,
            set.HasPhotoMediaId ? set.PhotoMediaId : current.PhotoMediaId);
        // A new photo must be the user's own completed upload of a profile photo (§12); the one it replaces is then
        // no longer kept.
        var media = session.Backend.Media;
        if (next.PhotoMediaId != current.PhotoMediaId && next.PhotoMediaId.Length > 0 && media is not null
            && !await media.IsOwnAsync(session.User.Value, next.PhotoMediaId, Domain.Media.MediaClass.ProfilePhoto, CancellationToken.None))
            throw new RequestException(ErrorCode.InvalidArgument, "photo_media_id must be your own completed upload of kind PROFILE_PHOTO");
        if (await session.AskAsync<IAccountReply>(session.Backend.Accounts, new AccountCommands.SetProfile(session.User, next)) is A.Rejected r)
            throw new RequestException(ErrorCode.InvalidArgument, r.Reason);
        if (next.PhotoMediaId != current.PhotoMediaId && current.PhotoMediaId.Length > 0 && media is not null)
            await media.ReleaseAsync(current.PhotoMediaId, CancellationToken.None);
        var view = await ViewAsync(session, session.User);
        return new Frame { Profile = WireMapping.Wire(session.User, view.Profile, view.LastSeen) };
    }

    private static async Task<Domain.Accounts.PrivacySettings> PrivacyAsync(IEdgeSession session) =>
        (await session.AskAsync<IAccountReply>(session.Backend.Accounts, new AccountCommands.GetPrivacy(session.User)) as A.PrivacyIs
         ?? throw new RequestException(ErrorCode.NotFound, "no such account")).Privacy;

    private static async Task<Frame?> GetPrivacyAsync(Frame frame, IEdgeSession session) => new() { PrivacySettings = WireMapping.Wire(await PrivacyAsync(session)) };

    private static async Task<Frame?> SetPrivacyAsync(Frame frame, IEdgeSession session)
    {
        var wanted = frame.SetPrivacy.Settings ?? new Protocol.PrivacySettings();
        var current = await PrivacyAsync(session);
        var next = new Domain.Accounts.PrivacySettings(
            WireMapping.VisibilityOf(wanted.LastSeen) ?? current.LastSeen,
            WireMapping.VisibilityOf(wanted.ProfilePhoto) ?? current.Photo,
            WireMapping.VisibilityOf(wanted.About) ?? current.About,
            wanted.HasReadReceipts ? wanted.ReadReceipts : current.ReadReceipts);
        await session.AskAsync<IAccountReply>(session.Backend.Accounts, new AccountCommands.SetPrivacy(session.User, next));
        return new Frame { PrivacySettings = WireMapping.Wire(next) };
    }

    /// <summary>Answers which uploaded numbers are registered, nothing more; remembers them as contacts for privacy.</summary>
    private static async Task<Frame?> SyncContactsAsync(Frame frame, IEdgeSession session)
    {
        var sync = frame.SyncContacts;
        if (sync.PhoneNumbers.Count > MaxContactsPerSync)
            throw new RequestException(ErrorCode.InvalidArgument, $"at most {MaxContactsPerSync} numbers per request");
        var phones = sync.PhoneNumbers.Where(PhoneNumber.IsValid).Distinct().ToList();
        var found = await session.Backend.Directory.LookupAsync(phones, CancellationToken.None);
        var mode = sync.Mode switch
        {
            ContactSyncMode.Replace => ContactsMode.Replace,
            ContactSyncMode.Remove => ContactsMode.Remove,
            _ => ContactsMode.Add,
        };
        await session.AskAsync<IAccountReply>(session.Backend.Accounts,
            new AccountCommands.SetContacts(session.User, found.Values.Where(u => u != session.User).ToImmutableHashSet(), mode));
        var result = new ContactsResult();
        if (mode != ContactsMode.Remove)
            result.Registered.AddRange(found.OrderBy(kv => kv.Key, StringComparer.Ordinal)
                .Select(kv => new RegisteredContact { PhoneNumber = kv.Key, UserId = kv.Value.Value }));
        return new Frame { ContactsResult = result };
    }

    private static async Task<Frame?> BlockAsync(Frame frame, IEdgeSession session)
    {
        var block = frame.PacketCase == Frame.PacketOneofCase.BlockUser;
        var target = block ? frame.BlockUser.UserId : frame.UnblockUser.UserId;
        if (target.Length == 0)
            throw new RequestException(ErrorCode.InvalidArgument, "user_id is required");
        IAccountCommand command = block
            ? new AccountCommands.Block(session.User, new UserId(target))
            : new AccountCommands.Unblock(session.User, new UserId(target));
        if (await session.AskAsync<IAccountReply>(session.Backend.Accounts, command) is A.Rejected r)
            throw new RequestException(ErrorCode.InvalidArgument, r.Reason);
        return new Frame { Ok = new Ok() };
    }

    private static async Task<Frame?> ListBlockedAsync(Frame frame, IEdgeSession session)
    {
        var blocked = await session.AskAsync<IAccountReply>(session.Backend.Accounts, new AccountCommands.GetBlocked(session.User)) as A.Blocked
            ?? throw new RequestException(ErrorCode.NotFound, "no such account");
        var list = new BlockedList();
        list.UserIds.AddRange(blocked.Users);
        return new Frame { BlockedList = list };
    }
}
