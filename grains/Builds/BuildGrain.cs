using Actors.Runtime;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.GrainInterfaces.Usage;

namespace CloudDeck.Grains.Builds;

/// <summary>
/// A build's identity and status. Access is the organization's decision (<see cref="IOrganizationGrain.Authorize"/>),
/// so roles and token scopes are checked in one place for organizations and everything they own.
/// </summary>
public sealed class BuildGrain(
    [PersistentState("build")] IPersistentState<BuildState> state,
    IStreamProvider streams,
    TimeProvider clock) : Grain, IBuildGrain
{
    public const int MaxProjectLength = 100;

    private BuildState Build => state.State;

    private string Id => GetPrimaryKeyString();

    public async Task<BuildView> Create(Caller caller, string organization, string project)
    {
        if (string.IsNullOrWhiteSpace(project) || project.Length > MaxProjectLength || project.Any(char.IsControl))
        {
            throw new InvalidFieldException("project", $"must be 1–{MaxProjectLength} characters without control characters");
        }

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

    public async Task<BuildView> Get(Caller caller)
    {
        if (!Build.Created) throw NotFound();
        try
        {
            await GrainFactory.GetGrain<IOrganizationGrain>(Build.Organization).Authorize(caller, OrganizationActions.ViewBuilds);
        }
        catch (NotFoundException)
        {
            // The organization said "not a member": say it about the build, whose id is what the caller asked for.
            throw NotFound();
        }

        return View();
    }

    public async Task<BuildView> Start()
    {
        if (!Build.Created) throw NotFound();
        if (BuildStatuses.IsTerminal(Build.Status)) throw new ConflictException($"Build '{Id}' has already finished ({Build.Status}).");
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

        var quota = GrainFactory.GetGrain<IOrganizationQuotaGrain>(Build.Organization);
        if (!BuildStatuses.IsTerminal(Build.Status))
        {
            Build.Status = status;
            Build.FinishedAt = clock.GetUtcNow();
            await state.WriteStateAsync();
            if (Build.StartedAt is { } started)
            {
                // Whole minutes, rounded up, as build minutes are billed; recorded once, when the status becomes terminal.
                await quota.Record(QuotaLimits.BuildMinutesPerMonth, (long)Math.Ceiling((Build.FinishedAt.Value - started).TotalMinutes));
            }
        }

        // Also on a repeated Finish: the first one may have stopped before giving the slot back.
        await quota.ReleaseSlot(QuotaLimits.ConcurrentBuilds, Id);

        // Also on a repeated Finish (the first may have stopped after its write): the id makes it count once.
        await MeterBuildMinutesAsync();

        // After the status is written, so a follower that sees the log end reads the final status. Also on a repeated
        // Finish: the first one may have stopped between its write and this.
        var log = streams.GetStream<BuildLogLine>(BuildLogs.Namespace, Id);
        if (!(await log.GetInfoAsync()).IsCompleted)
        {
            await log.OnCompletedAsync();
        }

        return View();
    }

    /// <summary>Build minutes for the organization's meter: the time from start to finish, rounded up to whole minutes.</summary>
    private async Task MeterBuildMinutesAsync()
    {
        if (Build.StartedAt is not { } started || Build.FinishedAt is not { } finished) return;
        var minutes = (long)Math.Ceiling(Math.Max(0, (finished - started).TotalMinutes));
        if (minutes == 0) return;
        await streams.GetStream<UsageEvent>(UsageStreams.Namespace, Build.Organization)
            .OnNextAsync(new UsageEvent($"build:{Id}", UsageKinds.BuildMinutes, minutes, finished));
    }

    private NotFoundException NotFound() => new($"Build '{Id}' not found.");

    private BuildView View() => new(Id, Build.Organization, Build.Project, Build.Status, Build.CreatedAt, Build.StartedAt, Build.FinishedAt, Build.CreatedBy);

    // Issue 6's pipeline replaces these (the builds helper's branch).
    public Task<BuildView> Queue(BuildRequest request) => throw new NotSupportedException("The build pipeline is not merged yet.");

    public Task<BuildView> Cancel(Caller caller) => throw new NotSupportedException("The build pipeline is not merged yet.");
}
