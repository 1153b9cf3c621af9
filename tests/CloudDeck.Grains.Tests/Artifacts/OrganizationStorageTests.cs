using System.Security.Cryptography;
using System.Text;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.GrainInterfaces.Projects;
using CloudDeck.GrainInterfaces.Usage;
using CloudDeck.Grains.Artifacts;
using CloudDeck.Grains.Tests.Projects;
using Microsoft.Extensions.DependencyInjection;

namespace CloudDeck.Grains.Tests.Artifacts;

/// <summary>
/// Each organization's storage on the real artifact store and a manual clock: contents counted once per organization,
/// references taken and released by deployments, unreferenced contents let go after the grace period (and their bytes
/// when no organization holds them), build output past the plan refused, unverified accounts limited, usage metered.
/// Builds stay queued (<see cref="ProjectsSilo"/>); each test reports how a build ended, as the pipeline does.
/// </summary>
public sealed class OrganizationStorageTests
{
    private static readonly TimeSpan Grace = TimeSpan.FromHours(24);

    [Fact]
    public async Task Files_of_a_deleted_deployment_stay_through_the_grace_period_then_go_while_another_organization_keeps_the_bytes_it_serves()
    {
        var (silo, owner) = await ProjectsSilo.StartAsync();
        await using var _ = silo;
        var (globexOwner, _) = await silo.SignUpAsync("owner@globex.test", verified: true);
        await silo.Grains.GetGrain<IOrganizationGrain>("globex").Create(globexOwner, "Globex", personal: false);
        var shared = await UploadAsync(silo, owner, "acme", "shared.css", "body { color: teal }");
        var own = await UploadAsync(silo, owner, "acme", "index.html", "<h1>acme</h1>");
        // The same content uploaded twice, and by another organization: stored once, counted once in each.
        await UploadAsync(silo, owner, "acme", "shared.css", "body { color: teal }");
        var theirs = await UploadAsync(silo, globexOwner, "globex", "shared.css", "body { color: teal }");
        Assert.Equal(shared.Sha256, theirs.Sha256);

        var acmeDeployment = await ReadyUploadAsync(silo, owner, "acme", [shared, own]);
        var globexDeployment = await ReadyUploadAsync(silo, globexOwner, "globex", [theirs]);
        // A second deployment of the same files counts nothing more.
        var again = await ReadyUploadAsync(silo, owner, "acme", [shared, own]);
        Assert.Equal(shared.Size + own.Size, (await Storage(silo, "acme").GetUsage()).Bytes);
        Assert.Equal(shared.Size, (await Storage(silo, "globex").GetUsage()).Bytes);
        var quotas = await silo.Grains.GetGrain<IOrganizationGrain>("acme").GetQuotas(owner);
        Assert.Equal(shared.Size + own.Size, quotas.Limits.Single(l => l.Limit == QuotaLimits.StorageBytes).Current);
        Assert.Equal(1_000_000_000, quotas.Limits.Single(l => l.Limit == QuotaLimits.StorageBytes).Maximum);

        await Deployment(silo, acmeDeployment).Delete(owner);
        await Deployment(silo, again).Delete(owner);
        silo.Clock.Advance(Grace - TimeSpan.FromMinutes(1));
        Assert.Equal(0, (await Storage(silo, "acme").Collect()).GrantsRemoved);
        Assert.Empty(Store(silo).MissingFor("acme", [shared.Sha256, own.Sha256]));
        Assert.Equal(shared.Size + own.Size, (await Storage(silo, "acme").GetUsage()).Bytes);

        silo.Clock.Advance(TimeSpan.FromMinutes(2));
        var collected = await Storage(silo, "acme").Collect();
        await Storage(silo, "globex").Collect();
        Assert.Equal((2, shared.Size + own.Size, 1), (collected.GrantsRemoved, collected.BytesReleased, collected.ContentsDeleted));
        Assert.Equal([shared.Sha256, own.Sha256], Store(silo).MissingFor("acme", [shared.Sha256, own.Sha256]));
        Assert.False(File.Exists(Store(silo).PathOf(own.Sha256)));
        Assert.Equal(0, (await Storage(silo, "acme").GetUsage()).Bytes);
        // Globex's live deployment still serves the shared bytes, and globex may deploy them again.
        Assert.True(File.Exists(Store(silo).PathOf(shared.Sha256)));
        Assert.Empty(Store(silo).MissingFor("globex", [shared.Sha256]));
        Assert.Equal(shared.Size, (await Storage(silo, "globex").GetUsage()).Bytes);
        Assert.NotNull(await Deployment(silo, globexDeployment).GetManifest());
        await ReadyUploadAsync(silo, globexOwner, "globex", [theirs]);
    }

