using CloudDeck.GrainInterfaces.Accounts;

namespace CloudDeck.GrainInterfaces.Deployments;

/// <summary>
/// One deployment, keyed by its id (<see cref="DeploymentIds"/>): what one build of a project produced. Once ready
/// its manifest never changes; it is served at <c>{id}.{base}</c> for as long as it exists.
/// </summary>
[Alias("clouddeck.IDeploymentGrain")]
public interface IDeploymentGrain : IGrainWithStringKey
{
    [ReadOnly]
    Task<DeploymentView> Get(Caller caller);

    /// <summary>Cancels its build if it has not finished (any non-terminal state); a finished one is answered as it is.</summary>
    Task<DeploymentView> Cancel(Caller caller);

    /// <summary>Deletes a deployment that no alias serves (<see cref="ConflictException"/> for the production one).</summary>
    Task Delete(Caller caller);

    /// <summary>Points the project's production alias at this ready deployment: one alias write, audited.</summary>
    Task<DeploymentView> Promote(Caller caller);

    // The pipeline's and the edge's side.

    /// <summary>For the edge: the files and routing config of a ready deployment; null if it is not (or no longer) ready.</summary>
    [ReadOnly]
    Task<DeploymentManifest?> GetManifest();

    /// <summary>Called by its build: ready with these files, or failed/canceled/timed_out. Idempotent.</summary>
    Task BuildFinished(string status, DeploymentManifest? manifest);

    /// <summary>
    /// Called by its project grain, which creates every deployment (uploads, git pushes, redeploys) and has already
    /// decided everything a request could be refused for: who deploys, the source, the plan's quotas. The deployment
    /// references an upload's files, writes itself (building) and queues its build. When one of these fails nothing of
    /// it remains and the error is thrown; starting a deployment that exists with the same build answers it as it is.
    /// </summary>
    Task<DeploymentView> Start(DeploymentStart start);

    /// <summary>
    /// Called by its project grain when the creation failed after <see cref="Start"/> (its history could not be written):
    /// the build is canceled and the deployment ends canceled, its files released. A deployment that is not building is left
    /// as it is. Answers the deployment as it ended (the project records it; this grain does not call its project back).
    /// </summary>
    Task<DeploymentView> Abandon(string reason);

    /// <summary>Called by the project grain when the project is deleted: the deployment stops being served.</summary>
    Task ProjectDeleted();

    /// <summary>
    /// For its server grain: how to start this server deployment (while its first health check runs, and once ready);
    /// null for a static deployment or one that is not (or no longer) servable. Interleaves: a promote waits on the server.
    /// </summary>
    [ReadOnly]
    [AlwaysInterleave]
    Task<Servers.ServerLaunch?> GetServerLaunch();

    /// <summary>
    /// The contents (SHA-256) this deployment references in the artifact store: its upload while it builds, its files
    /// once ready, nothing once failed or deleted. For the organization's storage grain; interleaves, since it only reads.
    /// </summary>
    [ReadOnly]
    [AlwaysInterleave]
    Task<IReadOnlyList<string>> HeldContents();

    /// <summary>
    /// Called once a server deployment's first start is over: null when its health check passed (the deployment becomes
    /// ready and its aliases move), else why it failed (the deployment becomes failed; production stays where it was).
    /// </summary>
    Task ServerChecked(string? failure);
}

/// <summary>
/// What the project grain hands a new deployment: the project as it is now, the source as the build gets it (an upload
/// whose files are all stored, or a git ref), the commit when the ref is one, who created it, its place in the project's
/// history and its build's id (chosen by the project, so a retried start finds the same build).
/// </summary>
[GenerateSerializer, Immutable, Alias("clouddeck.DeploymentStart")]
public sealed record DeploymentStart(
    Projects.ProjectView Project,
    DeploymentSource Source,
    string? Commit,
    string Target,
    string CreatedBy,
    long Sequence,
    string BuildId);

