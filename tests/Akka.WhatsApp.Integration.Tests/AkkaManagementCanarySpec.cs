using System.Diagnostics;
using Xunit;
using Xunit.Abstractions;

namespace Akka.WhatsApp.Integration.Tests;

/// <summary>
/// Tells us the day Akka.Management works here (#20). Today the newest served Akka.Management restores but fails at run
/// time (it needs Ceen.Httpd 0.9.9, which is not served; NuGet takes 0.9.10, which throws MissingMethodException at
/// start), so the node serves Akka.Management's cluster routes itself (Host/Management/ClusterRoutes.cs). A scratch
/// project outside the repository restores the newest served version and starts it on a loopback port: this test
/// fails, saying so, once it starts.
/// </summary>
public sealed class AkkaManagementCanarySpec(ITestOutputHelper output)
{
    [Fact]
    public async Task The_newest_served_Akka_Management_still_fails_to_start_so_the_node_keeps_its_own_cluster_routes()
    {
        var folder = Directory.CreateTempSubdirectory("wa-akka-management-").FullName;
        await File.WriteAllTextAsync(Path.Combine(folder, "Canary.csproj"), """
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <NoWarn>NU1603</NoWarn>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Akka.Management" Version="*" />
              </ItemGroup>
            </Project>
            """);
        await File.WriteAllTextAsync(Path.Combine(folder, "Program.cs"), """
            using Akka.Actor;
            using Akka.Configuration;
            using Akka.Management.Dsl;
            var config = ConfigurationFactory.ParseString("akka.management.http.hostname = 127.0.0.1\nakka.management.http.port = 0\nakka.management.http.bind-hostname = 127.0.0.1\nakka.management.http.bind-port = 0");
            using var system = ActorSystem.Create("canary", config);
            try
            {
                await AkkaManagement.Get(system).Start().WaitAsync(TimeSpan.FromSeconds(30));
                Console.WriteLine("STARTED");
                return 0;
            }
            catch (Exception e)
            {
                Console.WriteLine($"FAILED: {e.GetBaseException().GetType().Name}: {e.GetBaseException().Message}");
                return 1;
            }
            """);

        var start = new ProcessStartInfo("dotnet", ["run", "--project", folder, "-nologo"])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = folder,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("the Akka.Management scratch project did not restore, build and run within 5 minutes");
        }
        var text = await stdout + await stderr;
        output.WriteLine(text);
        Assert.False(text.Contains("STARTED", StringComparison.Ordinal),
            "Akka.Management now starts here: switch the cluster routes (Host/Management/ClusterRoutes.cs) and discovery to it, and delete this test");
        // It must fail the known way, not for a reason that says nothing about Akka.Management (no registry, no SDK).
        Assert.True(text.Contains("FAILED: MissingMethodException", StringComparison.Ordinal) || text.Contains("Ceen", StringComparison.Ordinal),
            $"the scratch project failed otherwise than the known way:\n{text}");
    }
}
