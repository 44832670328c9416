using Akka.WhatsApp.Domain.Notifications;
using System.Collections.Immutable;
using Akka.WhatsApp.Cluster.Accounts;
using Akka.WhatsApp.Cluster.Presence;
using Akka.WhatsApp.Cluster.Serialization;
using Akka.WhatsApp.Domain;
using Akka.WhatsApp.Domain.Accounts;
using Akka.WhatsApp.Domain.Presence;
using Akka.WhatsApp.Domain.Registration;
using Xunit;
using C = Akka.WhatsApp.Domain.Accounts.AccountCommands;
using E = Akka.WhatsApp.Domain.Accounts.AccountEvents;
using R = Akka.WhatsApp.Domain.Accounts.AccountReplies;

namespace Akka.WhatsApp.Cluster.Tests;

public sealed class AccountAndPresenceSerializerSpec() : Akka.TestKit.Xunit2.TestKit(ClusterSerialization.Config)
{
    private static readonly DateTimeOffset When = DateTimeOffset.FromUnixTimeMilliseconds(1_795_000_000_123);
    private static readonly UserId Ann = new("ann");
    private static readonly DeviceRecord Device = new(new DeviceId(2), [1, 2, 3, 4, 5, 6, 7, 8], "laptop", When, Platform: 4, LastSeen: When.AddHours(1), RegistrationId: 4711,
        Push: new PushRegistration(PushRegistration.Apns, "a1b2c3", "d4e5", "com.example", Sandbox: true));
    private static readonly DoNotDisturb Quiet = new(true, When.AddHours(8), AllowCalls: true);
    private static readonly Profile Profile = new("Ann", "hiking", "media-1");
    private static readonly PrivacySettings Privacy = new(Visibility.Contacts, Visibility.Nobody, Visibility.Everyone, false);

    /// <summary>Persisted events first: their manifests are pinned below.</summary>
    private static readonly object[] Persisted =
    [
        new E.PrimaryRegistered("+4915112345678", Device with { Id = DeviceId.Primary }),
        new E.DeviceLinked(Device),
        new E.DeviceUnlinked(new DeviceId(2)),
        new E.ProfileChanged(Profile),
        new E.PrivacyChanged(Privacy),
        new E.ContactsReplaced([new UserId("ben"), new UserId("cid")]),
        new E.UserBlocked(new UserId("ben")),
        new E.UserUnblocked(new UserId("ben")),
        new E.LastSeenRecorded(When),
        new E.DeviceSeen(new DeviceId(2), When),
        new E.RegistrationIdSet(new DeviceId(2), 4711),
        new E.PushRegistered(new DeviceId(2), new PushRegistration(PushRegistration.Fcm, "fcm-token")),
        new E.PushRegistered(new DeviceId(2), null),
        new E.ChatMuted(ChatId.Group(new GroupId("g1")), DateTimeOffset.MaxValue, When),
        new E.ChatMuted(ChatId.User(new UserId("ben")), When.AddHours(1), When),
        new E.DoNotDisturbSet(Quiet),
        new E.DoNotDisturbSet(new DoNotDisturb(true, null, false)),
        new E.MediaSettingsSet([10, 4, 8, 2, 18, 1, 1]),
        new VerificationEvents.CodeIssued([9, 9], When, When.AddMinutes(10)),
        new VerificationEvents.AttemptFailed(When),
        new VerificationEvents.NumberVerified(Ann, When),
    ];