/// <summary>
/// Where a deployment's source comes from: a git ref (branch, tag or commit) of the project's repository, or the
/// files of an upload (path → SHA-256 and size, every hash already in the artifact store).
/// </summary>
[GenerateSerializer, Immutable, Alias("clouddeck.DeploymentSource")]
public sealed record DeploymentSource(string? GitRef = null, IReadOnlyList<ManifestFile>? Files = null, string? Branch = null);

/// <summary>A path relative to the deployment root ('/'-separated, no '..', not absolute) and its content's hash.</summary>
[GenerateSerializer, Immutable, Alias("clouddeck.ManifestFile")]
public sealed record ManifestFile(string Path, string Sha256, long Size);

/// <summary>
/// A symbolic link of a server deployment (<c>node_modules/.bin/next → ../next/dist/bin/next</c>): its path, as a
/// file's, and its target, relative to the link's directory and never leaving the deployment
/// (<see cref="ManifestValidation.LinkProblems"/>).
/// </summary>
[GenerateSerializer, Immutable, Alias("clouddeck.ManifestLink")]
public sealed record ManifestLink(string Path, string Target);

/// <summary>
/// What the edge serves: the output files, and the routing config read from the project's <c>clouddeck.json</c>
/// (raw JSON, parsed by the edge; null when the project has none). A server deployment also names how its process
/// starts (<see cref="Servers.ServerSpec"/>): the edge then proxies to it instead of serving the files.
/// </summary>
[GenerateSerializer, Immutable, Alias("clouddeck.DeploymentManifest")]
public sealed record DeploymentManifest(IReadOnlyList<ManifestFile> Files, string? RoutingConfig, Servers.ServerSpec? Server = null)
{
    /// <summary>A server's symbolic links, recreated beside its files when it is placed; null or empty for a static site.</summary>
    [Id(0)]
    public IReadOnlyList<ManifestLink>? Links { get; init; }

    /// <summary>Paths of <see cref="Files"/> that carry an execute bit (scripts that <c>node_modules/.bin</c> points at).</summary>
    [Id(1)]
    public IReadOnlyList<string>? Executables { get; init; }
}

[GenerateSerializer, Immutable, Alias("clouddeck.DeploymentView")]
public sealed record DeploymentView(
    string Id,
    string Organization,
    string Project,
    string Target,
    string Status,
    string Url,
    string? BuildId,
    string? GitRef,
    string? Branch,
    string? Commit,
    string CreatedBy,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ReadyAt,
    long Sequence)
{
    /// <summary>Why a deployment failed after its build (a server that never passed its health check); null otherwise.</summary>
    [Id(0)]
    public string? Error { get; init; }

    /// <summary>The URL of its branch's preview host (claimed by the project, so never another tenant's), once it is pointed here.</summary>
    [Id(1)]
    public string? PreviewUrl { get; init; }
}

public static class DeploymentTargets
{
    public const string Production = "production";
    public const string Preview = "preview";

    public static bool IsValid(string? value) => value is Production or Preview;
}

/// <summary>building → ready | failed | canceled | timed_out (the build's terminal statuses); deleted is gone.</summary>
public static class DeploymentStatuses
{
    public const string Building = "building";
    public const string Ready = "ready";
    public const string Failed = "failed";
    public const string Canceled = "canceled";
    public const string TimedOut = "timed_out";
    public const string Deleted = "deleted";

    public static bool IsTerminal(string? status) => status is Ready or Failed or Canceled or TimedOut or Deleted;
}

/// <summary>Deployment ids: 16 lower-case hex digits, a DNS label of their own (no hyphen, unlike alias hosts).</summary>
public static class DeploymentIds
{
    public const string Rule = "a deployment id is 16 lower-case hex digits";

    public static string New() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));

    public static bool IsWellFormed(string? value) =>
        value is { Length: 16 } && value.AsSpan().IndexOfAnyExcept("0123456789abcdef") < 0;
}
