using CloudDeck.GrainInterfaces.Accounts;

namespace CloudDeck.GrainInterfaces.Projects;

/// <summary>
/// An organization's projects, keyed by organization slug: the list members read, and the count the plan's
/// <c>projects</c> limit applies to. Project grains keep their entry current; a deleted project frees its place.
/// </summary>
[Alias("clouddeck.IProjectIndexGrain")]
public interface IProjectIndexGrain : IGrainWithStringKey
{
    /// <summary>Every project of the organization, by name, for any member (an API token needs 'read').</summary>
    [ReadOnly]
    Task<IReadOnlyList<ProjectView>> List(Caller caller);

    // The project grains' side.

    /// <summary>
    /// Takes the name for a new project: <see cref="ConflictException"/> when it is taken, the plan's
    /// <see cref="PlanLimitExceededException"/> when the organization has as many projects as it may.
    /// </summary>
    Task Reserve(ProjectView project);

    /// <summary>Replaces the entry of an existing project (settings or production changed).</summary>
    Task Put(ProjectView project);

    /// <summary>Drops the project; removing one that is not listed changes nothing.</summary>
    Task Remove(string project);

    /// <summary>The projects' names, for the organization's storage grain (no caller). Interleaves: it only reads.</summary>
    [ReadOnly]
    [AlwaysInterleave]
    Task<IReadOnlyList<string>> ProjectNames();
}
