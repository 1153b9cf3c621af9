using CloudDeck.Grains.Hosting;
using CloudDeck.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

// The silo host process (a cluster member): grains and storage. Configured from CloudDeck:* (appsettings.json,
// CloudDeck__* environment variables, --CloudDeck:Key=value arguments); runs until SIGTERM/SIGINT, then deactivates its
// activations (writing their state) and exits 0. No HTTP, unless CloudDeck:Management:Port is set: then Kestrel on that
// port alone, for /healthz, /readyz and /metrics. `tls-init DIR` instead writes the certificates cluster mode's mutual
// TLS needs, and exits.
if (args is ["tls-init", var tlsDirectory])
{
    return CloudDeck.Silo.TlsInit.Run(tlsDirectory, Console.Out);
}

ManagementOptions management;
try
{
    management = ManagementOptions.Read(Host.CreateApplicationBuilder(args).Configuration);
}
catch (InvalidOperationException misconfigured)
{
    Console.Error.WriteLine($"CloudDeck silo cannot start: {misconfigured.Message}");
    return 1;
}

var web = management.Port is null ? null : WebApplication.CreateBuilder(args);
IHostApplicationBuilder builder = web ?? (IHostApplicationBuilder)Host.CreateApplicationBuilder(args);
try
{
    builder.AddCloudDeckSilo();
    builder.AddCloudDeckDefaults("clouddeck-silo");
}
catch (InvalidOperationException misconfigured)
{
    Console.Error.WriteLine($"CloudDeck silo cannot start: {misconfigured.Message}");
    return 1;
}

builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = TimeSpan.FromSeconds(45));

if (web is not null)
{
    web.WebHost.ListenOnManagementPortOnly(management);
    await using var app = web.Build();
    app.UseManagementEndpoints();
    await app.RunAsync();
    return 0;
}

using var host = ((HostApplicationBuilder)builder).Build();
await host.RunAsync();
return 0;
