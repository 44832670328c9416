using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.WhatsApp.Domain;
using Akka.WhatsApp.Domain.Accounts;
using Akka.WhatsApp.Domain.Keys;
using Akka.WhatsApp.Edge.Handlers;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;
using NSec.Cryptography;
using Xunit;
using K = Akka.WhatsApp.Domain.Keys;

namespace Akka.WhatsApp.Edge.Tests.Handlers;

/// <summary>The key directory's packets against probes, with real Ed25519 signatures.</summary>
public sealed class KeysHandlerSpec : EdgeSpec
{
    private readonly Key _identity = Key.Create(SignatureAlgorithm.Ed25519);

    private SignedPreKey Signed(uint id, byte fill = 1)
    {
        var key = Enumerable.Repeat(fill, KeysHandler.PreKeySize).ToArray();
        return new SignedPreKey { KeyId = id, PublicKey = ByteString.CopyFrom(key), Signature = ByteString.CopyFrom(SignatureAlgorithm.Ed25519.Sign(_identity, key)) };
    }

    private KemPreKey Kem(uint id)
    {
        var key = Enumerable.Repeat((byte)id, KeysHandler.KemPreKeySize).ToArray();
        return new KemPreKey { KeyId = id, PublicKey = ByteString.CopyFrom(key), Signature = ByteString.CopyFrom(SignatureAlgorithm.Ed25519.Sign(_identity, key)) };
    }

    private UploadKeys FirstUpload() => new()
    {
        IdentityKey = ByteString.CopyFrom(_identity.PublicKey.Export(KeyBlobFormat.RawPublicKey)),
        RegistrationId = 4711,
        SignedPrekey = Signed(1),
        KemLastResortPrekey = Kem(2),
        OneTimePrekeys = { new PreKey { KeyId = 10, PublicKey = ByteString.CopyFrom(new byte[32]) } },
    };

    [Fact]
    public async Task An_upload_with_valid_signatures_goes_to_the_own_devices_keys_and_is_answered_with_the_count()
    {
        await LoggedInAsync();
        var request = Receive(new Frame { UploadKeys = FirstUpload() });
        var upload = Keys.ExpectMsg<KeyCommands.Upload>(Wait);
        Assert.Equal((Alice, DeviceId.Primary, 4711u, 1u, 2u), (upload.User, upload.Device, upload.RegistrationId, upload.SignedPreKey!.KeyId, upload.KemLastResort!.KeyId));
        Keys.Reply(new KeyReplies.Count(1, 1, 0, 2));
        // The account keeps the registration id for the check of sends (§8.2); the answer waits for it.
        var told = Accounts.ExpectMsg<AccountCommands.SetRegistrationId>(Wait);
        Assert.Equal((Alice, DeviceId.Primary, 4711u), (told.User, told.Device, told.RegistrationId));
        Accounts.Reply(AccountReplies.Done.Instance);
        var answer = await Connection.NextAsync();
        Assert.Equal((request, 1u, 2u), (answer.RequestId, answer.PreKeyCount.OneTimePrekeys, answer.PreKeyCount.KemLastResortPrekeyId));
    }

    [Fact]
    public async Task An_identity_key_without_a_registration_id_is_refused()
    {
        await LoggedInAsync();
        var upload = FirstUpload();
        upload.RegistrationId = 0;
        var request = Receive(new Frame { UploadKeys = upload });
        var answer = await Connection.NextAsync();
        Assert.Equal((request, ErrorCode.InvalidArgument), (answer.RequestId, answer.Error.Code));
        await NothingAskedOfTheKeysAsync();
    }

    [Fact]
    public async Task A_prekey_signed_by_another_key_is_refused_INVALID_SIGNATURE_without_storing_anything()
    {
        await LoggedInAsync();
        var forged = FirstUpload();
        using var other = Key.Create(SignatureAlgorithm.Ed25519);
        forged.SignedPrekey.Signature = ByteString.CopyFrom(SignatureAlgorithm.Ed25519.Sign(other, forged.SignedPrekey.PublicKey.ToByteArray()));
        var tampered = FirstUpload();
        tampered.KemLastResortPrekey.PublicKey = ByteString.CopyFrom(Enumerable.Repeat((byte)9, KeysHandler.KemPreKeySize).ToArray());

        var first = Receive(new Frame { UploadKeys = forged });
        var second = Receive(new Frame { UploadKeys = tampered });
        var answers = new[] { await Connection.NextAsync(), await Connection.NextAsync() }.ToDictionary(f => f.RequestId, f => f.Error.Code);
        Assert.Equal(ErrorCode.InvalidSignature, answers[first]);
        Assert.Equal(ErrorCode.InvalidSignature, answers[second]);
        await NothingAskedOfTheKeysAsync();
    }

    [Fact]
    public async Task Keys_of_the_wrong_size_are_refused_INVALID_ARGUMENT()
    {
        await LoggedInAsync();
        var shortKey = FirstUpload();
        shortKey.OneTimePrekeys.Add(new PreKey { KeyId = 11, PublicKey = ByteString.CopyFrom(1, 2, 3) });
        var request = Receive(new Frame { UploadKeys = shortKey });
        var answer = await Connection.NextAsync();
        Assert.Equal((request, ErrorCode.InvalidArgument), (answer.RequestId, answer.Error.Code));
        Assert.Contains("one_time_prekeys", answer.Error.Message);
    }

