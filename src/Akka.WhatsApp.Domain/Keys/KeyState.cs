using System.Collections.Immutable;
using static Akka.WhatsApp.Domain.Keys.KeyCommands;
using static Akka.WhatsApp.Domain.Keys.KeyReplies;
using E = Akka.WhatsApp.Domain.Keys.KeyEvents;

namespace Akka.WhatsApp.Domain.Keys;

/// <summary>
/// The public keys of one user's devices (PROTOCOL.md §13). Pure: an upload is checked against what is stored,
/// a fetch hands each one-time prekey out once (the entity persists <see cref="E.Taken"/> before it answers), and
/// keys of devices the account no longer has are dropped instead of served. Bounded: at most
/// <see cref="MaxOneTime"/> one-time prekeys and <see cref="MaxOneTimeKem"/> one-time KEM prekeys per device.
/// </summary>
public sealed record KeyState : IAggregate<KeyState, IKeyCommand, IKeyEvent, IKeyReply>
{
    public const int MaxOneTimePerUpload = 100;
    public const int MaxOneTimeKemPerUpload = 20;
    public const int MaxOneTime = 500;
    public const int MaxOneTimeKem = 40;

    /// <summary>Below this many one-time prekeys the device is told to upload more (PreKeyLow).</summary>
    public const int LowWatermark = 10;

    public const int RecommendedUpload = 100;

    public static readonly KeyState Empty = new();

    public ImmutableSortedDictionary<uint, DeviceKeys> Devices { get; init; } = ImmutableSortedDictionary<uint, DeviceKeys>.Empty;

    public (IKeyReply Reply, IReadOnlyList<IKeyEvent> Events) Decide(IKeyCommand command, DateTimeOffset now) => command switch
    {
        Upload u => DecideUpload(u),
        FetchBundles f => DecideFetch(f),
        GetCount c => (CountOf(c.Device.Value), []),
        GetIdentities i => (new Identities([.. Devices.Where(d => i.Current.Contains(d.Key)).Select(d => new DeviceIdentity(d.Key, d.Value.IdentityKey))]),
            DropsFor(i.Current)),
        _ => throw new ArgumentOutOfRangeException(nameof(command), command.GetType().Name),
    };

    public Count CountOf(uint device) => Devices.TryGetValue(device, out var k)
        ? new Count((uint)k.OneTime.Count, k.SignedPreKey.KeyId, (uint)k.OneTimeKem.Count, k.KemLastResort.KeyId)
        : new Count(0, 0, 0, 0);

    private (IKeyReply, IReadOnlyList<IKeyEvent>) DecideUpload(Upload u)
    {
        var stored = Devices.GetValueOrDefault(u.Device.Value);
        var newIdentity = stored is null || (u.IdentityKey.Length > 0 && !u.IdentityKey.AsSpan().SequenceEqual(stored.IdentityKey));
        if (newIdentity && u.IdentityKey.Length == 0)
            return Refuse("the first upload of a device needs its identity_key");
        if (newIdentity && (u.SignedPreKey is null || u.KemLastResort is null))
            return Refuse("a new identity key needs a signed prekey and a last-resort KEM prekey signed by it");
        if (u.OneTime.Length > MaxOneTimePerUpload || u.OneTimeKem.Length > MaxOneTimeKemPerUpload)
            return Refuse($"at most {MaxOneTimePerUpload} one-time prekeys and {MaxOneTimeKemPerUpload} one-time KEM prekeys per upload");
        // What stays: nothing of an earlier install; the stored one-time keys unless replaced.
        var keep = newIdentity || u.ReplaceOneTime ? null : stored;
        if (Duplicate(u.OneTime, keep?.OneTime) is { } oneTimeId)
            return Refuse($"one-time prekey id {oneTimeId} is given twice or already stored");
        // replace_one_time_prekeys concerns the X25519 ones; stored KEM one-time keys stay (until a new identity).
        var keepKem = newIdentity ? null : stored;
        if (Duplicate(u.OneTimeKem, keepKem?.OneTimeKem) is { } kemId)
            return Refuse($"one-time KEM prekey id {kemId} is given twice or already stored");
        var oneTime = (keep?.OneTime.Count ?? 0) + u.OneTime.Length;
        var oneTimeKem = (keepKem?.OneTimeKem.Count ?? 0) + u.OneTimeKem.Length;
        if (oneTime > MaxOneTime || oneTimeKem > MaxOneTimeKem)
            return Refuse($"a device stores at most {MaxOneTime} one-time prekeys and {MaxOneTimeKem} one-time KEM prekeys");
        var uploaded = new E.Uploaded(u.Device, newIdentity ? u.IdentityKey : stored!.IdentityKey, u.RegistrationId, u.SignedPreKey, u.KemLastResort,
            u.OneTime, u.OneTimeKem, u.ReplaceOneTime, u.AccountSignature, newIdentity);
        return (Apply(uploaded).CountOf(u.Device.Value) with { NewIdentity = newIdentity }, [uploaded]);
    }

