using System.Collections.Immutable;

namespace Akka.WhatsApp.Domain.Keys;

/// <summary>A public prekey: an X25519 key (one-time), or with <see cref="Signature"/> a signed X25519 or ML-KEM-1024 key.</summary>
public sealed record PublicKey(uint KeyId, byte[] Key, byte[]? Signature = null);

/// <summary>What one device published (PROTOCOL.md §13): public keys only; the server never holds a private key.</summary>
public sealed record DeviceKeys(
    byte[] IdentityKey,
    uint RegistrationId,
    PublicKey SignedPreKey,
    PublicKey KemLastResort,
    ImmutableList<PublicKey> OneTime,
    ImmutableList<PublicKey> OneTimeKem,
    byte[] AccountSignature);

/// <summary>What a sender gets to start a session with one device; the one-time keys in it are gone from the server.</summary>
/// <param name="OneTimeLeft">The device's one-time prekeys left after this bundle took one.</param>
public sealed record KeyBundle(uint Device, DeviceKeys Keys, PublicKey? OneTime, PublicKey Kem, bool KemIsLastResort, int OneTimeLeft = 0);

public interface IKeyCommand
{
    /// <summary>The user whose keys are addressed: the entity id.</summary>
    UserId User { get; }
}

public interface IKeyEvent;

public interface IKeyReply;

/// <summary>Told to the sessions of a user (its inbox topic), not persisted.</summary>
public interface IKeyNotice;

public static class KeyNotices
{
    /// <summary>A fetch left <paramref name="Device"/> with fewer one-time prekeys than <see cref="KeyState.LowWatermark"/>.</summary>
    public sealed record Low(UserId User, DeviceId Device, uint Remaining) : IKeyNotice;
}

public enum KeyError
{
    InvalidArgument = 1,
}

public static class KeyCommands
{
    /// <summary>
    /// A device publishes its keys. The first upload (or one with a new identity key: a reinstall) must carry the
    /// signed prekey and the last-resort KEM prekey; later ones add one-time prekeys or rotate the signed ones.
    /// Signatures are checked before this command is made (the edge verifies them against the identity key).
    /// </summary>
    public sealed record Upload(
        UserId User,
        DeviceId Device,
        byte[] IdentityKey,
        uint RegistrationId,
        PublicKey? SignedPreKey,
        PublicKey? KemLastResort,
        ImmutableArray<PublicKey> OneTime,
        ImmutableArray<PublicKey> OneTimeKem,
        bool ReplaceOneTime,
        byte[] AccountSignature) : IKeyCommand;

    /// <summary>
    /// Bundles for <paramref name="Devices"/> of the user (empty: all), restricted to <paramref name="Current"/>, the
    /// account's devices now: keys of a device no longer among them are dropped, never served.
    /// </summary>
    public sealed record FetchBundles(UserId User, UserId Requester, ImmutableArray<uint> Devices, ImmutableArray<uint> Current) : IKeyCommand;

    public sealed record GetCount(UserId User, DeviceId Device) : IKeyCommand;

    public sealed record GetIdentities(UserId User, ImmutableArray<uint> Current) : IKeyCommand;
}

public static class KeyEvents
{
    /// <summary>The keys of an upload, as validated; <see cref="NewIdentity"/> when they replace an earlier install's.</summary>
    public sealed record Uploaded(
        DeviceId Device,
        byte[] IdentityKey,
        uint RegistrationId,
        PublicKey? SignedPreKey,
        PublicKey? KemLastResort,
        ImmutableArray<PublicKey> OneTime,
        ImmutableArray<PublicKey> OneTimeKem,
        bool ReplaceOneTime,
        byte[] AccountSignature,
        bool NewIdentity) : IKeyEvent;

    /// <summary>One-time keys handed out (at most once: the event is persisted before the bundles leave).</summary>
    public sealed record Taken(ImmutableArray<TakenKeys> Keys) : IKeyEvent;

    /// <summary>Devices the account no longer has: their keys are gone.</summary>
    public sealed record Dropped(ImmutableArray<uint> Devices) : IKeyEvent;
}

public sealed record DeviceIdentity(uint Device, byte[] IdentityKey);

public sealed record TakenKeys(uint Device, uint? OneTime, uint? OneTimeKem);

public static class KeyReplies
{
    /// <param name="NewIdentity">
    /// The answer to an upload that stored a new identity key for the device (its first, or a reinstall's): the edge then
    /// tells the user's contacts (PROTOCOL.md §13). False for every other count.
    /// </param>
    public sealed record Count(uint OneTime, uint SignedPreKeyId, uint OneTimeKem, uint KemLastResortId, bool NewIdentity = false) : IKeyReply;

    public sealed record Bundles(ImmutableArray<KeyBundle> List) : IKeyReply;

    public sealed record Identities(ImmutableArray<DeviceIdentity> Devices) : IKeyReply;

    public sealed record Rejected(KeyError Error, string Reason) : IKeyReply;
}
