using System.Security.Cryptography;
using Actors.Runtime;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Projects;
using CloudDeck.Grains.Artifacts;

namespace CloudDeck.Grains.Tests.Builds;

/// <summary>
/// The project grain the build pipeline reads its plan from, reduced to what a build needs: settings and environment.
/// The real ProjectGrain is another piece of the work (and checks sources and names these tests do not care about),
/// so build tests register this one in its place.
/// </summary>
[GrainType("test-project")]
public sealed class TestProjectGrain([PersistentState("project")] IPersistentState<TestProjectState> state) : Grain, IProjectGrain
{
    public async Task<ProjectView> Create(Caller caller, ProjectSettings settings)
    {
        state.State.Settings = settings;
        state.State.CreatedAt = DateTimeOffset.UtcNow;
        await state.WriteStateAsync();
        return View();
    }

    public Task<ProjectView> Get(Caller caller) => Task.FromResult(View());

    public async Task<EnvVarView> SetEnv(Caller caller, string environment, string name, string value)
    {
        if (!state.State.Environment.TryGetValue(environment, out var variables)) state.State.Environment[environment] = variables = [];
        variables[name] = value;
        await state.WriteStateAsync();
        return new EnvVarView(environment, name, "***", DateTimeOffset.UtcNow);
    }

    public Task<BuildPlan> GetBuildPlan(string environment) =>
        Task.FromResult(new BuildPlan(View(), state.State.Environment.TryGetValue(environment, out var variables)
            ? new Dictionary<string, string>(variables)
            : new Dictionary<string, string>()));

    private ProjectView View()
    {
        var (organization, name) = ProjectKeys.Split(GetPrimaryKeyString());
        var s = state.State.Settings;
        return new ProjectView(organization, name, s.GitUrl, s.LocalPath, s.ProductionBranch ?? "main", s.RootDirectory ?? "",
            s.Framework, s.InstallCommand, s.BuildCommand, s.OutputDirectory, $"{name}-{organization}.localhost", null, state.State.CreatedAt)
        {
            StartCommand = s.StartCommand, HealthCheckPath = s.HealthCheckPath,
        };
    }

    public Task<ProjectView> Update(Caller caller, ProjectSettings changes) => throw new NotSupportedException();

    public Task Delete(Caller caller) => throw new NotSupportedException();

    public Task<IReadOnlyList<EnvVarView>> ListEnv(Caller caller) => throw new NotSupportedException();

    public Task RemoveEnv(Caller caller, string environment, string name) => throw new NotSupportedException();

    public Task<DeploymentPage> ListDeployments(Caller caller, long? before, int limit) => throw new NotSupportedException();

    public Task<long> RecordDeployment(DeploymentView deployment) => throw new NotSupportedException();

    public Task<DeploymentView> Rollback(Caller caller, string? deploymentId) => throw new NotSupportedException();

    public Task<DeploymentView?> ReceivePush(byte[] payload, string? signature) => throw new NotSupportedException();

    public Task RecordProduction(string deploymentId) => throw new NotSupportedException();
}

public sealed class TestProjectState
{
    public ProjectSettings Settings { get; set; } = new();

    public Dictionary<string, Dictionary<string, string>> Environment { get; set; } = [];

    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>A deployment that only records what its build told it (how many times, too: the call must be idempotent-safe).</summary>
[GrainType("test-deployment")]
public sealed class TestDeploymentGrain([PersistentState("deployment")] IPersistentState<TestDeploymentState> state) : Grain, IDeploymentGrain
{
    public async Task BuildFinished(string status, DeploymentManifest? manifest)
    {
        state.State.Status = status;
        state.State.Manifest = manifest;
        state.State.Calls++;
        await state.WriteStateAsync();
    }

    public Task<DeploymentManifest?> GetManifest() => Task.FromResult(state.State.Manifest);

    /// <summary>The status the build reported (null before it did), and how often it reported.</summary>
    public Task<DeploymentView> Get(Caller caller) => Task.FromResult(new DeploymentView(GetPrimaryKeyString(), "", "", DeploymentTargets.Preview,
        state.State.Status ?? DeploymentStatuses.Building, "", null, null, null, null, "", DateTimeOffset.UnixEpoch, null, state.State.Calls));

    public Task<DeploymentView> Create(Caller caller, string projectKey, DeploymentSource source, string target) => throw new NotSupportedException();

    public Task<DeploymentView> Cancel(Caller caller) => throw new NotSupportedException();

    public Task Delete(Caller caller) => throw new NotSupportedException();

    public Task<DeploymentView> Promote(Caller caller) => throw new NotSupportedException();

    public Task<DeploymentView> CreateFromPush(ProjectView project, DeploymentSource source, string target, string pushedBy, long sequence) =>
        throw new NotSupportedException();

    public Task ProjectDeleted() => throw new NotSupportedException();

    public Task<GrainInterfaces.Servers.ServerLaunch?> GetServerLaunch() => Task.FromResult<GrainInterfaces.Servers.ServerLaunch?>(null);

    public Task ServerChecked(string? failure) => throw new NotSupportedException();
}

public sealed class TestDeploymentState
{
    public string? Status { get; set; }

    public DeploymentManifest? Manifest { get; set; }

    public int Calls { get; set; }
}

/// <summary>Files by SHA-256 in a directory: the artifact store contract, without the edge's verification and fan-out.</summary>
public sealed class TestArtifactStore(string directory) : IArtifactStore
{
    public bool Contains(string sha256) => File.Exists(PathOf(sha256));

    public IReadOnlyList<string> Missing(IEnumerable<string> sha256s) => [.. sha256s.Distinct().Where(h => !Contains(h))];

    public async Task PutAsync(string sha256, long size, Stream content, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await content.CopyToAsync(buffer, cancellationToken);
        if (buffer.Length != size || Convert.ToHexStringLower(SHA256.HashData(buffer.ToArray())) != sha256)
        {
            throw new InvalidFieldException("sha256", "does not match the content");
        }

        await File.WriteAllBytesAsync(PathOf(sha256), buffer.ToArray(), cancellationToken);
    }

    public async Task<string> PutFileAsync(string path, CancellationToken cancellationToken)
    {
        var bytes = await File.ReadAllBytesAsync(path, cancellationToken);
        var hash = Convert.ToHexStringLower(SHA256.HashData(bytes));
        if (!Contains(hash)) await File.WriteAllBytesAsync(PathOf(hash), bytes, cancellationToken);
        return hash;
    }

    public string PathOf(string sha256) => Path.Combine(directory, sha256);

    /// <summary>Stores the bytes and answers its manifest entry under <paramref name="path"/>.</summary>
    public async Task<ManifestFile> AddAsync(string path, byte[] bytes)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(bytes));
        await PutAsync(hash, bytes.Length, new MemoryStream(bytes), CancellationToken.None);
        return new ManifestFile(path, hash, bytes.Length);
    }

    public string Read(string sha256) => File.ReadAllText(PathOf(sha256));
}
