using CloudDeck.GrainInterfaces.Accounts;

namespace CloudDeck.GrainInterfaces.Projects;

/// <summary>
/// One project, keyed by <c>"{org}/{project}"</c> (<see cref="ProjectKeys"/>). It holds the build settings, the
/// environment variables (encrypted at rest, never answered in clear to a request) and the project's deployment
/// history; access is the organization's decision (<c>IOrganizationGrain.Authorize</c>): members read,
/// developers and above change and deploy, another tenant gets <see cref="NotFoundException"/>.
/// </summary>
[Alias("clouddeck.IProjectGrain")]
public interface IProjectGrain : IGrainWithStringKey
{
    /// <summary>Creates the project (counts against the plan's projects). An existing name is a <see cref="ConflictException"/>.</summary>
    Task<ProjectView> Create(Caller caller, ProjectSettings settings);

    [ReadOnly]
    Task<ProjectView> Get(Caller caller);

    /// <summary>Changes the fields that are not null in <paramref name="changes"/>.</summary>
    Task<ProjectView> Update(Caller caller, ProjectSettings changes);

    /// <summary>
    /// Deletes the project, its aliases and its deployments (which release their files: the organization's storage lets
    /// them go after the grace period).
    /// </summary>
    Task Delete(Caller caller);

    /// <summary>Names, environments and when they changed; values are always <c>***</c>.</summary>
    [ReadOnly]
    Task<IReadOnlyList<EnvVarView>> ListEnv(Caller caller);

    Task<EnvVarView> SetEnv(Caller caller, string environment, string name, string value);

    Task RemoveEnv(Caller caller, string environment, string name);

    /// <summary>
    /// Newest first, from the project's history table; <paramref name="before"/> is a deployment's creation sequence
    /// (exclusive) for paging, <paramref name="limit"/> at most <c>MaxPageSize</c>.
    /// </summary>
    [ReadOnly]
    Task<DeploymentPage> ListDeployments(Caller caller, long? before, int limit);

    /// <summary>
    /// Creates a deployment of an upload (every file already stored) or of a git ref (default: the production branch;
    /// deploying a ref again is a redeploy). Needs 'deploy' in the organization; takes one of the day's deployments and one
    /// of its builds together (<see cref="Organizations.IOrganizationQuotaGrain.Reserve"/>) and gives both back when any
    /// later step refuses or fails. Git pushes (<see cref="ReceivePush"/>) create theirs through the same path.
    /// Interleaves: creations of one project run side by side (each waits on its own deployment, build and storage writes,
    /// not on the others'); they change no project state, take their sequence without awaiting, and a project being
    /// deleted lets the creations under way finish first and refuses new ones.
    /// </summary>
    [AlwaysInterleave]
    Task<Deployments.DeploymentView> Deploy(Caller caller, Deployments.DeploymentSource source, string target);

    /// <summary>
    /// Points production back at <paramref name="deploymentId"/>, or when null at the newest ready production deployment
    /// older than the one serving now: one alias write, no build. Audited in the organization's log.
    /// </summary>
    Task<Deployments.DeploymentView> Rollback(Caller caller, string? deploymentId);

    /// <summary>
    /// A git host's push webhook (GitHub's format): <paramref name="signature"/> is <c>X-Hub-Signature-256</c>, the HMAC of
    /// <paramref name="payload"/> with the project's webhook secret (<see cref="UnauthenticatedException"/> when it does not
    /// match). A push to the production branch deploys production, any other branch a preview; a push that deletes a branch
    /// or is not a branch deploys nothing. A delivery whose <paramref name="deliveryId"/> (<c>X-GitHub-Delivery</c>) or
    /// exact payload was seen in the last <see cref="GitDeliveries.Window"/> deploys nothing and names the earlier one; a
    /// push whose signed <c>repository.pushed_at</c> is older than that window is an <see cref="InvalidFieldException"/>.
    /// </summary>
    Task<PushReceipt> ReceivePush(byte[] payload, string? signature, string? deliveryId);

    // The pipeline's side: called by build and deployment grains, never with a request's input.

    /// <summary>
    /// The settings and decrypted environment for one build of <paramref name="environment"/>. Interleaves with any call:
    /// it only reads, and a build queued from inside a project's turn (a git push) may ask for its plan before that turn ends.
    /// </summary>
    [ReadOnly]
    [AlwaysInterleave]
    Task<BuildPlan> GetBuildPlan(string environment);

    /// <summary>
    /// Updates a deployment's row in the project's history (its status changed), at the sequence it was created with; a
    /// deployment missing from the history (its creation stopped before the row was written) is added. Answers its sequence.
    /// </summary>
    Task<long> RecordDeployment(Deployments.DeploymentView deployment);

