using System.Text.Json;
using CloudDeck.GrainInterfaces.Deployments;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace CloudDeck.Edge.Bench;

/// <summary>
/// The child process that serves: the real API (Program: embedded silo on SQLite, the edge middleware, Kestrel), with
/// the site published through its REST contract as a production deployment (<see cref="SitePublisher"/>). Nothing is
/// stood in for: a cache miss asks the real deployment grain for its manifest. Prints "READY &lt;deployment id&gt;
/// &lt;production host&gt;" once the site is served.
/// </summary>
internal static class EdgeServer
{
    /// <param name="https">With a port, certificate and key: the edge's HTTPS listener (CloudDeck:Edge:Https) with that certificate.</param>
    public static async Task<int> RunAsync(string dataDirectory, string siteDirectory, string manifestPath, int port, (int Port, string Certificate, string Key)? https = null)
    {
        var manifest = JsonSerializer.Deserialize<DeploymentManifest>(await File.ReadAllTextAsync(manifestPath))!;
        await using var factory = new Factory(dataDirectory, port, https);
        // With HTTPS the edge lists its endpoints itself (the public URL and the HTTPS port); without, the factory listens.
        if (https is null) factory.UseKestrel(port);
        else factory.UseKestrel();
        factory.StartServer();

        var (deploymentId, host) = await SitePublisher.PublishAsync(new Uri($"http://127.0.0.1:{port}/"), manifest, siteDirectory);
        Console.WriteLine($"READY {deploymentId} {host}");
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

    private sealed class Factory(string dataDirectory, int port, (int Port, string Certificate, string Key)? https) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseSetting("CloudDeck:DataDirectory", dataDirectory);
            if (https is { } tls)
            {
                builder.UseSetting("urls", $"http://127.0.0.1:{port}");
                builder.UseSetting("CloudDeck:Edge:Https:Port", tls.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
                builder.UseSetting("CloudDeck:Edge:Https:ListenAddress", "127.0.0.1");
                builder.UseSetting("CloudDeck:Edge:Https:CertificatePath", tls.Certificate);
                builder.UseSetting("CloudDeck:Edge:Https:KeyPath", tls.Key);
            }

            // The benchmark account cannot verify its email (no mail leaves the process): it may upload what the site needs.
            builder.UseSetting("CloudDeck:Accounts:UnverifiedStorageAllowanceMb", "1000000");
            builder.UseSetting("CloudDeck:Plans:Hobby:StorageMb", "-1");
            builder.UseSetting("Logging:LogLevel:Default", "Warning");
        }
    }
}
