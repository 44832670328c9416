using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Runtime.InteropServices;

namespace Akka.WhatsApp.MultiNode.Tests;

/// <summary>
/// One server node as an operating-system process: the host built beside these tests, started with dotnet on
/// loopback ports of its own, its output in a log file. It can be stopped gently (SIGTERM), killed (SIGKILL) or
/// left to exit by itself (after leaving the cluster).
/// </summary>
public sealed class NodeProcess : IDisposable
{
    private const int SigTerm = 15;
    private readonly Process _process;

    private NodeProcess(string name, int edgePort, int managementPort, int remotePort, string logPath, Process process)
    {
        Name = name;
        EdgePort = edgePort;
        ManagementPort = managementPort;
        RemotePort = remotePort;
        LogPath = logPath;
        _process = process;
    }

    public string Name { get; }
    public int EdgePort { get; }
    public int ManagementPort { get; }
    public int RemotePort { get; }
    public string LogPath { get; }
    public int Pid => _process.Id;

    /// <summary>The node's cluster address, as the management API spells it.</summary>
    public string Address => Akka(RemotePort);

    public static string Akka(int remotePort) => $"akka.tcp://whatsapp@127.0.0.1:{remotePort}";

    public Uri Management => new($"http://127.0.0.1:{ManagementPort}");

    public DnsEndPoint Edge => new("127.0.0.1", EdgePort);

    public bool HasExited => _process.HasExited;

    /// <summary>
    /// Edge, management and remoting ports for <paramref name="nodes"/> nodes, all distinct: every listener is held
    /// until all are chosen (asked one node at a time, the OS may hand a just-released port out again).
    /// </summary>
    public static IReadOnlyList<(int Edge, int Management, int Remote)> FreePorts(int nodes)
    {
        var listeners = Enumerable.Range(0, 3 * nodes).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        listeners.ForEach(l => l.Start());
        var ports = listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToList();
        listeners.ForEach(l => l.Stop());
        return Enumerable.Range(0, nodes).Select(i => (ports[3 * i], ports[3 * i + 1], ports[3 * i + 2])).ToList();
    }

    public static NodeProcess Start(string name, (int Edge, int Management, int Remote) ports, IReadOnlyDictionary<string, string> environment,
        string logDirectory)
    {
        var logPath = Path.Combine(logDirectory, name + ".log");
        var start = new ProcessStartInfo("/bin/sh")
        {
            // exec: the pid is the server's own, so that signals reach it and not a shell.
            ArgumentList = { "-c", $"exec dotnet \"{HostAssembly}\" >>\"{logPath}\" 2>&1" },
            UseShellExecute = false,
            WorkingDirectory = logDirectory,
        };
        foreach (var (key, value) in environment)
            start.Environment[key] = value;
        start.Environment["WA_EDGE_HOST"] = "127.0.0.1";
        start.Environment["WA_EDGE_PORT"] = ports.Edge.ToString();
        start.Environment["WA_MANAGEMENT_HOST"] = "127.0.0.1";
        start.Environment["WA_MANAGEMENT_PORT"] = ports.Management.ToString();
        start.Environment["WA_REMOTE_HOST"] = "127.0.0.1";
        start.Environment["WA_REMOTE_PORT"] = ports.Remote.ToString();
        start.Environment["WA_MEDIA_HOST"] = "127.0.0.1";
        start.Environment["WA_MEDIA_PORT"] = "0"; // any free port: the local media store's URLs name the one it bound
        start.Environment["WA_DATA_DIR"] = Path.Combine(logDirectory, name + "-data");
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start " + HostAssembly);
        return new NodeProcess(name, ports.Edge, ports.Management, ports.Remote, logPath, process);
    }

    /// <summary>The server assembly of the same configuration as these tests (the solution build makes it).</summary>
    public static string HostAssembly { get; } = FindHost();

    private static string FindHost()
    {
        var configuration = typeof(NodeProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (!File.Exists(Path.Combine(dir.FullName, "Akka.WhatsApp.sln")))
                continue;
            var host = Path.Combine(dir.FullName, "src", "Akka.WhatsApp.Host", "bin", configuration, "net10.0", "Akka.WhatsApp.Host.dll");
            return File.Exists(host)
                ? host
                : throw new FileNotFoundException($"the server is not built: {host} is missing (build the solution in {configuration} first)");
        }
        throw new DirectoryNotFoundException("Akka.WhatsApp.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Waits until /health/ready answers 200; fails with the end of the node's log otherwise.</summary>
    public async Task WaitReadyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { BaseAddress = Management, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + timeout;
        var last = "no answer";
        while (DateTime.UtcNow < deadline)
        {
            if (HasExited)
                throw new InvalidOperationException($"{Name} exited with {_process.ExitCode} before it was ready:\n{LogTail()}");
            try
            {
                var response = await http.GetAsync("/health/ready");
                if (response.IsSuccessStatusCode)
                    return;
                last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                last = e.Message;
            }
            await Task.Delay(250);
        }
        throw new TimeoutException($"{Name} was not ready within {timeout.TotalSeconds} s (last answer: {last}):\n{LogTail()}");
    }

    /// <summary>SIGKILL: no shutdown, no goodbye to the cluster, sockets reset by the kernel.</summary>
    public void Kill()
    {
        if (!HasExited)
            _process.Kill();
        _process.WaitForExit(10_000);
    }

    /// <summary>SIGTERM: the host's graceful shutdown (drain clients, hand shards off, leave).</summary>
    public void Terminate()
    {
        if (!HasExited && kill(_process.Id, SigTerm) != 0)
            throw new InvalidOperationException($"kill -TERM {_process.Id} failed with errno {Marshal.GetLastPInvokeError()}");
    }

    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public int ExitCode => _process.ExitCode;

    public string Log() => File.Exists(LogPath) ? File.ReadAllText(LogPath) : "";

    public string LogTail(int lines = 40) => string.Join('\n', Log().Split('\n').TakeLast(lines));

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);
}
