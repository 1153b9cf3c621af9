using System.Security.Cryptography;
using System.Text;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.GrainInterfaces.Projects;
using CloudDeck.Grains.Artifacts;
using Microsoft.Extensions.DependencyInjection;

namespace CloudDeck.Grains.Tests.Projects;

/// <summary>
/// A project silo on SQLite whose requests are measured (<see cref="RequestCostMeter"/>): "acme/web" builds from a git
/// URL and can be pushed to, and <see cref="Files"/> is an upload already stored and counted for acme, as the upload
/// routes leave it. Builds stay queued (no concurrent build), so a creation is all that runs.
/// </summary>
public sealed class CreationSilo : IAsyncDisposable
{
    private CreationSilo(AccountsSilo silo, Caller owner, RequestCostMeter meter, string webhookSecret, IReadOnlyList<ManifestFile> files)
    {
        Silo = silo;
        Owner = owner;
        Meter = meter;
        WebhookSecret = webhookSecret;
        Files = files;
    }

    public AccountsSilo Silo { get; }

    public Caller Owner { get; }

    public RequestCostMeter Meter { get; }

    public string WebhookSecret { get; }

    public IReadOnlyList<ManifestFile> Files { get; }

    public IProjectGrain Web => Silo.Grains.GetGrain<IProjectGrain>("acme/web");

    public IOrganizationQuotaGrain Quota => Silo.Grains.GetGrain<IOrganizationQuotaGrain>("acme");

    public static async Task<CreationSilo> StartAsync(IReadOnlyDictionary<string, string?>? settings = null)
    {
        var meter = new RequestCostMeter();
        var (silo, owner) = await ProjectsSilo.StartAsync(sqlite: true, settings, builder => builder.AddRequestCost(meter));
        var created = await silo.Grains.GetGrain<IProjectGrain>("acme/web").Create(owner, new ProjectSettings(GitUrl: "https://git.example.test/acme/web.git"));
        var files = new List<ManifestFile>();
        var store = silo.Services.GetRequiredService<IArtifactStore>();
        foreach (var (path, text) in new[] { ("index.html", "<h1>hello</h1>"), ("app.js", "console.log(1)") })
        {
            var content = Encoding.UTF8.GetBytes(text);
            var sha256 = ProjectsSilo.Sha256Of(content);
            await silo.Grains.GetGrain<IOrganizationStorageGrain>("acme").Hold(owner, [new StoredContent(sha256, content.Length)]);
            await store.PutAsync(sha256, content.Length, new MemoryStream(content), TestContext.Current.CancellationToken);
            files.Add(new ManifestFile(path, sha256, content.Length));
        }

        return new CreationSilo(silo, owner, meter, created.WebhookSecret!, files);
    }

    public Task<DeploymentView> UploadAsync(Caller? caller = null) =>
        Web.Deploy(caller ?? Owner, new DeploymentSource(Files: Files), DeploymentTargets.Production);

    /// <summary>A signed push of a new commit to <paramref name="branch"/>, as GitHub delivers it.</summary>
    public Task<PushReceipt> PushAsync(string deliveryId, string branch = "main")
    {
        var commit = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(20));
        var payload = Encoding.UTF8.GetBytes($$"""{"ref":"refs/heads/{{branch}}","after":"{{commit}}"}""");
        return PushAsync(payload, deliveryId);
    }

    public Task<PushReceipt> PushAsync(byte[] payload, string deliveryId)
    {
        var signature = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(WebhookSecret), payload));
        return Web.ReceivePush(payload, signature, deliveryId);
    }

    /// <summary>Runs <paramref name="request"/> marked, so its calls and writes are counted as one request.</summary>
    public async Task<(RequestCost Cost, T Answer)> MeasureAsync<T>(string name, Func<Task<T>> request)
    {
        var (cost, scope) = Meter.Measure(name);
        using (scope)
        {
            return (cost, await request());
        }
    }

    /// <summary>Runs a request expected to be refused with <typeparamref name="TException"/>, counting it.</summary>
    public async Task<(RequestCost Cost, TException Refusal)> RefusedAsync<TException>(string name, Func<Task> request) where TException : Exception
    {
        var (cost, scope) = Meter.Measure(name);
        using (scope)
        {
            return (cost, await Assert.ThrowsAsync<TException>(request));
        }
    }

    public async Task<(long Deployments, long Builds)> DayCountsAsync()
    {
        var limits = (await Quota.GetUsage()).Limits;
        return (limits.Single(l => l.Limit == QuotaLimits.DeploymentsPerDay).Current, limits.Single(l => l.Limit == QuotaLimits.BuildsPerDay).Current);
    }

    public async Task<IReadOnlyList<DeploymentView>> ListedAsync() => (await Web.ListDeployments(Owner, null, 100)).Deployments;

    public ValueTask DisposeAsync() => Silo.DisposeAsync();
}
