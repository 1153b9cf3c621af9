using System.Text;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.GrainInterfaces.Projects;
using CloudDeck.Grains.Artifacts;
using Microsoft.Extensions.DependencyInjection;

namespace CloudDeck.Grains.Tests.Projects;

/// <summary>
/// Deployments and their aliases. Builds stay queued in <see cref="ProjectsSilo"/>; each test reports how its build ended
/// by calling BuildFinished, as the build pipeline does.
/// </summary>
public sealed class DeploymentGrainTests
{
    private static readonly DeploymentManifest Site = new([new ManifestFile("index.html", new string('a', 64), 12)], null);

    [Fact]
    public async Task A_ready_build_points_the_branch_preview_and_for_production_the_production_alias_at_the_deployment()
    {
        var (silo, owner) = await ProjectsSilo.StartAsync();
        await using var _ = silo;
        var web = await GitProjectAsync(silo, owner);

        var production = await DeployAsync(silo, owner, DeploymentTargets.Production, new DeploymentSource());
        Assert.Equal(DeploymentStatuses.Building, production.Status);
        Assert.Equal("main", production.GitRef);
        Assert.Equal($"http://{production.Id}.localhost:8080", production.Url);
        Assert.Null(await Deployment(silo, production.Id).GetManifest());
        await Deployment(silo, production.Id).BuildFinished(DeploymentStatuses.Ready, Site);

        Assert.Equal(production.Id, (await Alias(silo, "web-acme.localhost").Get())?.DeploymentId);
        Assert.Equal(production.Id, (await Alias(silo, "web-git-main-acme.localhost").Get())?.DeploymentId);
        Assert.Equal(production.Id, (await web.Get(owner)).ProductionDeploymentId);
        Assert.Equal(Site.Files, (await Deployment(silo, production.Id).GetManifest())?.Files);
        Assert.Equal(DeploymentStatuses.Ready, (await Deployment(silo, production.Id).Get(owner)).Status);

        // A preview gets its branch's host; production stays where it was. A second BuildFinished changes nothing.
        var preview = await DeployAsync(silo, owner, DeploymentTargets.Preview, new DeploymentSource(GitRef: "feature/login"));
        await Deployment(silo, preview.Id).BuildFinished(DeploymentStatuses.Ready, Site);
        await Deployment(silo, preview.Id).BuildFinished(DeploymentStatuses.Failed, null);
        Assert.Equal(preview.Id, (await Alias(silo, "web-git-feature-login-acme.localhost").Get())?.DeploymentId);
        Assert.Equal(production.Id, (await Alias(silo, "web-acme.localhost").Get())?.DeploymentId);
        Assert.Equal(DeploymentStatuses.Ready, (await Deployment(silo, preview.Id).Get(owner)).Status);

        // A failed build moves no alias and serves nothing.
        var failed = await DeployAsync(silo, owner, DeploymentTargets.Production, new DeploymentSource());
        await Deployment(silo, failed.Id).BuildFinished(DeploymentStatuses.Failed, null);
        Assert.Null(await Deployment(silo, failed.Id).GetManifest());
        Assert.Equal(production.Id, (await Alias(silo, "web-acme.localhost").Get())?.DeploymentId);

        var listed = await web.ListDeployments(owner, before: null, limit: 2);
        Assert.Equal([failed.Id, preview.Id], listed.Deployments.Select(d => d.Id));
        Assert.Equal([production.Id], (await web.ListDeployments(owner, listed.NextBefore, 2)).Deployments.Select(d => d.Id));
    }

