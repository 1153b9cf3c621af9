using System.Security.Cryptography;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.Grains.Artifacts;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CloudDeck.Grains.Tests.Projects;

/// <summary>
/// A silo for project and deployment tests: "acme" owned by a verified owner, the real artifact store in a temp
/// directory and the real alias, project, deployment and build grains. Its plan allows no concurrent build, so every
/// build stays queued: the tests report how a build ended through BuildFinished, as the pipeline does, which makes the
/// deployment logic deterministic without git or npm (the build tests run real builds).
/// </summary>
public static class ProjectsSilo
{
    /// <param name="configure">More for the silo, after CloudDeck's services (a test's filters and wrappers).</param>
    public static async Task<(AccountsSilo Silo, Caller Owner)> StartAsync(bool sqlite = false, IReadOnlyDictionary<string, string?>? settings = null,
        Action<ISiloBuilder>? configure = null)
    {
        var merged = new Dictionary<string, string?> { ["CloudDeck:Plans:Hobby:ConcurrentBuilds"] = "0" };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) merged[key] = value;
        var silo = await AccountsSilo.StartAsync(sqlite, merged, builder =>
        {
            builder.Services.TryAddSingleton<IArtifactStore>(_ => new LocalArtifactStore(Path.Combine(
                Path.GetTempPath(), "clouddeck-artifacts-" + Guid.NewGuid().ToString("N"))));
            configure?.Invoke(builder);
        });
        var (owner, _) = await silo.SignUpAsync("owner@acme.test", verified: true);
        await silo.Grains.GetGrain<IOrganizationGrain>("acme").Create(owner, "Acme", personal: false);
        return (silo, owner);
    }

    public static string Sha256Of(byte[] content) => Convert.ToHexStringLower(SHA256.HashData(content));
}
