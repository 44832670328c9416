using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Akka.WhatsApp.Host.Management;

/// <summary>
/// A secret that management routes ask for as "Authorization: Bearer &lt;token&gt;". Compared as SHA-256 hashes in
/// constant time, so neither the length nor a prefix of the token leaks through response times.
/// </summary>
public sealed class BearerToken(string token)
{
    private readonly byte[] _expected = SHA256.HashData(Encoding.UTF8.GetBytes(token));

    public bool IsPresentIn(HttpRequest request)
    {
        const string scheme = "Bearer ";
        var header = request.Headers.Authorization.ToString();
        return header.StartsWith(scheme, StringComparison.Ordinal)
               && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(header[scheme.Length..].Trim())), _expected);
    }
}
