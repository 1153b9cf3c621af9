using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.GrainInterfaces.Projects;

namespace CloudDeck.Grains.Tests.Projects;

/// <summary>
/// Host names two tenants can spell: org <c>corp</c> + project <c>web-acme</c> and org <c>acme-corp</c> + project <c>web</c>
/// both ask for <c>web-acme-corp</c>. One project holds it; the other serves its own fallback name, never the first's site.
/// </summary>
public sealed class HostClaimTests
{
    private static readonly DeploymentManifest Site = new([new ManifestFile("index.html", new string('a', 64), 12)], null);

    [Fact]
    public async Task A_tenant_that_spells_another_tenants_production_host_first_does_not_take_its_site()
    {
        var (silo, _) = await ProjectsSilo.StartAsync();
        await using var _ = silo;
        var attacker = await OrganizationAsync(silo, "corp");
        var victim = await OrganizationAsync(silo, "acme-corp");

        await ProjectAsync(silo, attacker, "corp/web-acme");
        var squatted = await ReadyAsync(silo, attacker, "corp/web-acme", DeploymentTargets.Production);
        var web = await ProjectAsync(silo, victim, "acme-corp/web");
        var own = await ReadyAsync(silo, victim, "acme-corp/web", DeploymentTargets.Production);

        var host = (await web.Get(victim)).ProductionHost;
        Assert.NotEqual("web-acme-corp.localhost", host);
        Assert.StartsWith("web-acme-corp-", host, StringComparison.Ordinal);
        Assert.EndsWith(".localhost", host, StringComparison.Ordinal);
        Assert.Equal(own, (await Alias(silo, host).Get())?.DeploymentId);
        Assert.Equal(squatted, (await Alias(silo, "web-acme-corp.localhost").Get())?.DeploymentId);
        Assert.Equal(DeploymentStatuses.Ready, (await Deployment(silo, own).Get(victim)).Status);
    }

    [Fact]
    public async Task The_project_created_first_keeps_the_name_even_when_the_other_deploys_first()
    {
        var (silo, _) = await ProjectsSilo.StartAsync();
        await using var _ = silo;
        var victim = await OrganizationAsync(silo, "acme-corp");
        var attacker = await OrganizationAsync(silo, "corp");

        var web = await ProjectAsync(silo, victim, "acme-corp/web");
        Assert.Equal("web-acme-corp.localhost", (await web.Get(victim)).ProductionHost);
        var squatter = await ProjectAsync(silo, attacker, "corp/web-acme");
        var squatterHost = (await squatter.Get(attacker)).ProductionHost;
        Assert.NotEqual("web-acme-corp.localhost", squatterHost);

        var squatted = await ReadyAsync(silo, attacker, "corp/web-acme", DeploymentTargets.Production);
        Assert.Null(await Alias(silo, "web-acme-corp.localhost").Get());
        Assert.Equal(squatted, (await Alias(silo, squatterHost).Get())?.DeploymentId);
        var own = await ReadyAsync(silo, victim, "acme-corp/web", DeploymentTargets.Production);
        Assert.Equal(own, (await Alias(silo, "web-acme-corp.localhost").Get())?.DeploymentId);

        // A deleted project frees its name; its hosts stop serving.
        await squatter.Delete(attacker);
        Assert.Null(await Alias(silo, squatterHost).Get());
        Assert.Null(await silo.Grains.GetGrain<IHostClaimGrain>(squatterHost).GetOwner());
    }

    [Fact]
    public async Task A_preview_host_another_project_holds_gets_a_fallback_that_the_deployment_answers()
    {
        var (silo, owner) = await ProjectsSilo.StartAsync();
        await using var _ = silo;
        // acme/web's preview of branch "x" would be web-git-x-acme, the production host of acme/web-git-x.
        await ProjectAsync(silo, owner, "acme/web-git-x");
        var holder = await ReadyAsync(silo, owner, "acme/web-git-x", DeploymentTargets.Production);
        await ProjectAsync(silo, owner, "acme/web");
        var preview = await ReadyAsync(silo, owner, "acme/web", DeploymentTargets.Preview, branch: "x");

        var view = await Deployment(silo, preview).Get(owner);
        Assert.Equal(DeploymentStatuses.Ready, view.Status);
        Assert.NotNull(view.PreviewUrl);
        var host = new Uri(view.PreviewUrl!).Host;
        Assert.StartsWith("web-git-x-acme-", host, StringComparison.Ordinal);
        Assert.Equal(preview, (await Alias(silo, host).Get())?.DeploymentId);
        Assert.Equal(holder, (await Alias(silo, "web-git-x-acme.localhost").Get())?.DeploymentId);
    }

    [Fact]
    public async Task A_host_already_serving_another_project_before_claims_existed_stays_its_and_a_deploy_that_cannot_set_its_alias_fails()
    {
        var (silo, _) = await ProjectsSilo.StartAsync();
        await using var _ = silo;
        var victim = await OrganizationAsync(silo, "acme-corp");
        // A database from before claims: corp/web-acme's deployment already serves web-acme-corp, unclaimed.
        await Alias(silo, "web-acme-corp.localhost").Set("corp/web-acme", "0123456789abcdef");
        var web = await ProjectAsync(silo, victim, "acme-corp/web");
        var host = (await web.Get(victim)).ProductionHost;
        Assert.NotEqual("web-acme-corp.localhost", host);
        Assert.Equal("corp/web-acme", await silo.Grains.GetGrain<IHostClaimGrain>("web-acme-corp.localhost").GetOwner());

        // Whatever writes an alias behind the claims' back, the deployment says so instead of reporting ready.
        await Alias(silo, host).Set("corp/other", "fedcba9876543210");
        var refused = await ReadyAsync(silo, victim, "acme-corp/web", DeploymentTargets.Production);
        var view = await Deployment(silo, refused).Get(victim);
        Assert.Equal(DeploymentStatuses.Failed, view.Status);
        Assert.Contains(host, view.Error, StringComparison.Ordinal);
        Assert.Null(await Deployment(silo, refused).GetManifest());
        Assert.Equal("fedcba9876543210", (await Alias(silo, host).Get())?.DeploymentId);
    }

    private static async Task<Caller> OrganizationAsync(AccountsSilo silo, string slug)
    {
        var (owner, _) = await silo.SignUpAsync($"owner@{slug}.test", verified: true);
        await silo.Grains.GetGrain<IOrganizationGrain>(slug).Create(owner, slug, personal: false);
        return owner;
    }

    private static async Task<IProjectGrain> ProjectAsync(AccountsSilo silo, Caller owner, string key)
    {
        var project = silo.Grains.GetGrain<IProjectGrain>(key);
        await project.Create(owner, new ProjectSettings(GitUrl: $"https://git.example.test/{key}.git"));
        return project;
    }

    private static async Task<string> ReadyAsync(AccountsSilo silo, Caller owner, string key, string target, string branch = "preview-branch")
    {
        var source = target == DeploymentTargets.Production ? new DeploymentSource() : new DeploymentSource(GitRef: branch);
        var deployment = await silo.Grains.GetGrain<IProjectGrain>(key).Deploy(owner, source, target);
        await Deployment(silo, deployment.Id).BuildFinished(DeploymentStatuses.Ready, Site);
        return deployment.Id;
    }

    private static IDeploymentGrain Deployment(AccountsSilo silo, string id) => silo.Grains.GetGrain<IDeploymentGrain>(id);

    private static IAliasGrain Alias(AccountsSilo silo, string host) => silo.Grains.GetGrain<IAliasGrain>(host);
}
