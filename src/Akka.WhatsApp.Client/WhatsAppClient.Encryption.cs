using System.Collections.Concurrent;
using System.Security.Cryptography;
using Akka.WhatsApp.Client.Crypto;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;

namespace Akka.WhatsApp.Client;

/// <summary>A message could not be end-to-end encrypted (a recipient device published no keys, or its keys are not validly signed).</summary>
public sealed class EncryptionException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// End-to-end encryption (PROTOCOL.md §13a), on when <see cref="ClientOptions.Keys"/> is set: the device publishes its
/// keys at login and tops them up on PreKeyLow; every 1:1 payload is encrypted per device over a Double Ratchet
/// session (started from a fetched bundle with PQXDH), every group payload once with this device's sender key (given
/// to the members' devices over their sessions first, and replaced when a member left); what arrives is decrypted
/// before it is stored and shown. A message that cannot be decrypted is acknowledged, reported as
/// <see cref="UndecryptableMessage"/> and asked again from its sender (RETRY_REQUEST, §8.4), which answers by
/// re-encrypting it from its message store.
/// </summary>
public sealed partial class WhatsAppClient
{
    private EndToEnd? _e2e;
    private readonly SemaphoreSlim _sessionSetup = new(1, 1);
    private readonly ConcurrentDictionary<DeliveryKey, byte> _retriesAsked = new();
    private int _replenishing;

    /// <summary>This device's encryption layer; null when the client sends opaque payloads (no <see cref="ClientOptions.Keys"/>).</summary>
    public EndToEnd? Encryption => _e2e;

    private async Task PublishKeysAsync(CancellationToken cancellationToken)
    {
        var e2e = _e2e!;
        var device = $"{Credentials.UserId}:{Credentials.DeviceId}";
        var now = DateTimeOffset.UtcNow;
        if (e2e.Keys.PublishedFor != device)
        {
            await UploadKeysAsync(e2e.FullUpload(now), cancellationToken);
            e2e.Keys.PublishedFor = device;
        }
        else if (e2e.RotateSignedPreKey(now) is { } rotation)
        {
            await UploadKeysAsync(rotation, cancellationToken);
        }
    }

    /// <summary>PreKeyLow: uploads new one-time keys, once at a time, in the background.</summary>
    private void Replenish()
    {
        if (_e2e is null || Interlocked.Exchange(ref _replenishing, 1) == 1)
            return;
        _ = Task.Run(async () =>
        {
            try
            {
                if (_e2e.Replenish(await GetPreKeyCountAsync(_closing.Token)) is { } upload)
                    await UploadKeysAsync(upload, _closing.Token);
            }
            catch (Exception e) when (e is IOException or TimeoutException or ServerErrorException or OperationCanceledException or ObjectDisposedException)
            {
                // The next PreKeyLow (at the latest the next login) tries again.
            }
            finally
            {
                Volatile.Write(ref _replenishing, 0);
            }
        });
    }

    // ---- sending ----

