using System.Net;
using Actors.Extensions.AdoNet;
using CloudDeck.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Hosting;

namespace Actors.Bench;

/// <summary>
/// A silo of the bench's clusters: membership in PostgreSQL through Orleans' ADO.NET clustering on our schema, the
/// product's failure-detection preset, loopback on free ports. No storage: the cluster bench measures calls.
/// </summary>
internal static class BenchSilo
{
    public const string ServiceId = "actors-bench";

    /// <param name="hostsEcho">False leaves <see cref="EchoGrain"/> out of this silo's manifest, so every echo grain lives elsewhere.</param>
    public static async Task<IHost> StartAsync(string connectionString, string clusterId, bool hostsEcho = true)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(options =>
            {
                options.ClusterId = clusterId;
                options.ServiceId = ServiceId;
            });
            silo.ConfigureEndpoints(IPAddress.Loopback, TestSilo.FreeLoopbackPort(), TestSilo.FreeLoopbackPort());
            silo.UsePostgresCluster(connectionString, options =>
            {
                options.AddDefaultGrainStorage = false;
                options.UseReminders = false;
            });
            silo.ConfigureFastFailureDetection();
            if (!hostsEcho)
            {
                silo.Services.PostConfigure<GrainTypeOptions>(options => options.Classes.Remove(typeof(EchoGrain)));
            }
        });
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    /// <summary>A client of the cluster: it finds the silos' gateways in the membership table.</summary>
    public static async Task<IHost> StartClientAsync(string connectionString, string clusterId)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(options =>
            {
                options.ClusterId = clusterId;
                options.ServiceId = ServiceId;
            });
            client.UsePostgresClustering(connectionString);
        });
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    /// <summary>This silo's address as <see cref="EchoGrain.Host"/> reports it.</summary>
    public static string Address(IHost silo) => silo.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress.ToParsableString();
}