    private static uint? Duplicate(ImmutableArray<PublicKey> given, ImmutableList<PublicKey>? stored)
    {
        var seen = stored?.Select(k => k.KeyId).ToHashSet() ?? [];
        foreach (var key in given)
            if (!seen.Add(key.KeyId))
                return key.KeyId;
        return null;
    }

    private (IKeyReply, IReadOnlyList<IKeyEvent>) DecideFetch(FetchBundles f)
    {
        var wanted = f.Devices.IsDefaultOrEmpty ? f.Current : [.. f.Devices.Where(f.Current.Contains).Distinct()];
        var bundles = ImmutableArray.CreateBuilder<KeyBundle>();
        var taken = ImmutableArray.CreateBuilder<TakenKeys>();
        foreach (var device in wanted.Order())
        {
            if (!Devices.TryGetValue(device, out var keys))
                continue; // a device that published nothing yet: the sender cannot reach it until it does
            var oneTime = keys.OneTime.IsEmpty ? null : keys.OneTime[0];
            var kem = keys.OneTimeKem.IsEmpty ? null : keys.OneTimeKem[0];
            bundles.Add(new KeyBundle(device, keys, oneTime, kem ?? keys.KemLastResort, KemIsLastResort: kem is null,
                OneTimeLeft: keys.OneTime.Count - (oneTime is null ? 0 : 1)));
            if (oneTime is not null || kem is not null)
                taken.Add(new TakenKeys(device, oneTime?.KeyId, kem?.KeyId));
        }
        var events = new List<IKeyEvent>(DropsFor(f.Current));
        if (taken.Count > 0)
            events.Add(new E.Taken(taken.ToImmutable()));
        return (new Bundles(bundles.ToImmutable()), events);
    }

    private IKeyEvent[] DropsFor(ImmutableArray<uint> current)
    {
        ImmutableArray<uint> gone = [.. Devices.Keys.Where(d => !current.Contains(d))];
        return gone.IsEmpty ? [] : [new E.Dropped(gone)];
    }

    public KeyState Apply(IKeyEvent @event) => @event switch
    {
        E.Uploaded u => this with { Devices = Devices.SetItem(u.Device.Value, Merge(Devices.GetValueOrDefault(u.Device.Value), u)) },
        E.Taken t => this with { Devices = t.Keys.Aggregate(Devices, (devices, k) => devices.TryGetValue(k.Device, out var keys)
            ? devices.SetItem(k.Device, keys with
            {
                OneTime = k.OneTime is { } id ? keys.OneTime.RemoveAll(p => p.KeyId == id) : keys.OneTime,
                OneTimeKem = k.OneTimeKem is { } kemId ? keys.OneTimeKem.RemoveAll(p => p.KeyId == kemId) : keys.OneTimeKem,
            })
            : devices) },
        E.Dropped d => this with { Devices = Devices.RemoveRange(d.Devices) },
        _ => throw new ArgumentOutOfRangeException(nameof(@event), @event.GetType().Name),
    };

    private static DeviceKeys Merge(DeviceKeys? stored, E.Uploaded u)
    {
        var keep = u.NewIdentity ? null : stored;
        return new DeviceKeys(
            u.IdentityKey,
            u.RegistrationId != 0 || keep is null ? u.RegistrationId : keep.RegistrationId, // 0 in a later upload: unchanged
            u.SignedPreKey ?? keep!.SignedPreKey,
            u.KemLastResort ?? keep!.KemLastResort,
            (u.ReplaceOneTime || keep is null ? ImmutableList<PublicKey>.Empty : keep.OneTime).AddRange(u.OneTime),
            (keep?.OneTimeKem ?? ImmutableList<PublicKey>.Empty).AddRange(u.OneTimeKem),
            u.AccountSignature.Length > 0 ? u.AccountSignature : keep?.AccountSignature ?? []);
    }

    private static (IKeyReply, IReadOnlyList<IKeyEvent>) Refuse(string reason) => (new Rejected(KeyError.InvalidArgument, reason), []);
}
