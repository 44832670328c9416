using Akka.WhatsApp.Domain.Keys;
using Google.Protobuf;
using static Akka.WhatsApp.Cluster.Serialization.StorageMapping;
using D = Akka.WhatsApp.Domain.Keys;
using Proto = Akka.WhatsApp.Cluster.Storage.Keys;

namespace Akka.WhatsApp.Cluster.Keys;

/// <summary>Protobuf serializer for the key directory: persisted events and snapshot (manifests forever), commands, replies.</summary>
public sealed class KeysSerializer : ProtobufSerializer
{
    public const int Id = 115;

    public override int Identifier => Id;

    public KeysSerializer(ExtendedActorSystem system) : base(system)
    {
        // persisted
        Map<KeyEvents.Uploaded, Proto.Uploaded>("KU",
            e => new Proto.Uploaded
            {
                DeviceId = e.Device.Value, IdentityKey = Bytes(e.IdentityKey), RegistrationId = e.RegistrationId, SignedPrekey = ToProto(e.SignedPreKey),
                KemLastResort = ToProto(e.KemLastResort), OneTime = { e.OneTime.Select(ToProto) }, OneTimeKem = { e.OneTimeKem.Select(ToProto) },
                ReplaceOneTime = e.ReplaceOneTime, AccountSignature = Bytes(e.AccountSignature), NewIdentity = e.NewIdentity,
            },
            p => new KeyEvents.Uploaded(new DeviceId(p.DeviceId), p.IdentityKey.ToByteArray(), p.RegistrationId, FromProto(p.SignedPrekey),
                FromProto(p.KemLastResort), Keys(p.OneTime), Keys(p.OneTimeKem), p.ReplaceOneTime, p.AccountSignature.ToByteArray(), p.NewIdentity));
        Map<KeyEvents.Taken, Proto.Taken>("KT",
            e => new Proto.Taken { Keys = { e.Keys.Select(ToProto) } },
            p => new KeyEvents.Taken([.. p.Keys.Select(k => new TakenKeys(k.DeviceId, k.HasOneTime ? k.OneTime : null, k.HasOneTimeKem ? k.OneTimeKem : null))]));
        Map<KeyEvents.Dropped, Proto.Dropped>("KD", e => new Proto.Dropped { Devices = { e.Devices } }, p => new KeyEvents.Dropped([.. p.Devices]));
        Map<KeyState, Proto.KeySnapshot>("KS",
            s => new Proto.KeySnapshot { Devices = { s.Devices.Select(d => ToProto(d.Key, d.Value)) } },
            p => KeyState.Empty with { Devices = p.Devices.ToImmutableSortedDictionary(d => d.DeviceId, FromProto) });

        // commands
        Map<KeyCommands.Upload, Proto.Upload>("U",
            c => new Proto.Upload
            {
                User = c.User.Value, DeviceId = c.Device.Value, IdentityKey = Bytes(c.IdentityKey), RegistrationId = c.RegistrationId,
                SignedPrekey = ToProto(c.SignedPreKey), KemLastResort = ToProto(c.KemLastResort), OneTime = { c.OneTime.Select(ToProto) },
                OneTimeKem = { c.OneTimeKem.Select(ToProto) }, ReplaceOneTime = c.ReplaceOneTime, AccountSignature = Bytes(c.AccountSignature),
            },
            p => new KeyCommands.Upload(new UserId(p.User), new DeviceId(p.DeviceId), p.IdentityKey.ToByteArray(), p.RegistrationId, FromProto(p.SignedPrekey),
                FromProto(p.KemLastResort), Keys(p.OneTime), Keys(p.OneTimeKem), p.ReplaceOneTime, p.AccountSignature.ToByteArray()));
        Map<KeyCommands.FetchBundles, Proto.FetchBundles>("F",
            c => new Proto.FetchBundles { User = c.User.Value, Requester = c.Requester.Value, Devices = { c.Devices }, Current = { c.Current } },
            p => new KeyCommands.FetchBundles(new UserId(p.User), new UserId(p.Requester), [.. p.Devices], [.. p.Current]));
        Map<KeyCommands.GetCount, Proto.GetCount>("C",
            c => new Proto.GetCount { User = c.User.Value, DeviceId = c.Device.Value }, p => new KeyCommands.GetCount(new UserId(p.User), new DeviceId(p.DeviceId)));
        Map<KeyCommands.GetIdentities, Proto.GetIdentities>("I",
            c => new Proto.GetIdentities { User = c.User.Value, Current = { c.Current } }, p => new KeyCommands.GetIdentities(new UserId(p.User), [.. p.Current]));

        // replies
        Map<KeyReplies.Count, Proto.Count>("RC",
            r => new Proto.Count
            {
                OneTime = r.OneTime, SignedPrekeyId = r.SignedPreKeyId, OneTimeKem = r.OneTimeKem, KemLastResortId = r.KemLastResortId, NewIdentity = r.NewIdentity,
            },
            p => new KeyReplies.Count(p.OneTime, p.SignedPrekeyId, p.OneTimeKem, p.KemLastResortId, p.NewIdentity));
        Map<KeyReplies.Bundles, Proto.Bundles>("RB",
            r => new Proto.Bundles
            {
                List =
                {
                    r.List.Select(b => new Proto.Bundle
                    {
                        Keys = ToProto(b.Device, b.Keys), OneTime = ToProto(b.OneTime), Kem = ToProto(b.Kem), KemIsLastResort = b.KemIsLastResort,
                        OneTimeLeft = b.OneTimeLeft,
                    }),
                },
            },
            p => new KeyReplies.Bundles([.. p.List.Select(b => new KeyBundle(b.Keys.DeviceId, FromProto(b.Keys), FromProto(b.OneTime), FromProto(b.Kem)!, b.KemIsLastResort, b.OneTimeLeft))]));
        Map<KeyReplies.Identities, Proto.Identities>("RI",
            r => new Proto.Identities { Devices = { r.Devices.Select(d => new Proto.DeviceIdentity { DeviceId = d.Device, IdentityKey = Bytes(d.IdentityKey) }) } },
            p => new KeyReplies.Identities([.. p.Devices.Select(d => new D.DeviceIdentity(d.DeviceId, d.IdentityKey.ToByteArray()))]));
        Map<KeyNotices.Low, Proto.Low>("NL",
            n => new Proto.Low { User = n.User.Value, DeviceId = n.Device.Value, Remaining = n.Remaining },
            p => new KeyNotices.Low(new UserId(p.User), new DeviceId(p.DeviceId), p.Remaining));
        Map<KeyReplies.Rejected, Proto.Rejected>("RR",
            r => new Proto.Rejected { Error = (int)r.Error, Reason = r.Reason }, p => new KeyReplies.Rejected((KeyError)p.Error, p.Reason));
    }

