using System.Security.Cryptography;
using Actors.Runtime;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.Grains.Artifacts;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CloudDeck.Grains.Tests.Projects;

/// <summary>
/// A silo for project and deployment tests: "acme" owned by a verified owner, an artifact store in the temp data
/// directory, and an alias grain. Until the edge branch merges, main has neither an <see cref="IArtifactStore"/>
/// implementation nor an alias grain, so the interim ones below stand in; each steps aside by itself once the real one
/// is in the grains assembly (and then should be deleted).
/// </summary>
public static class ProjectsSilo
{
    public static async Task<(AccountsSilo Silo, Caller Owner)> StartAsync(bool sqlite = false, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var silo = await AccountsSilo.StartAsync(sqlite, settings, builder =>
        {
            var grainTypes = GrainsAssembly.Value.GetTypes();
            if (!grainTypes.Any(t => t.IsClass && typeof(IAliasGrain).IsAssignableFrom(t))) builder.AddGrain<InterimAliasGrain>();
            builder.Services.TryAddSingleton<IArtifactStore>(services => new InterimArtifactStore(Path.Combine(
                Path.GetTempPath(), "clouddeck-artifacts-" + Guid.NewGuid().ToString("N"))));
        });
        var (owner, _) = await silo.SignUpAsync("owner@acme.test", verified: true);
        await silo.Grains.GetGrain<IOrganizationGrain>("acme").Create(owner, "Acme", personal: false);
        return (silo, owner);
    }

    public static string Sha256Of(byte[] content) => Convert.ToHexStringLower(SHA256.HashData(content));
}

/// <summary>INTERIM (delete when grains/Deployments/AliasGrain.cs is merged): host → deployment, kept in grain state.</summary>
public sealed class InterimAliasGrain([PersistentState("alias")] IPersistentState<InterimAliasGrain.AliasState> state, TimeProvider clock) : Grain, IAliasGrain
{
    public async Task<string?> Set(string projectKey, string deploymentId)
    {
        var previous = state.State.DeploymentId;
        state.State = new AliasState { ProjectKey = projectKey, DeploymentId = deploymentId, UpdatedAt = clock.GetUtcNow(), Version = state.State.Version + 1 };
        await state.WriteStateAsync();
        return previous;
    }

    public async Task Remove()
    {
        state.State = new AliasState { Version = state.State.Version + 1 };
        await state.WriteStateAsync();
    }

    public Task<AliasView?> Get() => Task.FromResult(state.State.DeploymentId is { } id
        ? new AliasView(GetPrimaryKeyString(), state.State.ProjectKey!, id, state.State.UpdatedAt, state.State.Version)
        : null);

    public sealed class AliasState
    {
        public string? ProjectKey { get; set; }

        public string? DeploymentId { get; set; }

        public DateTimeOffset UpdatedAt { get; set; }

        public long Version { get; set; }
    }
}

/// <summary>INTERIM (delete when grains/Artifacts/LocalArtifactStore.cs is merged): files by SHA-256 in a directory.</summary>
public sealed class InterimArtifactStore(string directory) : IArtifactStore
{
    public bool Contains(string sha256) => File.Exists(PathOf(sha256));

    public IReadOnlyList<string> Missing(IEnumerable<string> sha256s) => [.. sha256s.Distinct(StringComparer.Ordinal).Where(h => !Contains(h))];

    public async Task PutAsync(string sha256, long size, Stream content, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await content.CopyToAsync(buffer, cancellationToken);
        var bytes = buffer.ToArray();
        if (bytes.Length != size || ProjectsSilo.Sha256Of(bytes) != sha256) throw new InvalidFieldException("sha256", "does not match the content");
        Directory.CreateDirectory(directory);
        await File.WriteAllBytesAsync(PathOf(sha256), bytes, cancellationToken);
    }

    public async Task<string> PutFileAsync(string path, CancellationToken cancellationToken)
    {
        var bytes = await File.ReadAllBytesAsync(path, cancellationToken);
        var sha256 = ProjectsSilo.Sha256Of(bytes);
        await PutAsync(sha256, bytes.Length, new MemoryStream(bytes), cancellationToken);
        return sha256;
    }

    public string PathOf(string sha256) => Path.Combine(directory, sha256);
}