    [Fact]
    public async Task An_upload_never_deployed_goes_after_the_grace_period_a_referenced_file_stays_and_deleting_the_project_releases_its_files()
    {
        var (silo, owner) = await ProjectsSilo.StartAsync();
        await using var _ = silo;
        var served = await UploadAsync(silo, owner, "acme", "index.html", "<h1>served</h1>");
        var abandoned = await UploadAsync(silo, owner, "acme", "draft.html", "<h1>never deployed</h1>");
        await ReadyUploadAsync(silo, owner, "acme", [served], target: DeploymentTargets.Production);
        // The pass runs from a reminder (every CloudDeck:Artifacts:CollectionInterval), so it runs after a restart too.
        var reminder = await silo.Services.GetRequiredService<IReminderTable>()
            .ReadRow(Storage(silo, "acme").GetGrainId(), OrganizationStorageGrain.CollectionReminder, TestContext.Current.CancellationToken);
        Assert.Equal(TimeSpan.FromHours(1), reminder?.Period);

        silo.Clock.Advance(TimeSpan.FromDays(30));
        var collected = await Storage(silo, "acme").Collect();
        Assert.Equal(1, collected.GrantsRemoved);
        Assert.Equal([abandoned.Sha256], Store(silo).MissingFor("acme", [served.Sha256, abandoned.Sha256]));
        Assert.False(File.Exists(Store(silo).PathOf(abandoned.Sha256)));
        Assert.True(File.Exists(Store(silo).PathOf(served.Sha256)));

        // The production deployment cannot be deleted on its own; deleting the project deletes it and releases its files.
        await silo.Grains.GetGrain<IProjectGrain>("acme/site").Delete(owner);
        silo.Clock.Advance(TimeSpan.FromHours(23));
        Assert.Equal(0, (await Storage(silo, "acme").Collect()).GrantsRemoved);
        Assert.True(File.Exists(Store(silo).PathOf(served.Sha256)));
        silo.Clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal(1, (await Storage(silo, "acme").Collect()).ContentsDeleted);
        Assert.False(File.Exists(Store(silo).PathOf(served.Sha256)));
        Assert.Equal(new StorageUsageView("acme", 0, 0, 0, 0), await Storage(silo, "acme").GetUsage());
    }

    [Fact]
    public async Task A_build_whose_output_would_pass_the_plans_storage_fails_its_deployment_and_counts_nothing()
    {
        var (silo, owner) = await ProjectsSilo.StartAsync(settings: new Dictionary<string, string?> { ["CloudDeck:Plans:Hobby:StorageMb"] = "1" });
        await using var _ = silo;
        await silo.Grains.GetGrain<IProjectGrain>("acme/web").Create(owner, new ProjectSettings(GitUrl: "https://git.example.test/acme/web.git"));
        var small = new DeploymentManifest([new ManifestFile("index.html", new string('a', 64), 400_000)], null);
        var large = new DeploymentManifest([new ManifestFile("index.html", new string('a', 64), 400_000), new ManifestFile("video.mp4", new string('b', 64), 700_000)], null);

        var first = await silo.Grains.GetGrain<IProjectGrain>("acme/web").Deploy(owner, new DeploymentSource(), DeploymentTargets.Production);
        await Deployment(silo, first.Id).BuildFinished(DeploymentStatuses.Ready, small);
        var second = await silo.Grains.GetGrain<IProjectGrain>("acme/web").Deploy(owner, new DeploymentSource(), DeploymentTargets.Production);
        await Deployment(silo, second.Id).BuildFinished(DeploymentStatuses.Ready, large);

        Assert.Equal(DeploymentStatuses.Ready, (await Deployment(silo, first.Id).Get(owner)).Status);
        var refused = await Deployment(silo, second.Id).Get(owner);
        Assert.Equal(DeploymentStatuses.Failed, refused.Status);
        Assert.Contains("The hobby plan stores at most 1000000 bytes (storage_bytes); this organization stores 400000 and this needs 700000 more", refused.Error);
        Assert.Null(await Deployment(silo, second.Id).GetManifest());
        Assert.Equal(400_000, (await Storage(silo, "acme").GetUsage()).Bytes);
        Assert.Equal(first.Id, (await silo.Grains.GetGrain<IProjectGrain>("acme/web").Get(owner)).ProductionDeploymentId);
    }