    private static Proto.PublicKey? ToProto(D.PublicKey? k) =>
        k is null ? null : new Proto.PublicKey { KeyId = k.KeyId, Key = Bytes(k.Key), Signature = k.Signature is { } s ? Bytes(s) : ByteString.Empty };

    private static D.PublicKey? FromProto(Proto.PublicKey? p) =>
        p is null ? null : new D.PublicKey(p.KeyId, p.Key.ToByteArray(), p.Signature.IsEmpty ? null : p.Signature.ToByteArray());

    private static ImmutableArray<D.PublicKey> Keys(IEnumerable<Proto.PublicKey> keys) => [.. keys.Select(k => FromProto(k)!)];

    private static Proto.TakenKeys ToProto(TakenKeys k)
    {
        var p = new Proto.TakenKeys { DeviceId = k.Device };
        if (k.OneTime is { } oneTime)
            p.OneTime = oneTime;
        if (k.OneTimeKem is { } kem)
            p.OneTimeKem = kem;
        return p;
    }

    private static Proto.DeviceKeys ToProto(uint device, DeviceKeys k) => new()
    {
        DeviceId = device, IdentityKey = Bytes(k.IdentityKey), RegistrationId = k.RegistrationId, SignedPrekey = ToProto(k.SignedPreKey),
        KemLastResort = ToProto(k.KemLastResort), OneTime = { k.OneTime.Select(ToProto) }, OneTimeKem = { k.OneTimeKem.Select(ToProto) },
        AccountSignature = Bytes(k.AccountSignature),
    };

    private static DeviceKeys FromProto(Proto.DeviceKeys p) =>
        new(p.IdentityKey.ToByteArray(), p.RegistrationId, FromProto(p.SignedPrekey)!, FromProto(p.KemLastResort)!,
            [.. p.OneTime.Select(k => FromProto(k)!)], [.. p.OneTimeKem.Select(k => FromProto(k)!)], p.AccountSignature.ToByteArray());
}
