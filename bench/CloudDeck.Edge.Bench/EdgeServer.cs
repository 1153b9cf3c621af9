using System.Text.Json;
using Actors.Runtime;
using CloudDeck.Api.Edge;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.Grains.Artifacts;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace CloudDeck.Edge.Bench;

/// <summary>
/// The child process that serves: the real API (Program: embedded silo on SQLite, the edge middleware, Kestrel) with
/// the site's files put in its artifact store and an alias grain pointing at it. Only the manifest lookup on a cache
/// miss is replaced (the deployment grains come with the build pipeline); the measured steady state never makes it.
/// </summary>
internal static class EdgeServer
{
    public const string Host = "site-bench.localhost";

    public static async Task<int> RunAsync(string dataDirectory, string siteDirectory, string manifestPath, int port)
    {
        var manifest = JsonSerializer.Deserialize<DeploymentManifest>(await File.ReadAllTextAsync(manifestPath))!;
        var deploymentId = DeploymentIds.New();
        await using var factory = new Factory(dataDirectory, new StaticManifests(deploymentId, manifest));
        factory.UseKestrel(port);
        factory.StartServer();

        var store = factory.Services.GetRequiredService<IArtifactStore>();
        foreach (var file in manifest.Files)
        {
            await using var content = File.OpenRead(Path.Combine(siteDirectory, file.Path));
            await store.PutAsync(file.Sha256, file.Size, content, CancellationToken.None);
        }

        await factory.Services.GetRequiredService<IGrainFactory>().GetGrain<IAliasGrain>(Host).Set("bench/site", deploymentId);
        Console.WriteLine($"READY {deploymentId}");
        // The parent ends this process with SIGTERM (or closes stdin).
        var stopped = new TaskCompletionSource();
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stopped.TrySetResult();
        });
        await Task.WhenAny(stopped.Task, Task.Run(() => Console.In.ReadToEnd()));
        return 0;
    }

    private sealed class Factory(string dataDirectory, IManifestSource manifests) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseSetting("CloudDeck:DataDirectory", dataDirectory);
            builder.UseSetting("Logging:LogLevel:Default", "Warning");
            builder.ConfigureTestServices(services => services.AddSingleton(manifests));
        }
    }

    private sealed class StaticManifests(string id, DeploymentManifest manifest) : IManifestSource
    {
        public Task<DeploymentManifest?> GetAsync(string deploymentId) => Task.FromResult(deploymentId == id ? manifest : null);
    }
}