    [Fact]
    public async Task Promote_and_rollback_switch_production_and_rollback_without_an_id_walks_back_one_production_deployment()
    {
        var (silo, owner) = await ProjectsSilo.StartAsync();
        await using var _ = silo;
        var web = await GitProjectAsync(silo, owner);
        var first = await ReadyAsync(silo, owner, DeploymentTargets.Production);
        var second = await ReadyAsync(silo, owner, DeploymentTargets.Production);
        var preview = await ReadyAsync(silo, owner, DeploymentTargets.Preview);
        var third = await ReadyAsync(silo, owner, DeploymentTargets.Production);
        Assert.Equal(third, await ProductionAsync(silo));

        Assert.Equal(second, (await web.Rollback(owner, null)).Id);
        Assert.Equal(second, await ProductionAsync(silo));
        Assert.Equal(first, (await web.Rollback(owner, null)).Id);
        Assert.Equal(first, await ProductionAsync(silo));
        await Assert.ThrowsAsync<ConflictException>(() => web.Rollback(owner, null));

        Assert.Equal(preview, (await Deployment(silo, preview).Promote(owner)).Id);
        Assert.Equal(preview, await ProductionAsync(silo));
        Assert.Equal(preview, (await web.Get(owner)).ProductionDeploymentId);
        Assert.Equal(third, (await web.Rollback(owner, third)).Id);
        Assert.Equal(third, await ProductionAsync(silo));

        var audit = (await silo.Grains.GetGrain<IOrganizationGrain>("acme").GetAuditLog(owner, new AuditQuery())).Entries.Select(e => e.Action).ToList();
        Assert.Equal(3, audit.Count(a => a == "deployment.rolled_back"));
        Assert.Contains("deployment.promoted", audit);

        var (outsider, _) = await silo.SignUpAsync("outsider@other.test", verified: true);
        await Assert.ThrowsAsync<NotFoundException>(() => Deployment(silo, first).Promote(outsider));
        await Assert.ThrowsAsync<NotFoundException>(() => Deployment(silo, first).Get(outsider));
        await Assert.ThrowsAsync<NotFoundException>(() => web.Rollback(outsider, null));
    }

    [Fact]
    public async Task Delete_is_refused_for_the_deployment_production_serves_and_removes_any_other()
    {
        var (silo, owner) = await ProjectsSilo.StartAsync();
        await using var _ = silo;
        var web = await GitProjectAsync(silo, owner);
        var old = await ReadyAsync(silo, owner, DeploymentTargets.Production);
        var current = await ReadyAsync(silo, owner, DeploymentTargets.Production);

        await Assert.ThrowsAsync<ConflictException>(() => Deployment(silo, current).Delete(owner));
        Assert.NotNull(await Deployment(silo, current).GetManifest());

        await Deployment(silo, old).Delete(owner);
        await Assert.ThrowsAsync<NotFoundException>(() => Deployment(silo, old).Get(owner));
        Assert.Null(await Deployment(silo, old).GetManifest());
        Assert.DoesNotContain(old, (await web.ListDeployments(owner, null, 50)).Deployments.Select(d => d.Id));
        await Assert.ThrowsAsync<ConflictException>(() => web.Rollback(owner, null));
    }

    [Fact]
    public async Task An_upload_needs_every_file_stored_and_safe_paths()
    {
        var (silo, owner) = await ProjectsSilo.StartAsync();
        await using var _ = silo;
        await silo.Grains.GetGrain<IProjectGrain>("acme/site").Create(owner, new ProjectSettings());
        var content = Encoding.UTF8.GetBytes("<h1>hello</h1>");
        var sha256 = ProjectsSilo.Sha256Of(content);
        var stored = new ManifestFile("index.html", sha256, content.Length);
        var absent = new ManifestFile("about.html", new string('b', 64), 3);

        Task<DeploymentView> Upload(params ManifestFile[] files) =>
            silo.Grains.GetGrain<IProjectGrain>("acme/site").Deploy(owner, new DeploymentSource(Files: files), DeploymentTargets.Production);

        Assert.Equal("files", (await Assert.ThrowsAsync<InvalidFieldException>(() => Upload(absent))).Field);
        await silo.Services.GetRequiredService<IArtifactStore>().PutAsync(sha256, content.Length, new MemoryStream(content), TestContext.Current.CancellationToken);
        await silo.Services.GetRequiredService<IArtifactStore>().GrantAsync("acme", [sha256], TestContext.Current.CancellationToken);
        Assert.Equal("files", (await Assert.ThrowsAsync<InvalidFieldException>(() => Upload(stored, absent))).Field);
        Assert.Equal("files[1].path", (await Assert.ThrowsAsync<InvalidFieldException>(() => Upload(stored, stored with { Path = "../etc/passwd" }))).Field);
        Assert.Equal("files[0].path", (await Assert.ThrowsAsync<InvalidFieldException>(() => Upload(stored with { Path = "/index.html" }))).Field);
        Assert.Equal("files[1].path", (await Assert.ThrowsAsync<InvalidFieldException>(() => Upload(stored, stored))).Field);
        Assert.Equal("git_ref", (await Assert.ThrowsAsync<InvalidFieldException>(() =>
            silo.Grains.GetGrain<IProjectGrain>("acme/site").Deploy(owner, new DeploymentSource(), DeploymentTargets.Production))).Field);
        Assert.Empty((await silo.Grains.GetGrain<IProjectGrain>("acme/site").ListDeployments(owner, null, 10)).Deployments);

        var created = await Upload(stored);
        Assert.Equal(DeploymentStatuses.Building, created.Status);
        Assert.Equal([created.Id], (await silo.Grains.GetGrain<IProjectGrain>("acme/site").ListDeployments(owner, null, 10)).Deployments.Select(d => d.Id));
    }

