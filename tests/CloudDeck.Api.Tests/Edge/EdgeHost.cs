using System.Collections.Concurrent;
using System.Security.Cryptography;
using Actors.Runtime;
using CloudDeck.Api.Edge;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.Grains.Artifacts;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace CloudDeck.Api.Tests.Edge;

/// <summary>
/// The real API (Program, embedded silo on SQLite, real artifact store, alias grains and stream) in this process.
/// Deployments are published without the build pipeline: files go into the store and the manifest into
/// <see cref="Manifests"/>, which stands in for the deployment grains behind <see cref="IManifestSource"/>.
/// </summary>
public sealed class EdgeHost : WebApplicationFactory<Program>
{
    private readonly IReadOnlyDictionary<string, string?> _settings;
    private HttpClient? _http;

    public EdgeHost(IReadOnlyDictionary<string, string?>? settings = null) => _settings = settings ?? new Dictionary<string, string?>();

    public string DataDirectory { get; } = Directory.CreateTempSubdirectory("clouddeck-edge-").FullName;

    public FixtureManifests Manifests { get; } = new();

    public IGrainFactory Grains => Services.GetRequiredService<IGrainFactory>();

    public IArtifactStore Store => Services.GetRequiredService<IArtifactStore>();

    public HttpClient Http => _http ??= CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("CloudDeck:DataDirectory", DataDirectory);
        foreach (var (key, value) in _settings) builder.UseSetting(key, value);
        builder.ConfigureTestServices(services => services.AddSingleton<IManifestSource>(Manifests));
    }

    /// <summary>Stores the files and records a ready deployment of them; answers its id.</summary>
    public async Task<string> PublishAsync(IReadOnlyDictionary<string, byte[]> files, string? routingConfig = null)
    {
        var manifest = new List<ManifestFile>();
        foreach (var (path, bytes) in files)
        {
            var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
            await Store.PutAsync(sha, bytes.Length, new MemoryStream(bytes), TestContext.Current.CancellationToken);
            manifest.Add(new ManifestFile(path, sha, bytes.Length));
        }

        ManifestValidation.Validate(manifest);
        var id = DeploymentIds.New();
        Manifests.Ready[id] = new DeploymentManifest(manifest, routingConfig);
        return id;
    }

    public Task<HttpResponseMessage> GetAsync(string host, string path, params (string Name, string Value)[] headers) =>
        SendAsync(HttpMethod.Get, host, path, headers);

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string host, string path, params (string Name, string Value)[] headers)
    {
        // The test server routes any host: the URL's host is the Host header the edge sees.
        using var request = new HttpRequestMessage(method, new Uri($"http://{host}{path}"));
        foreach (var (name, value) in headers) request.Headers.TryAddWithoutValidation(name, value);
        var response = await Http.SendAsync(request, TestContext.Current.CancellationToken);
        await response.Content.LoadIntoBufferAsync(TestContext.Current.CancellationToken);
        return response;
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (!disposing) return;
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Ready deployments' manifests by id; counts the loads, so tests can see the edge's cache at work.</summary>
public sealed class FixtureManifests : IManifestSource
{
    private int _loads;

    public ConcurrentDictionary<string, DeploymentManifest> Ready { get; } = new();

    public int Loads => _loads;

    public Task<DeploymentManifest?> GetAsync(string deploymentId)
    {
        Interlocked.Increment(ref _loads);
        return Task.FromResult(Ready.GetValueOrDefault(deploymentId));
    }
}
