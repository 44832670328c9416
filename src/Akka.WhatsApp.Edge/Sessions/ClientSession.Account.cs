using System.Collections.Immutable;
using Akka.WhatsApp.Domain;
using Akka.WhatsApp.Domain.Accounts;
using Akka.WhatsApp.Domain.Registration;
using Akka.WhatsApp.Protocol;
using A = Akka.WhatsApp.Domain.Accounts.AccountReplies;

namespace Akka.WhatsApp.Edge.Sessions;

/// <summary>Profile, privacy, contacts and blocks.</summary>
public sealed partial class ClientSession
{
    private const int MaxContactsPerSync = 1000;

    private async Task<A.Viewed> ViewAsync(UserId user) =>
        await AskAsync<IAccountReply>(Backend.Accounts, new AccountCommands.View(user, User)) as A.Viewed
        ?? throw new RequestException(ErrorCode.NotFound, $"no user {user}");

    private async Task<Frame?> GetProfileAsync(Frame frame)
    {
        var user = frame.GetProfile.UserId.Length == 0 ? User : new UserId(frame.GetProfile.UserId);
        var view = await ViewAsync(user);
        return new Frame { Profile = WireMapping.Wire(user, view.Profile, view.LastSeen) };
    }

    private async Task<Frame?> SetProfileAsync(Frame frame)
    {
        var set = frame.SetProfile;
        var current = (await ViewAsync(User)).Profile;
        var next = new Domain.Accounts.Profile(
            set.HasName ? set.Name : current.Name,
            set.HasAbout ? set.About : current.About,
            set.HasPhotoMediaId ? set.PhotoMediaId : current.PhotoMediaId);
        if (await AskAsync<IAccountReply>(Backend.Accounts, new AccountCommands.SetProfile(User, next)) is A.Rejected r)
            throw new RequestException(ErrorCode.InvalidArgument, r.Reason);
        var view = await ViewAsync(User);
        return new Frame { Profile = WireMapping.Wire(User, view.Profile, view.LastSeen) };
    }

    private async Task<Domain.Accounts.PrivacySettings> PrivacyAsync() =>
        (await AskAsync<IAccountReply>(Backend.Accounts, new AccountCommands.GetPrivacy(User)) as A.PrivacyIs
         ?? throw new RequestException(ErrorCode.NotFound, "no such account")).Privacy;

    private async Task<Frame?> GetPrivacyAsync(Frame frame) => new() { PrivacySettings = WireMapping.Wire(await PrivacyAsync()) };

    private async Task<Frame?> SetPrivacyAsync(Frame frame)
    {
        var wanted = frame.SetPrivacy.Settings ?? new Protocol.PrivacySettings();
        var current = await PrivacyAsync();
        var next = new Domain.Accounts.PrivacySettings(
            WireMapping.VisibilityOf(wanted.LastSeen) ?? current.LastSeen,
            WireMapping.VisibilityOf(wanted.ProfilePhoto) ?? current.Photo,
            WireMapping.VisibilityOf(wanted.About) ?? current.About,
            wanted.HasReadReceipts ? wanted.ReadReceipts : current.ReadReceipts);
        await AskAsync<IAccountReply>(Backend.Accounts, new AccountCommands.SetPrivacy(User, next));
        return new Frame { PrivacySettings = WireMapping.Wire(next) };
    }

    /// <summary>Answers which uploaded numbers are registered, nothing more; remembers them as contacts for privacy.</summary>
    private async Task<Frame?> SyncContactsAsync(Frame frame)
    {
        var sync = frame.SyncContacts;
        if (sync.PhoneNumbers.Count > MaxContactsPerSync)
            throw new RequestException(ErrorCode.InvalidArgument, $"at most {MaxContactsPerSync} numbers per request");
        var phones = sync.PhoneNumbers.Where(PhoneNumber.IsValid).Distinct().ToList();
        var found = await Backend.Directory.LookupAsync(phones, CancellationToken.None);
        var mode = sync.Mode switch
        {
            ContactSyncMode.Replace => ContactsMode.Replace,
            ContactSyncMode.Remove => ContactsMode.Remove,
            _ => ContactsMode.Add,
        };
        await AskAsync<IAccountReply>(Backend.Accounts,
            new AccountCommands.SetContacts(User, found.Values.Where(u => u != User).ToImmutableHashSet(), mode));
        var result = new ContactsResult();
        if (mode != ContactsMode.Remove)
            result.Registered.AddRange(found.OrderBy(kv => kv.Key, StringComparer.Ordinal)
                .Select(kv => new RegisteredContact { PhoneNumber = kv.Key, UserId = kv.Value.Value }));
        return new Frame { ContactsResult = result };
    }

    private async Task<Frame?> BlockAsync(Frame frame)
    {
        var block = frame.PacketCase == Frame.PacketOneofCase.BlockUser;
        var target = block ? frame.BlockUser.UserId : frame.UnblockUser.UserId;
        if (target.Length == 0)
            throw new RequestException(ErrorCode.InvalidArgument, "user_id is required");
        IAccountCommand command = block
            ? new AccountCommands.Block(User, new UserId(target))
            : new AccountCommands.Unblock(User, new UserId(target));
        if (await AskAsync<IAccountReply>(Backend.Accounts, command) is A.Rejected r)
            throw new RequestException(ErrorCode.InvalidArgument, r.Reason);
        return new Frame { Ok = new Ok() };
    }

    private async Task<Frame?> ListBlockedAsync(Frame frame)
    {
        var blocked = await AskAsync<IAccountReply>(Backend.Accounts, new AccountCommands.GetBlocked(User)) as A.Blocked
            ?? throw new RequestException(ErrorCode.NotFound, "no such account");
        var list = new BlockedList();
        list.UserIds.AddRange(blocked.Users);
        return new Frame { BlockedList = list };
    }
}
