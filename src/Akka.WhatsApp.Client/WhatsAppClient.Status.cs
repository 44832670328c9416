using System.Collections.Concurrent;
using System.Security.Cryptography;
using Akka.WhatsApp.Client.Status;
using Akka.WhatsApp.Protocol;
using Google.Protobuf;

namespace Akka.WhatsApp.Client;

/// <summary>
/// Status posts (PROTOCOL.md §14): a post is encrypted the way a 1:1 message to each audience user is, once per device
/// of every audience user and of this user's other devices (per_device), so the server learns the audience only as the
/// users it holds ciphertexts for. A feed is decrypted on arrival; a ciphertext decrypts once (its message key is used
/// up), so the plaintext is kept by status id and handed out again on the next fetch (<see cref="RememberStatusBody"/>
/// lets an application that stores them give them back after a restart).
/// </summary>
public sealed partial class WhatsAppClient
{
    private readonly ConcurrentDictionary<(string Owner, ByteString Id), ByteString> _statusBodies = new();

    /// <summary>
    /// Posts a status to <paramref name="audience"/> (users; apply the status privacy to the contacts first, see
    /// <see cref="StatusAudiences.Resolve"/>). <paramref name="body"/> is the text, or a serialized <see cref="MediaReference"/>
    /// of a STATUS upload for media kinds (then <paramref name="mediaId"/> names it). With encryption on, an audience user
    /// without published keys cannot be encrypted for and is left out (see the result's audience). Retried under the same
    /// status id across lost replies and STALE_DEVICES.
    /// </summary>
    public async Task<StatusPostResult> PostStatusAsync(ReadOnlyMemory<byte> body, IReadOnlyCollection<string> audience, ContentKind kind = ContentKind.Text,
        string mediaId = "", StatusAudience? chosen = null, byte[]? statusId = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(audience);
        if (statusId is { Length: not IdLength })
            throw new ArgumentException($"a status id is {IdLength} bytes", nameof(statusId));
        var id = ByteString.CopyFrom(statusId ?? RandomNumberGenerator.GetBytes(IdLength));
        var content = new E2eContent { Body = ByteString.CopyFrom(body.Span) };
        var users = audience.Where(u => u != Credentials.UserId).Distinct(StringComparer.Ordinal).ToList();
        var left = new HashSet<string>(StringComparer.Ordinal);
        var sentAt = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        async Task<Frame> Build()
        {
            var post = new PostStatus
            {
                StatusId = id, Kind = kind, MediaId = mediaId, ClientTimestamp = sentAt, PerDevice = new RecipientCiphertexts(),
                Audience = chosen ?? new StatusAudience { Mode = StatusAudienceMode.OnlyShareWith, UserIds = { users } },
            };
            foreach (var user in users.Where(u => !left.Contains(u)).Append(Credentials.UserId))
            {
                var self = user == Credentials.UserId;
                uint[] devices;
                if (_e2e is null)
                {
                    devices = DevicesOf(user, self ? [Credentials.DeviceId] : [1]).Where(d => !(self && d == Credentials.DeviceId)).ToArray();
                }
                else
                {
                    try
                    {
                        devices = await SessionsForAsync(user, cancellationToken);
                    }
                    catch (EncryptionException) when (!self)
                    {
                        left.Add(user); // no keys (or not validly signed): this user cannot see the post
                        continue;
                    }
                }
                foreach (var device in devices)
                {
                    var ciphertext = _e2e is null
                        ? Ciphertext(device, body)
                        : _e2e.TryEncrypt(user, device, content) ?? throw new EncryptionException($"no session with {user} device {device}: try again");
                    post.PerDevice.Items.Add(new RecipientCiphertext { UserId = user, Device = ciphertext });
                }
            }
            return new Frame { PostStatus = post };
        }

        // Not RequestWithRetriesAsync: its RATE_LIMITED wait would sleep until the oldest post expires (the 100-post limit).
        for (var attempt = 1; ; attempt++)
        {
            Frame reply;
            try
            {
                reply = await RequestAsync(await Build(), cancellationToken);
            }
            catch (ServerErrorException e) when (attempt < _options.MaxSendAttempts && RecoverStale(e))
            {
                continue;
            }
            catch (Exception e) when (attempt < _options.MaxSendAttempts && e is IOException or TimeoutException or ServerErrorException { Code: ErrorCode.Timeout or ErrorCode.Unavailable })
            {
                continue;
            }
            var result = Expect(reply, reply.StatusPosted);
            _statusBodies[(Credentials.UserId, id)] = content.Body; // this device got no ciphertext of its own post
            return new StatusPostResult(id, DateTimeOffset.FromUnixTimeMilliseconds((long)result.ServerTimestamp),
                DateTimeOffset.FromUnixTimeMilliseconds((long)result.ExpiresAt), result.Duplicate, [.. users.Where(u => !left.Contains(u))]);
        }
    }

    /// <summary>Posts a text status to <paramref name="audience"/>.</summary>
    public Task<StatusPostResult> PostStatusAsync(string text, IReadOnlyCollection<string> audience, StatusAudience? chosen = null,
        CancellationToken cancellationToken = default) =>
        PostStatusAsync(System.Text.Encoding.UTF8.GetBytes(text), audience, ContentKind.Text, chosen: chosen, cancellationToken: cancellationToken);

