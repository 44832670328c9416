using Akka.WhatsApp.Host;
using Microsoft.Extensions.Configuration;

// Deployment values come from WA_* environment variables (see README.md, "Configuration").
var configuration = new ConfigurationBuilder().AddEnvironmentVariables().AddCommandLine(args).Build();
HostSettings settings;
try
{
    settings = HostSettings.From(configuration);
}
catch (InvalidOperationException e)
{
    Console.Error.WriteLine($"akka-whatsapp: invalid configuration: {e.Message}");
    return 2;
}

await using var node = WhatsAppNode.Create(settings, args);
await node.RunAsync();
return 0;
