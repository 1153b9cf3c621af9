using CloudDeck.GrainInterfaces.Accounts;

namespace CloudDeck.GrainInterfaces.Builds;

/// <summary>
/// One build of a project, keyed by build id (<see cref="BuildIds"/>): who it belongs to, its status and, for a
/// deployment's build (<see cref="Queue"/>), its run, exit code and error. Its log is the stream
/// (<see cref="BuildLogs.Namespace"/>, build id); the grain completes that stream when the build finishes, after
/// writing the final status, so whoever sees the log complete reads a terminal status.
/// </summary>
[Alias("clouddeck.IBuildGrain")]
public interface IBuildGrain : IGrainWithStringKey
{
    /// <summary>
    /// Creates the build, queued, in the organization. The caller must be allowed to deploy there (developer or above;
    /// an API token needs the 'deploy' scope). A build id that is already taken is a <see cref="ConflictException"/>.
    /// </summary>
    Task<BuildView> Create(Caller caller, string organization, string project);

    /// <summary>
    /// The build, for a member of its organization (an API token needs 'read'). Anyone else gets
    /// <see cref="NotFoundException"/>, as for a build that does not exist.
    /// </summary>
    [ReadOnly]
    Task<BuildView> Get(Caller caller);

    // The producer's side: called by the build's executor (for now the synthetic producer), never with a request's input.

    /// <summary>queued → building (the synthetic producer's path; pipeline builds move on their own). Refused (<see cref="ConflictException"/>) once the build has finished.</summary>
    Task<BuildView> Start();

    /// <summary>
    /// Ends the build with a terminal status (<see cref="BuildStatuses.IsTerminal"/>), then completes its log stream.
    /// Finishing a finished build again changes nothing and answers it as it is.
    /// </summary>
    Task<BuildView> Finish(string status);

    // The pipeline's side (issue 6): a deployment grain queues its build; whoever may deploy may cancel it.

    /// <summary>
    /// Creates the build for a deployment and queues it behind the organization's concurrent-build limit (it waits
    /// "queued" rather than being refused). The project grain has already decided that <see cref="BuildRequest.CreatedBy"/>
    /// may deploy and reserved the day's build with the deployment (<c>IOrganizationQuotaGrain.Reserve</c>), so nothing
    /// here refuses a valid request. Queuing the same build again answers it.
    /// </summary>
    Task<BuildView> Queue(BuildRequest request);

    /// <summary>Cancels the build in any non-terminal state (the whole process tree is killed); a finished build is answered as it is.</summary>
    Task<BuildView> Cancel(Caller caller);
}

/// <summary>What a deployment asks its build to do.</summary>
[GenerateSerializer, Immutable, Alias("clouddeck.BuildRequest")]
public sealed record BuildRequest(
    string Organization,
    string Project,
    string DeploymentId,
    string Environment,
    Deployments.DeploymentSource Source,
    string CreatedBy);

[GenerateSerializer, Immutable, Alias("clouddeck.BuildView")]
public sealed record BuildView(
    string Id,
    string Organization,
    string Project,
    string Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    string CreatedBy,
    string? DeploymentId = null,
    int? ExitCode = null,
    string? Error = null);

/// <summary>queued → preparing → building → uploading → succeeded | failed | canceled | timed_out.</summary>
public static class BuildStatuses
{
    public const string Queued = "queued";
    public const string Preparing = "preparing";
    public const string Building = "building";
    public const string Uploading = "uploading";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Canceled = "canceled";
    public const string TimedOut = "timed_out";

    public static readonly IReadOnlyList<string> All = [Queued, Preparing, Building, Uploading, Succeeded, Failed, Canceled, TimedOut];

    public static readonly IReadOnlyList<string> Terminal = [Succeeded, Failed, Canceled, TimedOut];

    public static bool IsTerminal(string? status) => status is Succeeded or Failed or Canceled or TimedOut;

    /// <summary>Past the queue and not finished: something is (or should be) running the build.</summary>
    public static bool IsStarted(string? status) => status is Preparing or Building or Uploading;
}

/// <summary>Build ids: 16 lower-case hex digits (64 random bits), checked before an id from a request reaches GetGrain.</summary>
public static class BuildIds
{
    public const string Rule = "a build id is 16 lower-case hex digits";

    public static string New() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));

    public static bool IsWellFormed(string? value) =>
        value is { Length: 16 } && value.AsSpan().IndexOfAnyExcept("0123456789abcdef") < 0;
}