    /// <summary>
    /// The project's production host, and <paramref name="branch"/>'s preview host when given, claimed on first use (a name
    /// another project holds gets a fallback, <see cref="Deployments.IHostClaimGrain"/>). Aliases are set only on these.
    /// </summary>
    Task<Deployments.ProjectHosts> ClaimHosts(string? branch);

    /// <summary>Records that production now serves <paramref name="deploymentId"/> (for rollback's "previous").</summary>
    Task RecordProduction(string deploymentId);

    /// <summary>The ids of the deployments not deleted, for the organization's storage grain. Interleaves: it only reads.</summary>
    [ReadOnly]
    [AlwaysInterleave]
    Task<IReadOnlyList<string>> LiveDeploymentIds();
}

/// <summary>
/// A project's settings. In <see cref="IProjectGrain.Update"/> a null field means "leave it". <see cref="GitUrl"/> or
/// <see cref="LocalPath"/> (operator-allowed) is the source for git deployments; uploads need neither.
/// </summary>
[GenerateSerializer, Immutable, Alias("clouddeck.ProjectSettings")]
public sealed record ProjectSettings(
    string? Name = null,
    string? GitUrl = null,
    string? LocalPath = null,
    string? ProductionBranch = null,
    string? RootDirectory = null,
    string? Framework = null,
    string? InstallCommand = null,
    string? BuildCommand = null,
    string? OutputDirectory = null,
    string? StartCommand = null,
    string? HealthCheckPath = null);

[GenerateSerializer, Immutable, Alias("clouddeck.ProjectView")]
public sealed record ProjectView(
    string Organization,
    string Name,
    string? GitUrl,
    string? LocalPath,
    string ProductionBranch,
    string RootDirectory,
    string? Framework,
    string? InstallCommand,
    string? BuildCommand,
    string? OutputDirectory,
    string ProductionHost,
    string? ProductionDeploymentId,
    DateTimeOffset CreatedAt)
{
    /// <summary>The secret that signs git push webhooks: set only in <see cref="IProjectGrain.Create"/>'s answer, shown once.</summary>
    [Id(0)]
    public string? WebhookSecret { get; init; }

    /// <summary>How a server app starts (a shell command run with <c>PORT</c>); null lets detection decide (static or server).</summary>
    [Id(1)]
    public string? StartCommand { get; init; }

    /// <summary>The path a server's health check GETs until it answers 2xx/3xx; null means "/".</summary>
    [Id(2)]
    public string? HealthCheckPath { get; init; }

    // Records print every member, and Orleans traces messages with ToString: the webhook secret stays out of it.
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append($"Organization = {Organization}, Name = {Name}, ProductionBranch = {ProductionBranch}, ");
        builder.Append($"ProductionHost = {ProductionHost}, ProductionDeploymentId = {ProductionDeploymentId}, WebhookSecret = {(WebhookSecret is null ? "" : "***")}");
        return true;
    }
}

[GenerateSerializer, Immutable, Alias("clouddeck.EnvVarView")]
public sealed record EnvVarView(string Environment, string Name, string Value, DateTimeOffset UpdatedAt);

/// <summary>What a build needs: the settings and the environment's variables in clear (only inside the cluster).</summary>
[GenerateSerializer, Immutable, Alias("clouddeck.BuildPlan")]
public sealed record BuildPlan(ProjectView Project, IReadOnlyDictionary<string, string> Environment)
{
    // Records print every member, and Orleans traces messages with ToString: values stay out of it.
    public override string ToString() => $"BuildPlan {{ Project = {Project}, Environment = [{string.Join(", ", Environment.Keys)}] }}";
}

[GenerateSerializer, Immutable, Alias("clouddeck.DeploymentPage")]
public sealed record DeploymentPage(IReadOnlyList<Deployments.DeploymentView> Deployments, long? NextBefore);

public static class ProjectEnvironments
{
    public const string Production = "production";
    public const string Preview = "preview";

    public static readonly IReadOnlyList<string> All = [Production, Preview];

    public static bool IsValid(string? value) => value is Production or Preview;
}

/// <summary>Project names: DNS-label-like, so that <c>{project}-{org}.{base}</c> is a valid host name.</summary>
public static class ProjectKeys
{
    public const string NameRule = "a project name is 1–40 characters: lower-case letters, digits and single hyphens, starting with a letter";

    public static string Of(string organization, string project) => organization + "/" + project;

    public static (string Organization, string Project) Split(string key)
    {
        var slash = key.IndexOf('/');
        return slash < 0 ? throw new ArgumentException($"'{key}' is not an org/project key", nameof(key)) : (key[..slash], key[(slash + 1)..]);
    }

    public static bool IsWellFormedName(string? name) =>
        name is { Length: >= 1 and <= 40 }
        && char.IsAsciiLetterLower(name[0])
        && name[^1] != '-'
        && !name.Contains("--", StringComparison.Ordinal)
        && name.AsSpan().IndexOfAnyExcept("abcdefghijklmnopqrstuvwxyz0123456789-") < 0;
}