    private static readonly object[] Remote =
    [
        new C.RegisterPrimary(Ann, "+4915112345678", [1], "phone", Platform: 2),
        new C.Authenticate(Ann, DeviceId.Primary, [1]),
        new C.LinkDevice(Ann, DeviceId.Primary, [2], "laptop", Platform: 3),
        new C.RecordDeviceSeen(Ann, new DeviceId(2), When),
        new C.SetRegistrationId(Ann, new DeviceId(2), 4711),
        new C.RegisterPush(Ann, new DeviceId(2), Device.Push),
        new C.RegisterPush(Ann, new DeviceId(2), null),
        new C.MuteChat(Ann, ChatId.User(new UserId("ben")), DateTimeOffset.MaxValue),
        new C.MuteChat(Ann, ChatId.Group(new GroupId("g1")), null),
        new C.SetDoNotDisturb(Ann, Quiet),
        new C.GetNotificationSettings(Ann),
        new C.SetMediaSettings(Ann, [10, 2, 8, 1]),
        new C.GetMediaSettings(Ann),
        new R.MediaSettingsAre([10, 2, 8, 1]),
        new R.MediaSettingsAre([]),
        new C.GetPushProfile(Ann, new DeviceId(2)),
        new C.RemovePushToken(Ann, new DeviceId(2), "apns-token"),
        new R.PushProfileIs(new PushProfile(Device.Push, [(ChatId.Group(new GroupId("g1")), DateTimeOffset.MaxValue), (ChatId.User(new UserId("ben")), When)], Quiet)),
        new R.PushProfileIs(PushProfile.Nowhere),
        new R.NotificationsAre([(ChatId.Group(new GroupId("g1")), DateTimeOffset.MaxValue), (ChatId.User(new UserId("ben")), When)], Quiet),
        new R.NotificationsAre([], DoNotDisturb.Off),
        new C.UnlinkDevice(Ann, DeviceId.Primary, new DeviceId(2)),
        new C.GetDevices(Ann),
        new C.SetProfile(Ann, Profile),
        new C.SetPrivacy(Ann, Privacy),
        new C.SetContacts(Ann, [new UserId("ben")], ContactsMode.Add),
        new C.Block(Ann, new UserId("ben")),
        new C.Unblock(Ann, new UserId("ben")),
        new C.GetBlocked(Ann),
        new C.GetPrivacy(Ann),
        new C.RecordLastSeen(Ann, When),
        new C.View(Ann, new UserId("ben")),
        new C.GetDeliveryInfo(Ann, new UserId("ben")),
        R.Done.Instance,
        new R.Authenticated(DeviceId.Primary, ImmutableSortedSet.Create(Comparer<DeviceId>.Create((a, b) => a.Value.CompareTo(b.Value)), DeviceId.Primary, new DeviceId(2)), "+4915112345678", 7),
        new R.Authenticated(DeviceId.Primary, ImmutableSortedSet.Create(Comparer<DeviceId>.Create((a, b) => a.Value.CompareTo(b.Value)), DeviceId.Primary), "+1", 1,
            HasKeys: true),
        new R.DeviceLinked(new DeviceId(3), "+4915112345678"),
        new R.Devices([Device, Device with { LastSeen = null, Platform = 0 }]),
        new AccountNotices.DevicesChanged(Ann, 3, [new DeviceToken(DeviceId.Primary, ulong.MaxValue), new DeviceToken(new DeviceId(3), 42)]),
        new R.Blocked(ImmutableSortedSet.Create(StringComparer.Ordinal, "ben")),
        new R.Viewed(Profile, When),
        new R.Viewed(Profile, null),
        new R.DeliveryInfo([1u, 2u], true, false, true),
        new R.DeliveryInfo([1u, 2u], false, true, false, ImmutableSortedDictionary<uint, uint>.Empty.Add(2, 4711)),
        new R.PrivacyIs(Privacy),
        new R.Rejected(AccountError.TooManyDevices, "no"),
        new VerificationCommands.RequestCode("+4915112345678", "123456"),
        new VerificationCommands.RequestCode("+4915112345678", "123456", CodeChannel.Voice),
        new VerificationCommands.VerifyCode("+4915112345678", "123456", Ann),
        new VerificationReplies.CodeSent(When, TimeSpan.FromSeconds(30)),
        new VerificationReplies.Verified(Ann, true),
        new VerificationReplies.Rejected(VerificationError.RateLimited, "slow", TimeSpan.FromSeconds(12)),
        new PresenceChanged(Ann, false, When),
        new PresenceChanged(Ann, true, null),
        new TypingSignal(Ann, new UserId("ben"), null, 1),
        new PresenceAccessChanged(Ann),
        new LinkResult("code", 2, 0, ""),
        new LinkRejected("code"),
    ];

    public static IEnumerable<object[]> All => Persisted.Concat(Remote).Select(m => new[] { m });

    [Theory]
    [MemberData(nameof(All))]
    public void Every_type_is_bound_to_a_protobuf_serializer_and_round_trips(object message)
    {
        var serializer = (ProtobufSerializer)Sys.Serialization.FindSerializerFor(message);
        Assert.Contains(serializer.Identifier, new[] { AccountSerializer.Id, PresenceSerializer.Id });
        var back = serializer.FromBinary(serializer.ToBinary(message), serializer.Manifest(message));
        Assert.Equal(Describe.Of(message), Describe.Of(back));
    }

    [Fact]
    public void Link_approvals_carry_the_reply_reference_across_nodes()
    {
        var approval = new LinkApproved("code", Ann, DeviceId.Primary, [7, 7], TestActor, [.. Enumerable.Repeat((byte)9, 64)]);
        var serializer = (ProtobufSerializer)Sys.Serialization.FindSerializerFor(approval);
        var back = (LinkApproved)serializer.FromBinary(serializer.ToBinary(approval), serializer.Manifest(approval));
        Assert.Equal(TestActor, back.ReplyTo);
        Assert.Equal(approval.IdentityKey, back.IdentityKey);
        Assert.Equal(approval.AccountSignature, back.AccountSignature);
    }

    [Fact]
    public void Persisted_manifests_and_serializer_ids_never_change()
    {
        var serializer = (ProtobufSerializer)Sys.Serialization.FindSerializerFor(Persisted[0]);
        Assert.Equal(111, serializer.Identifier);
        Assert.Equal(["PR", "DL", "DU", "PC", "PV", "CR", "UB", "UU", "LS", "DS", "RI", "PU", "PU", "CM", "CM", "DD", "DD", "MS", "vCI", "vAF", "vNV"], Persisted.Select(serializer.Manifest));
    }

    [Fact]
    public void Every_manifest_of_the_serializers_is_round_tripped_here()
    {
        var covered = Persisted.Concat(Remote).Append(new LinkApproved("c", Ann, DeviceId.Primary, [], TestActor))
            .Select(m => ((ProtobufSerializer)Sys.Serialization.FindSerializerFor(m)).Manifest(m)).ToHashSet();
        foreach (var type in new[] { typeof(E.LastSeenRecorded), typeof(PresenceChanged) })
        {
            var serializer = (ProtobufSerializer)Sys.Serialization.FindSerializerForType(type);
            Assert.All(serializer.Manifests, m => Assert.True(covered.Contains(m), $"{serializer.GetType().Name} manifest '{m}' has no round-trip case"));
        }
    }
}
