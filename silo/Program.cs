using CloudDeck.Grains.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

// The silo host process (a cluster member): grains and storage, no HTTP. Configured from CloudDeck:*
// (appsettings.json, CloudDeck__* environment variables, --CloudDeck:Key=value arguments); runs until
// SIGTERM/SIGINT, then deactivates its activations (writing their state) and exits 0.
// `tls-init DIR` instead writes the certificates cluster mode's mutual TLS needs, and exits.
if (args is ["tls-init", var tlsDirectory])
{
    return CloudDeck.Silo.TlsInit.Run(tlsDirectory, Console.Out);
}

var builder = Host.CreateApplicationBuilder(args);
try
{
    builder.AddCloudDeckSilo();
}
catch (InvalidOperationException misconfigured)
{
    Console.Error.WriteLine($"CloudDeck silo cannot start: {misconfigured.Message}");
    return 1;
}

builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = TimeSpan.FromSeconds(45));

using var host = builder.Build();
await host.RunAsync();
return 0;
