using System.Collections.Immutable;

namespace Akka.WhatsApp.Domain.Messaging;

/// <summary>The devices of one user that a send did not match (PROTOCOL.md §8.2): to add, and to drop.</summary>
/// <param name="Stale">Devices whose registration id is not the one the sender encrypted for (reinstalled): a new session is needed.</param>
public sealed record DeviceMismatch(UserId User, ImmutableArray<uint> Missing, ImmutableArray<uint> Extra, ImmutableArray<uint> Stale = default)
{
    public ImmutableArray<uint> Stale { get; init; } = Stale.IsDefault ? [] : Stale;
}

/// <summary>
/// The rules of a 1:1 send that do not depend on how it arrived (PROTOCOL.md §8.1-8.2), as pure functions: which
/// device lists a message must cover, and what a resend may name. The transport-independent sender calls them; they
/// are tested on their own.
/// </summary>
public static class SendPolicy
{
    /// <summary>Two ciphertexts for one device: a malformed request (INVALID_ARGUMENT), not a stale device list.</summary>
    public static bool NamesADeviceTwice(IEnumerable<uint> devices)
    {
        var seen = new HashSet<uint>();
        return devices.Any(d => !seen.Add(d));
    }

    /// <summary>
    /// A message covers exactly the current devices of <paramref name="user"/> (for the sender's sync copies: all but
    /// <paramref name="sendingDevice"/>); null when <paramref name="given"/> does, else what is missing and extra.
    /// </summary>
    public static DeviceMismatch? Mismatch(UserId user, IEnumerable<uint> current, IEnumerable<uint> given, uint? sendingDevice = null)
    {
        var expected = Expected(current, sendingDevice);
        var named = given.ToHashSet();
        var missing = expected.Where(d => !named.Contains(d)).Order().ToImmutableArray();
        var extra = named.Where(d => !expected.Contains(d)).Order().ToImmutableArray();
        return missing.IsEmpty && extra.IsEmpty ? null : new DeviceMismatch(user, missing, extra);
    }

    /// <summary>
    /// §8.2: each non-zero registration id in <paramref name="given"/> (device → the registration id the sender encrypted
    /// for) must be the device's current one (<paramref name="current"/>: 0 while it has published no keys); the devices
    /// where it is not, in order. Devices the list does not name are checked by <see cref="Mismatch"/>.
    /// </summary>
    public static ImmutableArray<uint> StaleRegistrations(IEnumerable<KeyValuePair<uint, uint>> given, IEnumerable<uint> current, Func<uint, uint> registrationOf)
    {
        var devices = current.ToHashSet();
        return [.. given.Where(g => g.Value != 0 && devices.Contains(g.Key) && registrationOf(g.Key) != g.Value).Select(g => g.Key).Order()];
    }

    /// <summary>
    /// One user's ciphertexts against the user's <paramref name="current"/> devices: the lists (<paramref name="lists"/>:
    /// <see cref="Mismatch"/> for a send, <see cref="UnknownDevices"/> for a resend) and the registration ids each was
    /// encrypted for (<paramref name="registrations"/>); null when both agree. The one check of 1:1 sends, group sends and
    /// status posts.
    /// </summary>
    public static DeviceMismatch? Check(Func<UserId, IEnumerable<uint>, IEnumerable<uint>, uint?, DeviceMismatch?> lists, UserId user,
        Accounts.AccountReplies.DeliveryInfo current, IEnumerable<uint> given, IEnumerable<KeyValuePair<uint, uint>> registrations, uint? sendingDevice) =>
        With(lists(user, current.Devices, given, sendingDevice), user, StaleRegistrations(registrations, current.Devices, current.RegistrationOf));

    /// <summary>Both checks of one user's list together; null when nothing is wrong.</summary>
    public static DeviceMismatch? With(DeviceMismatch? lists, UserId user, ImmutableArray<uint> stale) =>
        stale.IsEmpty ? lists : (lists ?? new DeviceMismatch(user, [], [])) with { Stale = stale };

    /// <summary>
    /// A resend (§8.4) goes to the devices it names only, and each must exist: null when they do, else the ones that
    /// do not (as extra devices; nothing is missing from a resend).
    /// </summary>
    public static DeviceMismatch? UnknownDevices(UserId user, IEnumerable<uint> current, IEnumerable<uint> given, uint? sendingDevice = null)
    {
        var expected = Expected(current, sendingDevice);
        var extra = given.Where(d => !expected.Contains(d)).Distinct().Order().ToImmutableArray();
        return extra.IsEmpty ? null : new DeviceMismatch(user, [], extra);
    }

    private static HashSet<uint> Expected(IEnumerable<uint> current, uint? sendingDevice) =>
        current.Where(d => d != sendingDevice).ToHashSet();

    /// <summary>
    /// Whether a READ receipt travels to the sender (§8.5): 1:1 READ receipts only when neither side turned read receipts
    /// off; group receipts, DELIVERED and PLAYED always; nothing between users when either blocked the other.
    /// </summary>
    public static bool ForwardsReceipt(Mailbox.ReceiptType type, bool inGroup, bool readerBlocks, bool senderBlocks, bool readerSendsReadReceipts,
        bool senderWantsReadReceipts) =>
        !readerBlocks && !senderBlocks && (type != Mailbox.ReceiptType.Read || inGroup || (readerSendsReadReceipts && senderWantsReadReceipts));
}
