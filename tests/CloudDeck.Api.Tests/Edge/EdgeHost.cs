using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using Actors.Extensions.Streams;
using CloudDeck.Api.Edge;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Mail;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.GrainInterfaces.Projects;
using CloudDeck.Grains.Artifacts;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace CloudDeck.Api.Tests.Edge;

/// <summary>
/// The real API (Program, embedded silo on SQLite, real artifact store, project, deployment and alias grains and the
/// alias stream) in this process. Deployments are published for real: an owner of "acme" with a project "web" deploys
/// uploaded files with no build commands (the untouched-upload path), and the edge reads their manifests from the
/// deployment grains. <see cref="ManifestLoads"/> only counts those reads, so tests can see the edge's cache at work.
/// </summary>
public sealed class EdgeHost : WebApplicationFactory<Program>
{
    public const string Organization = "acme";
    public const string Project = "web";

    private readonly IReadOnlyDictionary<string, string?> _settings;
    private readonly SemaphoreSlim _ownerGate = new(1, 1);
    private Caller? _owner;
    private HttpClient? _http;

    public EdgeHost(IReadOnlyDictionary<string, string?>? settings = null) => _settings = settings ?? new Dictionary<string, string?>();

    public string DataDirectory { get; } = Directory.CreateTempSubdirectory("clouddeck-edge-").FullName;

    /// <summary>How many manifests the edge asked the deployment grains for (its cache misses).</summary>
    public int ManifestLoads => Services.GetRequiredService<CountingManifestSource>().Loads;

    public IGrainFactory Grains => Services.GetRequiredService<IGrainFactory>();

    public IArtifactStore Store => Services.GetRequiredService<IArtifactStore>();

    public HttpClient Http => _http ??= CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("CloudDeck:DataDirectory", DataDirectory);
        foreach (var (key, value) in _settings) builder.UseSetting(key, value);
        builder.ConfigureTestServices(services =>
        {
            services.AddSingleton(sp => new CountingManifestSource(new GrainManifestSource(sp.GetRequiredService<IGrainFactory>())));
            services.AddSingleton<IManifestSource>(sp => sp.GetRequiredService<CountingManifestSource>());
        });
    }

    /// <summary>
    /// Uploads the files (with <paramref name="routingConfig"/> as the site's clouddeck.json) and deploys them as a preview
    /// of acme/web; answers the deployment's id once it is ready.
    /// </summary>
    public async Task<string> PublishAsync(IReadOnlyDictionary<string, byte[]> files, string? routingConfig = null) =>
        await WaitReadyAsync(await StartPublishAsync(files, routingConfig));

    /// <summary>
    /// Takes one of the organization's concurrent build slots with a synthetic build (its builds then wait in the queue,
    /// when the test's settings allow one at a time) until the returned build is finished.
    /// </summary>
    public async Task<GrainInterfaces.Builds.IBuildGrain> HoldBuildSlotAsync()
    {
        var build = Grains.GetGrain<GrainInterfaces.Builds.IBuildGrain>(GrainInterfaces.Builds.BuildIds.New());
        await build.Create(await OwnerAsync(), Organization, Project);
        return build;
    }

    /// <summary>Uploads the files and creates the deployment; answers its id while it is still building.</summary>
    public async Task<string> StartPublishAsync(IReadOnlyDictionary<string, byte[]> files, string? routingConfig = null)
    {
        var owner = await OwnerAsync();
        var all = new Dictionary<string, byte[]>(files);
        if (routingConfig is not null) all["clouddeck.json"] = Encoding.UTF8.GetBytes(routingConfig);
        var manifest = new List<ManifestFile>();
        foreach (var (path, bytes) in all)
        {
            var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
            await Store.PutAsync(sha, bytes.Length, new MemoryStream(bytes), TestContext.Current.CancellationToken);
            await Store.GrantAsync(Organization, [sha], TestContext.Current.CancellationToken);
            manifest.Add(new ManifestFile(path, sha, bytes.Length));
        }

        var view = await Grains.GetGrain<IProjectGrain>(ProjectKeys.Of(Organization, Project))
            .Deploy(owner, new DeploymentSource(Files: manifest), DeploymentTargets.Preview);
        return view.Id;
    }

    /// <summary>Waits until the deployment is no longer building; it must be ready.</summary>
    public async Task<string> WaitReadyAsync(string deploymentId)
    {
        var owner = await OwnerAsync();
        var deployment = Grains.GetGrain<IDeploymentGrain>(deploymentId);
        var view = await deployment.Get(owner);
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (view.Status == DeploymentStatuses.Building && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20, TestContext.Current.CancellationToken);
            view = await deployment.Get(owner);
        }

        Assert.True(view.Status == DeploymentStatuses.Ready, $"Deployment {view.Id} is {view.Status}: {view.Error}");
        return view.Id;
    }

    /// <summary>Deletes the deployment as its owner would (which announces the deletion to every edge).</summary>
    public async Task DeleteAsync(string deploymentId) => await Grains.GetGrain<IDeploymentGrain>(deploymentId).Delete(await OwnerAsync());

    /// <summary>The owner of acme, signed up on first use, with the project web (static files, no build commands).</summary>
    private async Task<Caller> OwnerAsync()
    {
        await _ownerGate.WaitAsync(TestContext.Current.CancellationToken);
        try
        {
            if (_owner is not null) return _owner;
            const string email = "owner@acme.test";
            var signedUp = await Grains.GetGrain<IEmailIndexGrain>(email).SignUp(new SignUpRequest(email, "correct horse battery staple", "Owner", "10.0.0.1"))
                           ?? throw new InvalidOperationException($"{email} already has an account.");
            // Verified, as an account must be to deploy more than a few times (CloudDeck:Accounts:UnverifiedDeployments).
            var message = (await Grains.GetGrain<IOutboxGrain>(EmailAddresses.Normalize(email)).List()).Last(m => m.Kind == OutboxKinds.EmailVerification);
            var token = System.Web.HttpUtility.ParseQueryString(new Uri(message.Link).Query)["token"];
            using (var verified = await Http.PostAsync("/api/v1/auth/verify-email", JsonContent.Create(new { token }), TestContext.Current.CancellationToken))
            {
                Assert.True(verified.IsSuccessStatusCode, $"verify-email answered {(int)verified.StatusCode}");
            }

            var owner = new Caller(signedUp.Account.UserId, email, "10.0.0.1", EmailVerified: true);
            await Grains.GetGrain<IOrganizationGrain>(Organization).Create(owner, "Acme", personal: false);
            await Grains.GetGrain<IProjectGrain>(ProjectKeys.Of(Organization, Project)).Create(owner, new ProjectSettings(Name: Project, Framework: "static"));
            return _owner = owner;
        }
        finally
        {
            _ownerGate.Release();
        }
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

/// <summary>The real manifest source (the deployment grains), counting the edge's loads.</summary>
public sealed class CountingManifestSource(IManifestSource grains) : IManifestSource
{
    private int _loads;

    public int Loads => _loads;

    public Task<DeploymentManifest?> GetAsync(string deploymentId)
    {
        Interlocked.Increment(ref _loads);
        return grains.GetAsync(deploymentId);
    }
}
