using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.GrainInterfaces.Projects;
using CloudDeck.Grains.Telemetry;
using Microsoft.Extensions.Logging;

namespace CloudDeck.Grains.Builds;

/// <summary>
/// A build's identity and status. Access is the organization's decision (<see cref="IOrganizationGrain.Authorize"/>),
/// so roles and token scopes are checked in one place for organizations and everything they own. Pipeline builds
/// (<see cref="Queue"/>) wait in the organization's <see cref="IBuildQueueGrain"/>, run in <see cref="BuildRuns"/>
/// outside this grain's turns, and report back through <see cref="IBuildExecutionGrain"/>; a reminder watches them
/// until their deployment has the result. Synthetic builds (<see cref="Create"/>) are driven from outside as before.
/// </summary>
public sealed partial class BuildGrain(
    [PersistentState("build")] IPersistentState<BuildState> state,
    ILogStreamProvider streams,
    TimeProvider clock,
    ILogger<BuildGrain> logger,
    BuildRuns? runs = null) : Grain, IBuildGrain, IBuildExecutionGrain, IRemindable
{
    public const int MaxProjectLength = 100;

    private BuildState Build => state.State;

    private string Id => this.GetPrimaryKeyString();

    private IOrganizationQuotaGrain Quota => GrainFactory.GetGrain<IOrganizationQuotaGrain>(Build.Organization);

    private IBuildQueueGrain Line => GrainFactory.GetGrain<IBuildQueueGrain>(Build.Organization);

    public async Task<BuildView> Create(Caller caller, string organization, string project)
    {
        CheckProject(project);

        // Asked before anything is written: a refused caller must not learn whether the id is taken.
        await GrainFactory.GetGrain<IOrganizationGrain>(organization).Authorize(caller, OrganizationActions.Deploy);
        if (Build.Created) throw new ConflictException($"A build with id '{Id}' already exists.");
        // The plan's concurrent builds and builds per day: a slot held until the build finishes, one of today's builds.
        var quota = GrainFactory.GetGrain<IOrganizationQuotaGrain>(organization);
        // A month whose build minutes are spent starts no more builds (402); minutes are recorded when builds finish.
        await quota.EnsureRoomForOneMore(QuotaLimits.BuildMinutesPerMonth, 0);
        await quota.AcquireSlot(QuotaLimits.ConcurrentBuilds, Id, QuotaLimits.BuildsPerDay);
        Build.Created = true;
        Build.Organization = organization;
        Build.Project = project;
        Build.Status = BuildStatuses.Queued;
        Build.CreatedBy = caller.UserId;
        Build.CreatedAt = clock.GetUtcNow();
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            await quota.ReleaseSlot(QuotaLimits.ConcurrentBuilds, Id);
            throw;
        }

        return View();
    }

    public async Task<BuildView> Queue(BuildRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        CheckProject(request.Project);
        if (!DeploymentIds.IsWellFormed(request.DeploymentId)) throw new InvalidFieldException("deployment_id", DeploymentIds.Rule);
        if (!ProjectEnvironments.IsValid(request.Environment)) throw new InvalidFieldException("environment", $"must be one of {string.Join(", ", ProjectEnvironments.All)}");
        if (request.Source is null || (request.Source.Files is not null && !string.IsNullOrEmpty(request.Source.GitRef)))
        {
            throw new InvalidFieldException("source", "must be a git ref or uploaded files, not both");
        }

        if (Build.Created)
        {
            // A deployment retrying its call gets its build; any other caller has picked a taken id.
            return Build.DeploymentId == request.DeploymentId ? View() : throw new ConflictException($"A build with id '{Id}' already exists.");
        }

        CloudDeckActivities.TagDeployment(request.Organization, request.Project, request.DeploymentId, Id);
        // Nothing to refuse here: the project reserved this build with its deployment (builds per day, build minutes).
        Build.Created = true;
        Build.Organization = request.Organization;
        Build.Project = request.Project;
        Build.Status = BuildStatuses.Queued;
        Build.CreatedBy = request.CreatedBy;
        Build.CreatedAt = clock.GetUtcNow();
        Build.DeploymentId = request.DeploymentId;
        Build.Environment = request.Environment;
        Build.Source = request.Source;
        await state.WriteStateAsync();
        // Before asking for a slot: whatever happens next, the reminder brings the build back to finish it (and asks
        // the queue again if the request below is lost).
        await this.RegisterOrUpdateReminder(CheckReminder, CheckPeriod, CheckPeriod);
        // The slot is asked for outside the deployment's request: its creation does not wait on the organization's queue.
        var self = GrainFactory.GetGrain<IBuildExecutionGrain>(Id);
        _ = Detached.Run(self.RequestSlot, logger, $"Asking a build slot for build {Id}", span: "build.slot");
        return View();
    }

    public async Task<BuildView> Get(Caller caller)
    {
        if (!Build.Created) throw NotFound();
        await AuthorizeAsync(caller, OrganizationActions.ViewBuilds);
        return View();
    }

    public async Task<BuildView> Cancel(Caller caller)
    {
        if (!Build.Created) throw NotFound();
        await AuthorizeAsync(caller, OrganizationActions.Deploy);
        if (BuildStatuses.IsTerminal(Build.Status)) return View();
        await CancelAsync($"Canceled by user {caller.UserId}.");
        return View();
    }

    public async Task Abandon(string reason)
    {
        if (!Build.Created || BuildStatuses.IsTerminal(Build.Status)) return;
        await CancelAsync(reason);
    }

    private async Task CancelAsync(string reason)
    {
        if (Build.Status == BuildStatuses.Queued)
        {
            await FinishAsync(new BuildOutcome(BuildStatuses.Canceled, null, reason, null), reason + " The build had not started.");
        }
        else if (runs is not null && await runs.StopAsync(Id, BuildStatuses.Canceled, reason + " Every process of the build was killed."))
        {
            // The run wrote the reason and its last lines; its own report comes after this and is ignored.
            await FinishAsync(new BuildOutcome(BuildStatuses.Canceled, null, reason, null), null);
        }
        else
        {
            await FinishAsync(new BuildOutcome(BuildStatuses.Canceled, null, reason, null), reason);
        }
    }

    public async Task<BuildView> Start()
    {
        if (!Build.Created) throw NotFound();
        if (BuildStatuses.IsTerminal(Build.Status)) throw new ConflictException($"Build '{Id}' has already finished ({Build.Status}).");
        if (Build.IsPipeline) throw new ConflictException($"Build '{Id}' runs in the build pipeline; it starts itself.");
        if (Build.Status == BuildStatuses.Queued)
        {
            Build.Status = BuildStatuses.Building;
            Build.StartedAt = clock.GetUtcNow();
            await state.WriteStateAsync();
        }

        return View();
    }

    public async Task<BuildView> Finish(string status)
    {
        if (!Build.Created) throw NotFound();
        if (!BuildStatuses.IsTerminal(status))
        {
            throw new InvalidFieldException("status", $"must be one of {string.Join(", ", BuildStatuses.Terminal)}");
        }

        await FinishAsync(new BuildOutcome(status, null, null, null), null);
        return View();
    }

    private async Task AuthorizeAsync(Caller caller, string action)
    {
        try
        {
            await GrainFactory.GetGrain<IOrganizationGrain>(Build.Organization).Authorize(caller, action);
        }
        catch (NotFoundException)
        {
            // The organization said "not a member": say it about the build, whose id is what the caller asked for.
            throw NotFound();
        }
    }

    private static void CheckProject(string project)
    {
        if (string.IsNullOrWhiteSpace(project) || project.Length > MaxProjectLength || project.Any(char.IsControl))
        {
            throw new InvalidFieldException("project", $"must be 1–{MaxProjectLength} characters without control characters");
        }
    }

    private NotFoundException NotFound() => new($"Build '{Id}' not found.");

    private BuildView View() => new(Id, Build.Organization, Build.Project, Build.Status, Build.CreatedAt, Build.StartedAt, Build.FinishedAt,
        Build.CreatedBy, Build.DeploymentId, Build.ExitCode, Build.Error);
}