    [Fact]
    public async Task An_unverified_account_deploys_only_its_allowance_a_refused_deployment_counts_nothing_and_verifying_lifts_it()
    {
        var (silo, _) = await ProjectsSilo.StartAsync(settings: new Dictionary<string, string?> { ["CloudDeck:Accounts:UnverifiedDeployments"] = "2" });
        await using var __ = silo;
        var (newcomer, org) = await silo.SignUpAsync("new@example.com");
        Assert.False(newcomer.EmailVerified);
        var project = ProjectKeys.Of(org, "web");
        await silo.Grains.GetGrain<IProjectGrain>(project).Create(newcomer, new ProjectSettings(GitUrl: "https://git.example.test/new/web.git"));
        Task<DeploymentView> DeployAsync(Caller caller, string target = DeploymentTargets.Preview) =>
            silo.Grains.GetGrain<IProjectGrain>(project).Deploy(caller, new DeploymentSource(GitRef: "main"), target);

        await DeployAsync(newcomer);
        await Assert.ThrowsAsync<InvalidFieldException>(() => DeployAsync(newcomer, target: "staging"));
        await DeployAsync(newcomer);
        var refused = await Assert.ThrowsAsync<ForbiddenException>(() => DeployAsync(newcomer));
        Assert.StartsWith("Verify your email first", refused.Message, StringComparison.Ordinal);
        Assert.Contains("CloudDeck:Accounts:UnverifiedDeployments", refused.Message, StringComparison.Ordinal);
        Assert.Equal(2, (await silo.Grains.GetGrain<IProjectGrain>(project).ListDeployments(newcomer, null, 10)).Deployments.Count);

        var verified = await silo.VerifyAsync(newcomer);
        await DeployAsync(verified);
        await DeployAsync(verified);
        Assert.Equal(2, (await silo.Grains.GetGrain<IUnverifiedAllowanceGrain>(newcomer.UserId).Get()).DeploymentsUsed);
    }

    [Fact]
    public async Task Stored_bytes_are_metered_in_byte_hours_from_the_same_count()
    {
        var (silo, owner) = await ProjectsSilo.StartAsync();
        await using var _ = silo;
        // Only sizes and hashes are counted: a million bytes held from noon for two hours, then two million for one.
        await Storage(silo, "acme").Hold(owner, [new StoredContent(new string('c', 64), 1_000_000)]);
        silo.Clock.Advance(TimeSpan.FromHours(2));
        await Storage(silo, "acme").Hold(owner, [new StoredContent(new string('d', 64), 1_000_000)]);
        silo.Clock.Advance(TimeSpan.FromHours(1));
        await Storage(silo, "acme").Collect();
        Assert.Equal(2_000_000, (await Storage(silo, "acme").GetUsage()).Bytes);

        var meter = silo.Grains.GetGrain<IUsageMeterGrain>("acme");
        var deadline = DateTime.UtcNow.AddSeconds(20);
        long metered;
        while ((metered = (await meter.Report("2030-01")).Totals.GetValueOrDefault(UsageKinds.StorageByteHours)) == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        Assert.Equal(4_000_000, metered);
        // A pass with nothing new to report reports nothing again.
        await Storage(silo, "acme").Collect();
        await Task.Delay(300, TestContext.Current.CancellationToken);
        Assert.Equal(4_000_000, (await meter.Report("2030-01")).Totals[UsageKinds.StorageByteHours]);
    }

    private static IArtifactStore Store(AccountsSilo silo) => silo.Services.GetRequiredService<IArtifactStore>();

    private static IOrganizationStorageGrain Storage(AccountsSilo silo, string organization) => silo.Grains.GetGrain<IOrganizationStorageGrain>(organization);

    private static IDeploymentGrain Deployment(AccountsSilo silo, string id) => silo.Grains.GetGrain<IDeploymentGrain>(id);

    /// <summary>What <c>PUT /api/v1/orgs/{org}/files/{sha256}</c> does: counted and granted first, then the bytes stored.</summary>
    private static async Task<ManifestFile> UploadAsync(AccountsSilo silo, Caller caller, string organization, string path, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes));
        await Storage(silo, organization).Hold(caller, [new StoredContent(sha256, bytes.Length)]);
        await Store(silo).PutAsync(sha256, bytes.Length, new MemoryStream(bytes), TestContext.Current.CancellationToken);
        return new ManifestFile(path, sha256, bytes.Length);
    }

    /// <summary>A deployment of uploaded files in the organization's project "site" (created on first use), ready.</summary>
    private static async Task<string> ReadyUploadAsync(AccountsSilo silo, Caller caller, string organization, IReadOnlyList<ManifestFile> files,
        string target = DeploymentTargets.Preview)
    {
        var project = silo.Grains.GetGrain<IProjectGrain>(ProjectKeys.Of(organization, "site"));
        try
        {
            await project.Get(caller);
        }
        catch (NotFoundException)
        {
            await project.Create(caller, new ProjectSettings());
        }

        var deployment = await silo.Grains.GetGrain<IProjectGrain>(ProjectKeys.Of(organization, "site"))
            .Deploy(caller, new DeploymentSource(Files: files), target);
        await Deployment(silo, deployment.Id).BuildFinished(DeploymentStatuses.Ready, new DeploymentManifest(files, null));
        Assert.Equal(DeploymentStatuses.Ready, (await Deployment(silo, deployment.Id).Get(caller)).Status);
        return deployment.Id;
    }
}
