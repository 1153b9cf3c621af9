using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.GrainInterfaces.Projects;

namespace CloudDeck.Grains.Projects;

/// <summary>
/// An organization's projects (keyed by slug). It keeps each project's last view, so listing needs no call to every
/// project grain, and it is where the plan's project ceiling is checked: one activation decides, so two creates at
/// once cannot both take the last place.
/// </summary>
public sealed class ProjectIndexGrain(
    [PersistentState("project-index")] IPersistentState<ProjectIndexGrain.IndexState> state) : Grain, IProjectIndexGrain
{
    private string Organization => this.GetPrimaryKeyString();

    public async Task<IReadOnlyList<ProjectView>> List(Caller caller)
    {
        await GrainFactory.GetGrain<IOrganizationGrain>(Organization).Authorize(caller, OrganizationActions.ViewBuilds);
        return [.. state.State.Projects.Values.OrderBy(p => p.Name, StringComparer.Ordinal)];
    }

    public async Task Reserve(ProjectView project)
    {
        Own(project);
        if (state.State.Projects.ContainsKey(project.Name)) throw new ConflictException($"A project named '{project.Name}' already exists.");
        await GrainFactory.GetGrain<IOrganizationQuotaGrain>(Organization).EnsureRoomForOneMore(QuotaLimits.Projects, state.State.Projects.Count);
        state.State.Projects[project.Name] = project;
        await state.WriteStateAsync();
    }

    public async Task Put(ProjectView project)
    {
        Own(project);
        state.State.Projects[project.Name] = project;
        await state.WriteStateAsync();
    }

    public async Task Remove(string project)
    {
        if (state.State.Projects.Remove(project)) await state.WriteStateAsync();
    }

    public Task<IReadOnlyList<string>> ProjectNames() => Task.FromResult<IReadOnlyList<string>>([.. state.State.Projects.Keys]);

    private void Own(ProjectView project)
    {
        if (project.Organization != Organization) throw new ArgumentException($"Project '{project.Name}' belongs to '{project.Organization}', not '{Organization}'.", nameof(project));
    }

    public sealed class IndexState
    {
        public Dictionary<string, ProjectView> Projects { get; set; } = new(StringComparer.Ordinal);
    }
}