    /// <summary>
    /// Uploads <paramref name="path"/> as STATUS media (encrypted, §12) and posts it with <paramref name="caption"/>: an IMAGE,
    /// or a VIDEO / VOICE_NOTE by the file's extension.
    /// </summary>
    public async Task<StatusPostResult> PostStatusFileAsync(string path, string caption, IReadOnlyCollection<string> audience, HttpClient http,
        StatusAudience? chosen = null, CancellationToken cancellationToken = default)
    {
        var extension = Path.GetExtension(path).ToLowerInvariant();
        var (kind, mime) = extension switch
        {
            ".mp4" or ".mov" or ".webm" => (ContentKind.Video, "video/mp4"),
            ".ogg" or ".opus" or ".m4a" or ".mp3" => (ContentKind.VoiceNote, "audio/ogg"),
            ".png" => (ContentKind.Image, "image/png"),
            _ => (ContentKind.Image, "image/jpeg"),
        };
        await using var file = File.OpenRead(path);
        var reference = await new Media.MediaTransfer(this, http).UploadAsync(file, MediaKind.Status,
            new MediaReference { MimeType = mime, FileName = Path.GetFileName(path), Caption = caption }, cancellationToken: cancellationToken);
        return await PostStatusAsync(reference.ToByteArray(), audience, kind, reference.MediaId, chosen, cancellationToken: cancellationToken);
    }

    /// <summary>
    /// The unexpired posts this device may see (its contacts' and its own), oldest first, decrypted. Follows the server's
    /// <c>more</c> until the whole feed is read.
    /// </summary>
    public async Task<IReadOnlyList<StatusEntry>> GetStatusFeedAsync(DateTimeOffset? since = null, CancellationToken cancellationToken = default)
    {
        var entries = new List<StatusEntry>();
        var from = since is { } s ? (ulong)s.ToUnixTimeMilliseconds() : 0;
        while (true)
        {
            var reply = await RequestAsync(new Frame { GetStatusFeed = new GetStatusFeed { Since = from } }, cancellationToken);
            var feed = Expect(reply, reply.StatusFeed);
            entries.AddRange(feed.Items.Select(Open));
            if (!feed.More || feed.Items.Count == 0)
                return entries;
            from = feed.Items[^1].PostedAt;
        }
    }

    /// <summary>Gives back a status body decrypted before (an application that keeps them across restarts).</summary>
    public void RememberStatusBody(string owner, ByteString statusId, ByteString body) => _statusBodies[(owner, statusId)] = body;

    /// <summary>The decrypted (or, for this device's own posts, posted) body of a status this client has seen; null otherwise.</summary>
    public ByteString? StatusBodyOf(string owner, ByteString statusId) => _statusBodies.GetValueOrDefault((owner, statusId));

    private StatusEntry Open(StatusItem item)
    {
        var key = (item.OwnerUserId, item.StatusId);
        ByteString? body = null;
        if (_statusBodies.TryGetValue(key, out var known))
        {
            body = known;
        }
        else if (!item.Ciphertext.IsEmpty)
        {
            if (_e2e is null)
            {
                body = item.Ciphertext;
            }
            else
            {
                try
                {
                    body = _e2e.Decrypt(item.OwnerUserId, item.OwnerDeviceId, item.CiphertextType, item.Ciphertext).Content.Body;
                }
                catch (CryptographicException)
                {
                    body = null; // a ciphertext whose session was reset: shown as undecryptable
                }
            }
            if (body is not null)
                _statusBodies[key] = body;
        }
        return new StatusEntry(item.OwnerUserId, item.OwnerDeviceId, item.StatusId, item.Kind,
            DateTimeOffset.FromUnixTimeMilliseconds((long)item.PostedAt), DateTimeOffset.FromUnixTimeMilliseconds((long)item.ExpiresAt), body, item.Viewed,
            item.Audience);
    }

    /// <summary>Tells <paramref name="owner"/> this user viewed these posts (named in their viewers unless read receipts are off).</summary>
    public async Task ViewStatusAsync(string owner, IEnumerable<ByteString> statusIds, CancellationToken cancellationToken = default)
    {
        var view = new ViewStatus { OwnerUserId = owner };
        view.StatusIds.AddRange(statusIds);
        var reply = await RequestAsync(new Frame { ViewStatus = view }, cancellationToken);
        Expect(reply, reply.Ok);
    }

    /// <summary>Who viewed one of this user's own posts.</summary>
    public async Task<StatusViewerList> GetStatusViewersAsync(ByteString statusId, CancellationToken cancellationToken = default)
    {
        var reply = await RequestAsync(new Frame { GetStatusViewers = new GetStatusViewers { StatusId = statusId } }, cancellationToken);
        var viewers = Expect(reply, reply.StatusViewers);
        return new StatusViewerList(statusId, (int)viewers.ViewCount,
            [.. viewers.Viewers.Select(v => (v.UserId, DateTimeOffset.FromUnixTimeMilliseconds((long)v.ViewedAt)))]);
    }

    /// <summary>Deletes one of this user's posts before it expires (its audience's devices are told).</summary>
    public async Task DeleteStatusAsync(ByteString statusId, CancellationToken cancellationToken = default)
    {
        var reply = await RequestAsync(new Frame { DeleteStatus = new DeleteStatus { StatusId = statusId } }, cancellationToken);
        Expect(reply, reply.Ok);
    }
}