    [Fact]
    public async Task Deleting_the_project_removes_its_hosts_and_stops_serving_its_deployments()
    {
        var (silo, owner) = await ProjectsSilo.StartAsync();
        await using var _ = silo;
        var web = await GitProjectAsync(silo, owner);
        var production = await ReadyAsync(silo, owner, DeploymentTargets.Production);
        var preview = await ReadyAsync(silo, owner, DeploymentTargets.Preview);

        await web.Delete(owner);
        Assert.Null(await Alias(silo, "web-acme.localhost").Get());
        Assert.Null(await Alias(silo, "web-git-main-acme.localhost").Get());
        Assert.Null(await Alias(silo, "web-git-preview-branch-acme.localhost").Get());
        Assert.Null(await Deployment(silo, production).GetManifest());
        Assert.Null(await Deployment(silo, preview).GetManifest());
        await Assert.ThrowsAsync<NotFoundException>(() => Deployment(silo, production).Get(owner));

        // The name is free again, with an empty history.
        await GitProjectAsync(silo, owner);
        Assert.Empty((await web.ListDeployments(owner, null, 10)).Deployments);
        Assert.Null((await web.Get(owner)).ProductionDeploymentId);
    }

    [Fact]
    public async Task Deployments_per_day_are_counted_and_a_refused_one_is_not_written()
    {
        var (silo, owner) = await ProjectsSilo.StartAsync(settings: new Dictionary<string, string?> { ["CloudDeck:Plans:Hobby:DeploymentsPerDay"] = "1" });
        await using var _ = silo;
        var web = await GitProjectAsync(silo, owner);
        await DeployAsync(silo, owner, DeploymentTargets.Preview, new DeploymentSource(GitRef: "one"));

        var refused = await Assert.ThrowsAsync<RateLimitExceededException>(() =>
            web.Deploy(owner, new DeploymentSource(GitRef: "two"), DeploymentTargets.Preview));
        Assert.Equal(QuotaLimits.DeploymentsPerDay, refused.Refusal.Limit);
        Assert.Single((await web.ListDeployments(owner, null, 10)).Deployments);
        // Neither the day's deployments nor its builds counted the refused one.
        var quotas = (await silo.Grains.GetGrain<IOrganizationQuotaGrain>("acme").GetUsage()).Limits;
        Assert.Equal(1, quotas.Single(l => l.Limit == QuotaLimits.DeploymentsPerDay).Current);
        Assert.Equal(1, quotas.Single(l => l.Limit == QuotaLimits.BuildsPerDay).Current);
    }

    private static async Task<IProjectGrain> GitProjectAsync(AccountsSilo silo, Caller owner)
    {
        var web = silo.Grains.GetGrain<IProjectGrain>("acme/web");
        await web.Create(owner, new ProjectSettings(GitUrl: "https://git.example.test/acme/web.git"));
        return web;
    }

    private static Task<DeploymentView> DeployAsync(AccountsSilo silo, Caller owner, string target, DeploymentSource source) =>
        silo.Grains.GetGrain<IProjectGrain>("acme/web").Deploy(owner, source, target);

    private static async Task<string> ReadyAsync(AccountsSilo silo, Caller owner, string target)
    {
        var source = target == DeploymentTargets.Production ? new DeploymentSource() : new DeploymentSource(GitRef: "preview-branch");
        var deployment = await DeployAsync(silo, owner, target, source);
        await Deployment(silo, deployment.Id).BuildFinished(DeploymentStatuses.Ready, Site);
        return deployment.Id;
    }

    private static async Task<string?> ProductionAsync(AccountsSilo silo) => (await Alias(silo, "web-acme.localhost").Get())?.DeploymentId;

    private static IDeploymentGrain Deployment(AccountsSilo silo, string id) => silo.Grains.GetGrain<IDeploymentGrain>(id);

    private static IAliasGrain Alias(AccountsSilo silo, string host) => silo.Grains.GetGrain<IAliasGrain>(host);
}