    /// <summary>
    /// The devices of <paramref name="user"/> to encrypt for (for this user: the other devices), with a session for
    /// each: bundles are fetched for the devices that have none (all of the user's devices when its list is unknown).
    /// </summary>
    private async Task<uint[]> SessionsForAsync(string user, CancellationToken cancellationToken)
    {
        var e2e = _e2e!;
        var self = user == Credentials.UserId;
        await _sessionSetup.WaitAsync(cancellationToken);
        try
        {
            var known = _devices.GetValueOrDefault(user) ?? e2e.Keys.KnownDevices(user);
            if (known is null && self)
            {
                // This user's own list comes from the account, so that no bundle (and one-time key) of this device is taken for nothing.
                var list = await RequestAsync(new Frame { ListDevices = new ListDevices() }, cancellationToken);
                known = [.. (list.DeviceList?.Devices.Select(d => d.DeviceId) ?? []).Append(Credentials.DeviceId).Distinct().Order()];
                e2e.Keys.SetKnownDevices(user, known);
            }
            var missing = known?.Where(d => !(self && d == Credentials.DeviceId) && !e2e.HasSession(user, d)).ToArray();
            if (known is null || missing!.Length > 0)
            {
                var bundles = await FetchPreKeyBundlesAsync(user, missing, cancellationToken);
                byte[]? primary = null;
                foreach (var bundle in bundles.Bundles.Where(b => !(self && b.DeviceId == Credentials.DeviceId)))
                {
                    if (bundle.DeviceId != 1 && !EndToEnd.BelongsToAccount(bundle, primary ??= await PrimaryIdentityAsync(user, bundles, cancellationToken)))
                        throw new EncryptionException(
                            $"{(self ? "your" : user + "'s")} device {bundle.DeviceId} is not signed by the account's primary device: nothing is sent to it (the server may have added it)");
                    try
                    {
                        if (e2e.Start(user, bundle))
                            await _events.Writer.WriteAsync(new SecurityCodeChanged(user, bundle.DeviceId), cancellationToken);
                    }
                    catch (CryptographicException e)
                    {
                        throw new EncryptionException($"the keys of {user} device {bundle.DeviceId} are not validly signed: {e.Message}", e);
                    }
                }
                if (known is null && !self && bundles.Bundles.Count == 0)
                    throw new EncryptionException($"{user} has published no encryption keys yet (no device of theirs logged in with an encrypting client)");
                if (known is null)
                {
                    // A device of the account that published no keys gets no bundle; the server's STALE_DEVICES names it.
                    known = [.. bundles.Bundles.Select(b => b.DeviceId).Union(self ? [Credentials.DeviceId] : []).Order()];
                    _devices[user] = known;
                    e2e.Keys.SetKnownDevices(user, known);
                }
                var unserved = known.Where(d => !(self && d == Credentials.DeviceId) && !e2e.HasSession(user, d)).ToArray();
                if (unserved.Length > 0)
                    throw new EncryptionException(
                        $"{(self ? "your" : user + "'s")} device {string.Join(", ", unserved)} has published no encryption keys: it cannot be sent to until it logs in with an encrypting client");
            }
            _devices[user] = known;
            return [.. known.Where(d => !(self && d == Credentials.DeviceId))];
        }
        finally
        {
            _sessionSetup.Release();
        }
    }

    /// <summary>The identity key of <paramref name="user"/>'s primary device, which signs its companions (PROTOCOL.md §7).</summary>
    private async Task<byte[]> PrimaryIdentityAsync(string user, PreKeyBundles fetched, CancellationToken cancellationToken)
    {
        var e2e = _e2e!;
        if (fetched.Bundles.FirstOrDefault(b => b.DeviceId == 1) is { } inFetch)
            return inFetch.IdentityKey.ToByteArray();
        if (user == Credentials.UserId && Credentials.DeviceId == 1)
            return e2e.Identity.PublicKey;
        if (e2e.Keys.Identities(user).FirstOrDefault(i => i.DeviceId == 1) is { } known)
            return known.IdentityKey;
        return (await GetIdentityKeysAsync(user, cancellationToken)).Devices.FirstOrDefault(d => d.DeviceId == 1)?.IdentityKey.ToByteArray()
               ?? throw new EncryptionException($"{user} has no primary device with published keys: its companion devices cannot be checked");
    }

    private async Task<Frame> EncryptedSendAsync(Send template, E2eContent content, CancellationToken cancellationToken)
    {
        var e2e = _e2e!;
        // The receive pump runs beside this: an identity_key_changed it learns may forget a session set up a moment ago.
        // The setup then runs again and fetches the device's new keys (a CI run once lost that race).
        for (var attempt = 1; ; attempt++)
        {
            var to = await SessionsForAsync(template.ToUserId, cancellationToken);
            var self = await SessionsForAsync(Credentials.UserId, cancellationToken);
            var send = template.Clone();
            var ciphertexts = to.Select(d => e2e.TryEncrypt(template.ToUserId, d, content)).ToArray();
            var selfCiphertexts = self.Select(d => e2e.TryEncrypt(Credentials.UserId, d, content)).ToArray();
            if (ciphertexts.All(c => c is not null) && selfCiphertexts.All(c => c is not null))
            {
                send.Ciphertexts.AddRange(ciphertexts!);
                send.SelfCiphertexts.AddRange(selfCiphertexts!);
                return new Frame { Send = send };
            }
            if (attempt == 3)
                throw new EncryptionException($"the sessions with {template.ToUserId}'s devices kept changing while this message was encrypted: try again");
        }
    }

    /// <summary>STALE_DEVICES with encryption: forget the sessions of removed and reinstalled devices; the next attempt fetches what is missing.</summary>
    private void ForgetStale(StaleDevices stale)
    {
        if (_e2e is null)
            return;
        foreach (var device in stale.ExtraDeviceIds.Concat(stale.StaleDeviceIds))
            _e2e.Forget(stale.UserId, device);
        _e2e.Keys.SetKnownDevices(stale.UserId, _devices[stale.UserId]);
    }

    /// <summary>
    /// The group's members' devices get this device's current sender key over their 1:1 sessions (ContentKind
    /// SENDER_KEY_DISTRIBUTION, silent) unless they have it; a key some former member holds is replaced first.
    /// </summary>
    private async Task<ByteString> EncryptForGroupAsync(string groupId, E2eContent content, CancellationToken cancellationToken)
    {
        var e2e = _e2e!;
        var members = (await GetGroupInfoAsync(groupId, cancellationToken)).Members.Select(m => m.UserId).Where(u => u != Credentials.UserId).ToHashSet();
        var chain = e2e.OwnSenderKey(groupId, out _);
        var shared = e2e.Keys.SharedWith(groupId, chain.KeyId);
        if (shared.Any(s => s.User != Credentials.UserId && !members.Contains(s.User)))
        {
            e2e.DropOwnSenderKey(groupId);
            chain = e2e.OwnSenderKey(groupId, out _);
            shared = new HashSet<(string, uint)>();
        }
        var distribution = new E2eContent { SenderKeyDistribution = chain.Distribution(groupId) };
        foreach (var member in members.Order(StringComparer.Ordinal))
        {
            var devices = _devices.GetValueOrDefault(member) ?? e2e.Keys.KnownDevices(member);
            if (devices is not null && devices.All(d => shared.Contains((member, d))))
                continue;
            var id = ByteString.CopyFrom(Guid.NewGuid().ToByteArray());
            var template = new Send
            {
                MessageId = id, ToUserId = member, Kind = ContentKind.SenderKeyDistribution, Silent = true,
                ClientTimestamp = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            };
            await RequestWithRetriesAsync(() => EncryptedSendAsync(template, distribution, cancellationToken), "the group key could not be given to " + member,
                RecoverStale, cancellationToken);
            var given = (_devices.GetValueOrDefault(member) ?? e2e.Keys.KnownDevices(member) ?? []).Select(d => (member, d))
                .Concat((_devices.GetValueOrDefault(Credentials.UserId) ?? []).Where(d => d != Credentials.DeviceId).Select(d => (Credentials.UserId, d)));
            e2e.Keys.MarkShared(groupId, chain.KeyId, [.. shared, .. given]);
            shared = e2e.Keys.SharedWith(groupId, chain.KeyId);
        }
        return e2e.GroupEncrypt(groupId, content);
    }

    // ---- receiving ----

    /// <summary>
    /// What the pump keeps of a pushed Deliver: with encryption on, the decrypted copy (ciphertext = the payload, type
    /// PLAINTEXT), or null for what only the layer consumes (sender keys, retry requests) and for what could not be
    /// decrypted (then <paramref name="notices"/> says so and the sender is asked for a new copy).
    /// </summary>
    private Deliver? Open(Deliver d, List<ClientEvent> notices)
    {
        if (d.System?.ScheduledUpdate is { } scheduled)
            OnScheduledUpdate(scheduled);
        if (_e2e is not { } e2e)
            return d;
        if (d.Kind == ContentKind.System)
        {
            Learn(e2e, d.System, notices);
            return d;
        }
        if (d.Kind == ContentKind.RetryRequest)
        {
            if (d.CiphertextType == CiphertextType.Plaintext)
                AnswerRetry(d);
            return null;
        }
        Decrypted decrypted;
        try
        {
            if (d.CiphertextType is not (CiphertextType.PrekeyMessage or CiphertextType.SignalMessage or CiphertextType.SenderKeyMessage))
                throw new CryptographicException($"a {d.CiphertextType} message is not end-to-end encrypted");
            decrypted = e2e.Decrypt(d.FromUserId, d.FromDeviceId, d.CiphertextType, d.Ciphertext, d.GroupId);
        }
        catch (CryptographicException e)
        {
            // Not seen: the sender's re-encrypted copy comes with the same message id and must not count as a duplicate.
            _seen.Remove(DeliveryKey.Of(d));
            notices.Add(new UndecryptableMessage(d, e.Message));
            AskRetry(d);
            return null;
        }
        if (decrypted.IdentityChanged)
            notices.Add(new SecurityCodeChanged(d.FromUserId, d.FromDeviceId));
        if (decrypted.Content.SenderKeyDistribution is { } distribution)
        {
            try
            {
                e2e.Accept(d.FromUserId, d.FromDeviceId, distribution);
            }
            catch (CryptographicException e)
            {
                notices.Add(new UndecryptableMessage(d, e.Message));
            }
        }
        if (d.Kind == ContentKind.SenderKeyDistribution)
            return null;
        var plain = d.Clone();
        plain.Ciphertext = decrypted.Content.Body;
        plain.CiphertextType = CiphertextType.Plaintext;
        return plain;
    }

    /// <summary>
    /// What the server's SYSTEM events tell the encryption layer: a contact's device with a new identity key (a reinstall,
    /// or a device new to us: its next message starts a session with it) and this user's own device list (sessions with
    /// removed devices are dropped, added ones get one at the next send).
    /// </summary>
    private void Learn(EndToEnd e2e, SystemEvent? system, List<ClientEvent> notices)
    {
        switch (system?.EventCase)
        {
            case SystemEvent.EventOneofCase.IdentityKeyChanged:
                var changed = system.IdentityKeyChanged;
                if (changed.UserId == Credentials.UserId && changed.DeviceId == Credentials.DeviceId || changed.IdentityKey.Length == 0)
                    return;
                if (e2e.SeeNewIdentity(changed.UserId, changed.DeviceId, changed.IdentityKey.ToByteArray()))
                    notices.Add(new SecurityCodeChanged(changed.UserId, changed.DeviceId));
                var known = DevicesOf(changed.UserId, e2e.Keys.KnownDevices(changed.UserId) ?? []);
                if (known.Length > 0 && !known.Contains(changed.DeviceId))
                    Remember(e2e, changed.UserId, [.. known.Append(changed.DeviceId).Order()]);
                break;
            case SystemEvent.EventOneofCase.DeviceListChanged:
                var list = system.DeviceListChanged;
                foreach (var removed in list.Removed)
                    e2e.Forget(Credentials.UserId, removed);
                Remember(e2e, Credentials.UserId, [.. list.DeviceIds.Append(Credentials.DeviceId).Distinct().Order()]);
                break;
        }
    }

    private void Remember(EndToEnd e2e, string user, uint[] devices)
    {
        _devices[user] = devices;
        e2e.Keys.SetKnownDevices(user, devices);
    }

    /// <summary>RETRY_REQUEST to the sender's devices (PLAINTEXT: it holds no secret), once per message.</summary>
    private void AskRetry(Deliver failed)
    {
        // A copy from another of this user's own devices is not asked again (a user sends no 1:1 message to itself).
        if (failed.FromUserId == Credentials.UserId || !_retriesAsked.TryAdd(DeliveryKey.Of(failed), 0))
            return;
        var to = failed.FromUserId;
        _ = Task.Run(async () =>
        {
            try
            {
                var request = new RetryRequestContent { RegistrationId = _e2e!.Identity.RegistrationId, GroupId = failed.GroupId }.ToByteString();
                var id = ByteString.CopyFrom(Guid.NewGuid().ToByteArray());
                Frame Build()
                {
                    var send = new Send
                    {
                        MessageId = id, ToUserId = to, Kind = ContentKind.RetryRequest, TargetMessageId = failed.MessageId, Silent = true,
                        ClientTimestamp = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
                    };
                    send.Ciphertexts.AddRange(DevicesOf(to, _e2e.Keys.KnownDevices(to) ?? [failed.FromDeviceId])
                        .Select(d => new DeviceCiphertext { DeviceId = d, Ciphertext = request, Type = CiphertextType.Plaintext }));
                    send.SelfCiphertexts.AddRange(DevicesOf(Credentials.UserId, _e2e.Keys.KnownDevices(Credentials.UserId) ?? [Credentials.DeviceId])
                        .Where(d => d != Credentials.DeviceId)
                        .Select(d => new DeviceCiphertext { DeviceId = d, Ciphertext = request, Type = CiphertextType.Plaintext }));
                    return new Frame { Send = send };
                }
                await RequestWithRetriesAsync(() => Task.FromResult(Build()), "the retry request could not be sent", RecoverStale, _closing.Token);
            }
            catch (Exception e) when (e is IOException or TimeoutException or ServerErrorException or OperationCanceledException or ObjectDisposedException)
            {
                _retriesAsked.TryRemove(DeliveryKey.Of(failed), out _);
            }
        });
    }

    /// <summary>
    /// A device could not decrypt one of this device's messages: re-encrypt it from the message store, for that
    /// device only, over a new session, and send it with resend (§8.4), with the group's sender key for a group message.
    /// </summary>
    private void AnswerRetry(Deliver request)
    {
        if (_options.Store is not { } store || _e2e is not { } e2e)
            return;
        RetryRequestContent content;
        try
        {
            content = RetryRequestContent.Parser.ParseFrom(request.Ciphertext);
        }
        catch (InvalidProtocolBufferException)
        {
            return;
        }
        var original = store.Outgoing(Storage.MessageStore.Hex(request.TargetMessageId));
        if (original is null || original.FromDevice != Credentials.DeviceId)
            return; // not this device's message
        var (user, device) = (request.FromUserId, request.FromDeviceId);
        _ = Task.Run(async () =>
        {
            try
            {
                await ResendCopyAsync(user, device, original, request.TargetMessageId, content.GroupId);
            }
            catch (Exception e) when (e is IOException or TimeoutException or ServerErrorException or OperationCanceledException or ObjectDisposedException
                                          or CryptographicException or InvalidOperationException)
            {
                // The asking device asks again when it sees the next copy fail; nothing else to do here (also when a
                // SYSTEM event forgot the new session before it was used: InvalidOperationException from Encrypt).
            }
        });
    }

    /// <summary>
    /// A new copy of one of this device's messages (<paramref name="original"/>, from the message store) for one device,
    /// over a new session (its keys fetched again), sent with resend (§8.4) under <paramref name="messageId"/>; with the
    /// group's sender key for a group message. Without encryption the copy is the stored body itself.
    /// </summary>
    private async Task ResendCopyAsync(string user, uint device, Storage.StoredMessage original, ByteString messageId, string groupId)
    {
        DeviceCiphertext copy;
        var payload = new E2eContent { Body = ByteString.CopyFrom(original.Body.Span) };
        if (_e2e is { } e2e)
        {
            await _sessionSetup.WaitAsync(_closing.Token);
            try
            {
                e2e.Forget(user, device);
                var bundle = (await FetchPreKeyBundlesAsync(user, [device], _closing.Token)).Bundles.SingleOrDefault();
                if (bundle is null)
                    return;
                if (e2e.Start(user, bundle))
                    await _events.Writer.WriteAsync(new SecurityCodeChanged(user, device), _closing.Token);
            }
            finally
            {
                _sessionSetup.Release();
            }
            if (groupId.Length > 0)
                payload.SenderKeyDistribution = e2e.OwnSenderKey(groupId, out _).Distribution(groupId);
            copy = e2e.Encrypt(user, device, payload);
        }
        else
        {
            copy = new DeviceCiphertext { DeviceId = device, Ciphertext = payload.Body, Type = _options.EncryptedByRelay ? CiphertextType.Plaintext : CiphertextType.SignalMessage };
        }
        if (groupId.Length > 0)
        {
            var perDevice = new RecipientCiphertexts();
            perDevice.Items.Add(new RecipientCiphertext { UserId = user, Device = copy });
            await RequestAsync(new Frame
            {
                GroupSend = new GroupSend { GroupId = groupId, MessageId = messageId, PerDevice = perDevice, Kind = original.Kind, Resend = true, Silent = true },
            }, _closing.Token);
            return;
        }
        var send = new Send { MessageId = messageId, ToUserId = original.Chat.Id, Kind = original.Kind, Resend = true, Silent = true };
        if (user == Credentials.UserId)
            send.SelfCiphertexts.Add(copy);
        else
            send.Ciphertexts.Add(copy);
        await RequestAsync(new Frame { Send = send }, _closing.Token);
    }
}
