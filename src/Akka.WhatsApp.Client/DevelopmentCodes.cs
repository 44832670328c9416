using System.Net.Http.Json;
using System.Text.Json;

namespace Akka.WhatsApp.Client;

/// <summary>
/// Reads the latest verification code from a server running the development SMS gateway
/// (GET /dev/verification-codes/{phone} on its management port). For tests, tools and client authors only.
/// </summary>
public static class DevelopmentCodes
{
    /// <summary>The code, or null when the server sent none to that number (or has no development gateway).</summary>
    public static async Task<string?> FetchAsync(Uri management, string phone, CancellationToken cancellationToken = default)
    {
        using var http = new HttpClient { BaseAddress = management, Timeout = TimeSpan.FromSeconds(10) };
        using var response = await http.GetAsync($"/dev/verification-codes/{Uri.EscapeDataString(phone)}", cancellationToken);
        if (!response.IsSuccessStatusCode)
            return null;
        return (await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("code").GetString();
    }
}
