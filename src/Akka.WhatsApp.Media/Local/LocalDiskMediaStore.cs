using System.Globalization;
using System.Net;
using Akka.WhatsApp.Domain.Media;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Akka.WhatsApp.Media.Local;

/// <summary>
/// The embedded default media store: objects on the local disk (<see cref="DiskObjects"/>), served on the store's own
/// HTTP port through signed, expiring URLs: <c>PUT /media/{id}?size=N&amp;expires=unixms&amp;sig=…</c> uploads exactly N
/// bytes, <c>GET /media/{id}?expires=unixms&amp;sig=…</c> downloads (with Range). A bad or expired signature, or a URL used
/// with another method, is 403; an unknown or malformed id 404; an upload over an existing object 409, of more bytes
/// than signed 413, of fewer 400.
/// </summary>
public sealed class LocalDiskMediaStore : IMediaStore
{
    private const string Put = "PUT";
    private const string Get = "GET";
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(5);

    private readonly LocalMediaOptions options;
    private readonly UrlSigner signer;
    private readonly DiskObjects objects;
    private readonly IPAddress bindAddress;
    private WebApplication? app;
    private Uri? baseUrl;

    public LocalDiskMediaStore(LocalMediaOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Root, nameof(options.Root));
        if (!IPAddress.TryParse(options.BindAddress, out var address))
            throw new ArgumentException($"BindAddress '{options.BindAddress}' is not an IP address", nameof(options));
        if (options.MaxObjectBytes <= 0)
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxObjectBytes, "MaxObjectBytes must be positive");
        this.options = options;
        bindAddress = address;
        signer = new UrlSigner(options.Secret);
        objects = new DiskObjects(Path.GetFullPath(options.Root));
    }

    public string Name => "local";

    /// <summary>The TCP port the HTTP listener is bound to (after <see cref="StartAsync"/>).</summary>
    public int Port { get; private set; }

    /// <summary>The base of the URLs handed out, ending in '/' (after <see cref="StartAsync"/>).</summary>
    public Uri BaseUrl => baseUrl ?? throw new InvalidOperationException("the local media store is not started");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (app is not null)
            throw new InvalidOperationException("the local media store is already started");
        objects.EnsureRoot();
        // The empty builder reads no appsettings.json nor ASPNETCORE_* variables: the host's own HTTP configuration
        // (endpoints, URLs) must never leak into this listener.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // Uploads enforce their signed size while reading; this only bounds what Kestrel drains after a refusal.
            kestrel.Limits.MaxRequestBodySize = options.MaxObjectBytes + 1;
            kestrel.Listen(bindAddress, options.Port);
        });
        builder.Services.AddRoutingCore();
        var web = builder.Build();
        web.Map("/media/{id}", HandleAsync);
        await web.StartAsync(cancellationToken);
        app = web;

        var bound = web.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses
            .Select(a => new Uri(a)).First();
        Port = bound.Port;
        // Bound to every interface, the store is at least reachable on loopback: 0.0.0.0 is no address to hand out.
        var host = bindAddress.Equals(IPAddress.Any) ? IPAddress.Loopback : bindAddress.Equals(IPAddress.IPv6Any) ? IPAddress.IPv6Loopback : bindAddress;
        var url = options.PublicBaseUrl ?? new UriBuilder(Uri.UriSchemeHttp, host.ToString(), Port).Uri;
        baseUrl = url.AbsoluteUri.EndsWith('/') ? url : new Uri(url.AbsoluteUri + "/");
    }

    public Task<PresignedRequest> UploadUrlAsync(string mediaId, long size, TimeSpan validFor, CancellationToken cancellationToken)
    {
        MediaArguments.CheckMediaId(mediaId);
        MediaArguments.CheckValidity(validFor);
        if (size < 0 || size > options.MaxObjectBytes)
            throw new ArgumentOutOfRangeException(nameof(size), size, $"an object holds 0 to {options.MaxObjectBytes} bytes");
        var expires = ExpiresAt(validFor);
        var sig = signer.Sign(Put, mediaId, size, expires.ToUnixTimeMilliseconds());
        var url = new Uri(BaseUrl, string.Create(CultureInfo.InvariantCulture, $"media/{mediaId}?size={size}&expires={expires.ToUnixTimeMilliseconds()}&sig={sig}"));
        return Task.FromResult(new PresignedRequest(Put, url, [], expires));
    }

    public Task<PresignedRequest> DownloadUrlAsync(string mediaId, TimeSpan validFor, CancellationToken cancellationToken)
    {
        MediaArguments.CheckMediaId(mediaId);
        MediaArguments.CheckValidity(validFor);
        var expires = ExpiresAt(validFor);
        var sig = signer.Sign(Get, mediaId, null, expires.ToUnixTimeMilliseconds());
        var url = new Uri(BaseUrl, string.Create(CultureInfo.InvariantCulture, $"media/{mediaId}?expires={expires.ToUnixTimeMilliseconds()}&sig={sig}"));
        return Task.FromResult(new PresignedRequest(Get, url, [], expires));
    }

    public async Task<StoredObject?> StatAsync(string mediaId, CancellationToken cancellationToken)
    {
        MediaArguments.CheckMediaId(mediaId);
        return await objects.ReadMetaAsync(mediaId, cancellationToken) is { } meta ? new StoredObject(meta.Size, meta.Sha256) : null;
    }

    public Task DeleteAsync(string mediaId, CancellationToken cancellationToken)
    {
        MediaArguments.CheckMediaId(mediaId);
        return objects.DeleteAsync(mediaId, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (app is null)
            return;
        using (var stopping = new CancellationTokenSource(StopTimeout))
            await app.StopAsync(stopping.Token);
        await app.DisposeAsync();
        app = null;
    }

    private DateTimeOffset ExpiresAt(TimeSpan validFor) =>
        DateTimeOffset.FromUnixTimeMilliseconds((options.Time.GetUtcNow() + validFor).ToUnixTimeMilliseconds());

    private async Task HandleAsync(HttpContext http)
    {
        var id = (string)http.Request.RouteValues["id"]!;
        if (!MediaIds.IsValid(id))
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        var method = http.Request.Method;
        var query = http.Request.Query;
        // An upload URL carries its size, a download URL none; any other method is not what a URL was signed for.
        long? size = method == Put && TryReadNumber(query, "size", out var signedSize) ? signedSize : null;
        var shaped = (method == Put && size is not null) || (method == Get && !query.ContainsKey("size"));
        var authorized = shaped
                         && TryReadNumber(query, "expires", out var expires)
                         && expires > options.Time.GetUtcNow().ToUnixTimeMilliseconds()
                         && query.TryGetValue("sig", out var sig) && sig.Count == 1
                         && signer.Verify(method, id, size, expires, sig.ToString());
        if (!authorized)
        {
            http.Response.StatusCode = StatusCodes.Status403Forbidden;
            return;
        }
        if (method == Put)
            await UploadAsync(http, id, size!.Value);
        else
            await DownloadAsync(http, id);
    }

    private async Task UploadAsync(HttpContext http, string id, long size)
    {
        var cancellationToken = http.RequestAborted;
        if (await objects.ReadMetaAsync(id, cancellationToken) is not null)
        {
            http.Response.StatusCode = StatusCodes.Status409Conflict;
            return;
        }
        // A declared length that differs from the signed size is refused before a byte is read; a chunked body is
        // checked while it streams.
        if (http.Request.ContentLength is { } declared && declared != size)
        {
            http.Response.StatusCode = declared > size ? StatusCodes.Status413PayloadTooLarge : StatusCodes.Status400BadRequest;
            return;
        }
        var outcome = await objects.UploadAsync(id, size, http.Request.Body, cancellationToken);
        http.Response.StatusCode = outcome switch
        {
            UploadOutcome.Stored => StatusCodes.Status200OK,
            UploadOutcome.TooLarge => StatusCodes.Status413PayloadTooLarge,
            UploadOutcome.TooShort => StatusCodes.Status400BadRequest,
            UploadOutcome.AlreadyExists => StatusCodes.Status409Conflict,
            _ => throw new InvalidOperationException($"unexpected upload outcome {outcome}"),
        };
    }

    private async Task DownloadAsync(HttpContext http, string id)
    {
        var meta = await objects.ReadMetaAsync(id, http.RequestAborted);
        var data = meta is null ? null : objects.OpenData(id, meta);
        if (data is null)
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        // ASP.NET Core's file result answers single ranges (206 + Content-Range), 416 for unsatisfiable ones, sets
        // Accept-Ranges and Content-Length, honours If-Range against the ETag, and disposes the stream.
        var etag = new EntityTagHeaderValue($"\"{Convert.ToHexString(meta!.Sha256).ToLowerInvariant()}\"");
        await Results.File(data, "application/octet-stream", entityTag: etag, enableRangeProcessing: true).ExecuteAsync(http);
    }

    private static bool TryReadNumber(IQueryCollection query, string name, out long value)
    {
        value = 0;
        return query.TryGetValue(name, out StringValues values) && values.Count == 1
               && long.TryParse(values.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }
}