    [Fact]
    public async Task A_fetch_asks_for_the_current_devices_serves_their_bundles_and_tells_a_device_running_low()
    {
        await LoggedInAsync();
        Directory.Users.Add(Bob);
        var request = Receive(new Frame { FetchPreKeyBundles = new FetchPreKeyBundles { UserId = Bob.Value } });
        Assert.Equal(Bob, Accounts.ExpectMsg<AccountCommands.GetDeliveryInfo>(Wait).User);
        Accounts.Reply(Info(false, 1, 2));
        var fetch = Keys.ExpectMsg<KeyCommands.FetchBundles>(Wait);
        Assert.Equal((Bob, Alice), (fetch.User, fetch.Requester));
        Assert.Equal(new uint[] { 1, 2 }, fetch.Current.ToArray());
        var keys = new DeviceKeys([1], 7, new K.PublicKey(1, [2], [3]), new K.PublicKey(2, [4], [5]), [], [], []);
        Keys.Reply(new KeyReplies.Bundles([new KeyBundle(1, keys, new K.PublicKey(10, [6]), keys.KemLastResort, true, OneTimeLeft: 3)]));

        var answer = await Connection.NextAsync();
        Assert.Equal(request, answer.RequestId);
        var bundle = Assert.Single(answer.PreKeyBundles.Bundles);
        Assert.Equal((1u, 7u, 10u, 2u, true), (bundle.DeviceId, bundle.RegistrationId, bundle.OneTimePrekey.KeyId, bundle.KemPrekey.KeyId, bundle.KemPrekeyLastResort));
        var low = (Publish)Bus.FishForMessage(m => m is Publish { Message: KeyNotices.Low }, Wait);
        Assert.Equal("inbox-bob", low.Topic);
        Assert.Equal(new KeyNotices.Low(Bob, DeviceId.Primary, 3), low.Message);
    }

    [Fact]
    public async Task A_fetch_for_a_user_that_does_not_exist_is_NOT_FOUND_without_starting_anything()
    {
        await LoggedInAsync();
        var request = Receive(new Frame { FetchPreKeyBundles = new FetchPreKeyBundles { UserId = "nobody" } });
        var answer = await Connection.NextAsync();
        Assert.Equal((request, ErrorCode.NotFound), (answer.RequestId, answer.Error.Code));
        await NothingAskedOfTheAccountsAsync();
        await NothingAskedOfTheKeysAsync();
    }

    [Fact]
    public async Task Bundle_fetches_are_rate_limited_per_connection()
    {
        await LoggedInAsync();
        var answers = new List<Frame>();
        for (var i = 0; i <= EdgeSettings.KeyFetchBurst; i++)
            Receive(new Frame { FetchPreKeyBundles = new FetchPreKeyBundles { UserId = "nobody" } });
        for (var i = 0; i <= EdgeSettings.KeyFetchBurst; i++)
            answers.Add(await Connection.NextAsync());
        Assert.Equal(EdgeSettings.KeyFetchBurst, answers.Count(a => a.Error.Code == ErrorCode.NotFound));
        Assert.Equal(ErrorCode.RateLimited, Assert.Single(answers, a => a.Error.Code != ErrorCode.NotFound).Error.Code);

        Time.Advance(TimeSpan.FromSeconds(1)); // the budget refills on the session's clock
        Receive(new Frame { FetchPreKeyBundles = new FetchPreKeyBundles { UserId = "nobody" } });
        Assert.Equal(ErrorCode.NotFound, (await Connection.NextAsync()).Error.Code);
    }

    [Fact]
    public async Task A_device_running_low_is_told_once_until_it_uploads_again_and_another_device_is_not_told()
    {
        await LoggedInAsync();
        var device = Session.DeviceActor!;
        device.Tell(new KeyNotices.Low(Alice, new DeviceId(2), 1)); // a companion's keys
        device.Tell(new KeyNotices.Low(Alice, DeviceId.Primary, 4));
        device.Tell(new KeyNotices.Low(Alice, DeviceId.Primary, 3));
        device.Tell(Edge.Sessions.DeviceSessionActor.PreKeysUploaded.Instance);
        device.Tell(new KeyNotices.Low(Alice, DeviceId.Primary, 2));

        var first = await Connection.NextAsync();
        Assert.Equal((4u, (uint)KeyState.RecommendedUpload), (first.PreKeyLow.Remaining, first.PreKeyLow.RecommendedUpload));
        Assert.Equal(2u, (await Connection.NextAsync()).PreKeyLow.Remaining); // the one at 3 was not repeated
    }

    /// <summary>As <see cref="EdgeSpec.NothingAskedOfTheAccountsAsync"/>, for the key directory: GetPreKeyCount asks it.</summary>
    private async Task NothingAskedOfTheKeysAsync()
    {
        var request = Receive(new Frame { GetPreKeyCount = new GetPreKeyCount() });
        Assert.IsType<KeyCommands.GetCount>(Keys.ReceiveOne(Wait));
        Keys.Reply(new KeyReplies.Count(0, 0, 0, 0));
        Assert.Equal(request, (await Connection.NextAsync()).RequestId);
    }
}
