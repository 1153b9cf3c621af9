using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Domains;
using CloudDeck.GrainInterfaces.Projects;

namespace CloudDeck.Grains.Projects;

/// <summary>
/// The hosts the project serves. Each is claimed (<see cref="IHostClaimGrain"/>) before an alias may point it anywhere:
/// production when the project is created, a branch's preview when its first deployment becomes ready. A name another
/// project holds is never shared: this project takes a fallback name instead, and keeps it.
/// </summary>
public sealed partial class ProjectGrain
{
    /// <summary>How many fallback names are tried before a claim gives up (each is a fresh hash; one nearly always does).</summary>
    private const int ClaimAttempts = 8;

    public async Task<ProjectHosts> ClaimHosts(string? branch)
    {
        if (!Project.Created) throw NotFound();
        var changed = false;
        if (Project.ProductionHost is null)
        {
            Project.ProductionHost = await ClaimAsync(Hostnames.Production(Organization, Name, edge.BaseDomain));
            changed = true;
        }

        string? preview = null;
        if (branch is not null && !Project.PreviewHosts.TryGetValue(branch, out preview))
        {
            preview = await ClaimAsync(Hostnames.Preview(Organization, Name, branch, edge.BaseDomain));
            Project.PreviewHosts[branch] = preview;
            changed = true;
        }

        if (changed) await state.WriteStateAsync();
        return new ProjectHosts(Project.ProductionHost, preview);
    }

    /// <summary>
    /// A project stored before hosts were claimed claims its production host the first time it is used; one stored before
    /// git URL credentials were sealed has them sealed; one that kept its deployments in its state moves them to the history table.
    /// </summary>
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (Project.Created) await MoveLegacyHistoryAsync(cancellationToken);
        if (Project.Created && SealLegacyGitUrl() && Project.ProductionHost is not null) await state.WriteStateAsync(cancellationToken);
        if (Project.Created && Project.ProductionHost is null) await ClaimHosts(branch: null);
    }

    /// <summary>The host <paramref name="wanted"/>, or the first fallback name no other project holds.</summary>
    private async Task<string> ClaimAsync(string wanted)
    {
        for (var attempt = 0; attempt < ClaimAttempts; attempt++)
        {
            var host = attempt == 0 ? wanted : Hostnames.Fallback(wanted, Key, attempt);
            if (await GrainFactory.GetGrain<IHostClaimGrain>(host).Claim(Key)) return host;
        }

        throw new ConflictException($"No free host name for '{Key}' near '{wanted}'; try another project name.");
    }

    /// <summary>Stops serving and frees every host this project claimed (and, for a project from before claims, its own aliases).</summary>
    private async Task ReleaseHostsAsync(IEnumerable<string> legacyBranches)
    {
        var hosts = new List<string>();
        if (Project.ProductionHost is { } production) hosts.Add(production);
        hosts.AddRange(Project.PreviewHosts.Values);
        hosts.AddRange(legacyBranches.Where(b => !Project.PreviewHosts.ContainsKey(b)).Select(b => Hostnames.Preview(Organization, Name, b, edge.BaseDomain)));
        foreach (var host in hosts.Distinct(StringComparer.Ordinal))
        {
            // Only an alias that serves this project: a name this project never held is someone else's site.
            var alias = GrainFactory.GetGrain<IAliasGrain>(host);
            if ((await alias.Get())?.ProjectKey == Key) await alias.Remove();
            await GrainFactory.GetGrain<IHostClaimGrain>(host).Release(Key);
        }

        // Custom domains go too: they would otherwise keep pointing at a production host nobody serves.
        foreach (var domain in await GrainFactory.GetGrain<IDomainRegistryGrain>(0).ListProject(Key))
        {
            await GrainFactory.GetGrain<IDomainGrain>(domain).Release(Key);
        }
    }

    private string ProductionHost(ProjectState project) => project.ProductionHost ?? Hostnames.Production(Organization, Name, edge.BaseDomain);
}
