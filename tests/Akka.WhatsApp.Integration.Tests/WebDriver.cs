using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;

namespace Akka.WhatsApp.Integration.Tests;

/// <summary>
/// A tiny W3C WebDriver client (Selenium is not in the package registry here): starts chromedriver on a free port,
/// opens one headless Chromium session, navigates and runs scripts. Disposing ends the session and the driver.
/// The driver is WA_TEST_CHROMEDRIVER or chromedriver on the PATH (./build.sh test installs it); without one this
/// fails, never skips.
/// </summary>
public sealed class WebDriver : IAsyncDisposable
{
    private readonly Process _driver;
    private readonly HttpClient _http;
    private readonly string _session;

    private WebDriver(Process driver, HttpClient http, string session)
    {
        _driver = driver;
        _http = http;
        _session = session;
    }

    public static string DriverPath()
    {
        var configured = Environment.GetEnvironmentVariable("WA_TEST_CHROMEDRIVER");
        if (!string.IsNullOrWhiteSpace(configured))
            return File.Exists(configured)
                ? configured
                : throw new InvalidOperationException($"WA_TEST_CHROMEDRIVER names {configured}, which does not exist");
        var onPath = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Select(dir => Path.Combine(dir, OperatingSystem.IsWindows() ? "chromedriver.exe" : "chromedriver")).FirstOrDefault(File.Exists);
        return onPath ?? throw new InvalidOperationException(
            "chromedriver was not found (neither WA_TEST_CHROMEDRIVER nor PATH): the dashboard test needs headless Chromium. " +
            "Run ./build.sh test (it installs the Debian packages chromium and chromium-driver) or install them with apt.");
    }

    public static async Task<WebDriver> StartChromiumAsync()
    {
        var port = FreePort();
        var driver = Process.Start(new ProcessStartInfo(DriverPath(), $"--port={port}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("chromedriver did not start");
        driver.OutputDataReceived += (_, _) => { };
        driver.ErrorDataReceived += (_, _) => { };
        driver.BeginOutputReadLine();
        driver.BeginErrorReadLine();
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(60) };
        try
        {
            await WaitUntilReadyAsync(http, driver);
            var created = await CallAsync(http, HttpMethod.Post, "session", new
            {
                capabilities = new
                {
                    alwaysMatch = new Dictionary<string, object>
                    {
                        ["browserName"] = "chrome",
                        ["goog:chromeOptions"] = new { args = new[] { "--headless", "--no-sandbox", "--disable-gpu" } },
                    },
                },
            });
            return new WebDriver(driver, http, created.GetProperty("sessionId").GetString()!);
        }
        catch
        {
            http.Dispose();
            Kill(driver);
            throw;
        }
    }

    public Task NavigateAsync(Uri url) => CallAsync(_http, HttpMethod.Post, $"session/{_session}/url", new { url = url.ToString() });

    /// <summary>Runs a script in the page (its body; use return) and gives back its result.</summary>
    public Task<JsonElement> ExecuteAsync(string script, params object[] args) =>
        CallAsync(_http, HttpMethod.Post, $"session/{_session}/execute/sync", new { script, args });

    public async ValueTask DisposeAsync()
    {
        try
        {
            await CallAsync(_http, HttpMethod.Delete, $"session/{_session}", null);
        }
        catch (Exception e) when (e is HttpRequestException or InvalidOperationException or TaskCanceledException)
        {
            // The driver is killed below either way.
        }
        _http.Dispose();
        Kill(_driver);
    }

    private static async Task WaitUntilReadyAsync(HttpClient http, Process driver)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            if (driver.HasExited)
                throw new InvalidOperationException($"chromedriver exited at start with code {driver.ExitCode}");
            try
            {
                var status = await http.GetFromJsonAsync<JsonElement>("status");
                if (status.GetProperty("value").GetProperty("ready").GetBoolean())
                    return;
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(100);
        }
        throw new TimeoutException("chromedriver did not become ready within 20 s");
    }

    private static async Task<JsonElement> CallAsync(HttpClient http, HttpMethod method, string path, object? body)
    {
        using var request = new HttpRequestMessage(method, path);
        // With a Content-Length: chromedriver drops chunked requests (JsonContent streams without one).
        if (body is not null)
            request.Content = new StringContent(JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, "application/json");
        using var response = await http.SendAsync(request);
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        var value = json.GetProperty("value");
        if (response.StatusCode != HttpStatusCode.OK)
            throw new InvalidOperationException($"WebDriver {method} /{path} answered {(int)response.StatusCode}: {value}");
        return value;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
                process.Kill(entireProcessTree: true);
            process.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
        }
        process.Dispose();
    }
}
