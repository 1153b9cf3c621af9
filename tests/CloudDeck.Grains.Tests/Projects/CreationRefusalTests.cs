using System.Text;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.GrainInterfaces.Projects;

namespace CloudDeck.Grains.Tests.Projects;

/// <summary>
/// Every point where creating a deployment can be refused or fail (issue 21): whatever was taken before it is given back,
/// so no reservation is half-taken, no quota counted, and no deployment, build or history row written for a creation that
/// did not happen. Each refusal is counted as a request (<see cref="RequestCostMeter"/>) to see what it wrote.
/// </summary>
public sealed class CreationRefusalTests
{
    [Fact]
    public async Task A_caller_who_may_not_deploy_is_refused_before_anything_is_counted_or_written()
    {
        await using var silo = await CreationSilo.StartAsync();
        var (stranger, _) = await silo.Silo.SignUpAsync("stranger@example.com", verified: true);
        var (viewer, _) = await silo.Silo.SignUpAsync("viewer@example.com", verified: true);
        await OrganizationTests.JoinAsync(silo.Silo, silo.Silo.Grains.GetGrain<IOrganizationGrain>("acme"), silo.Owner, viewer, OrganizationRoles.Viewer);

        var (strangerCost, _) = await silo.RefusedAsync<NotFoundException>("stranger", () => silo.UploadAsync(stranger));
        var (viewerCost, _) = await silo.RefusedAsync<ForbiddenException>("viewer", () => silo.UploadAsync(viewer));

        AssertNothingTaken(strangerCost);
        AssertNothingTaken(viewerCost);
        Assert.Equal((0, 0), await silo.DayCountsAsync());
        Assert.Empty(await silo.ListedAsync());
    }

    [Fact]
    public async Task A_source_that_cannot_be_deployed_is_refused_naming_its_field_before_anything_is_counted_or_written()
    {
        await using var silo = await CreationSilo.StartAsync();
        var site = silo.Silo.Grains.GetGrain<IProjectGrain>("acme/site");
        await site.Create(silo.Owner, new ProjectSettings());
        var absent = new ManifestFile("about.html", new string('b', 64), 3);

        var refusals = new[]
        {
            await silo.RefusedAsync<InvalidFieldException>("target", () => silo.Web.Deploy(silo.Owner, new DeploymentSource(Files: silo.Files), "staging")),
            await silo.RefusedAsync<InvalidFieldException>("files", () => silo.Web.Deploy(silo.Owner, new DeploymentSource(Files: [.. silo.Files, absent]), DeploymentTargets.Preview)),
            await silo.RefusedAsync<InvalidFieldException>("size", () => silo.Web.Deploy(silo.Owner, new DeploymentSource(Files: [silo.Files[0] with { Size = 1 }]), DeploymentTargets.Preview)),
            await silo.RefusedAsync<InvalidFieldException>("git_ref", () => site.Deploy(silo.Owner, new DeploymentSource(), DeploymentTargets.Production)),
            await silo.RefusedAsync<InvalidFieldException>("branch", () => silo.Web.Deploy(silo.Owner, new DeploymentSource(GitRef: "main", Branch: "../x"), DeploymentTargets.Preview)),
        };

        Assert.Equal(["target", "files", "files[0].size", "git_ref", "branch"], refusals.Select(r => r.Refusal.Field));
        foreach (var (cost, _) in refusals) AssertNothingTaken(cost);
        Assert.Equal((0, 0), await silo.DayCountsAsync());
        Assert.Empty(await silo.ListedAsync());
    }

    [Fact]
    public async Task A_refused_build_leaves_the_days_deployments_where_they_were_and_a_refused_deployment_leaves_the_days_builds()
    {
        await using var silo = await CreationSilo.StartAsync(new Dictionary<string, string?>
        {
            ["CloudDeck:Plans:Hobby:DeploymentsPerDay"] = "3",
            ["CloudDeck:Plans:Hobby:BuildsPerDay"] = "3",
        });
        await silo.UploadAsync();
        Assert.Equal((1, 1), await silo.DayCountsAsync());

        // Builds per day spent elsewhere (two synthetic builds' worth): the next deployment's build is refused, and its
        // deployment with it; the day's deployments stay at 1.
        await silo.Quota.Count(QuotaLimits.BuildsPerDay, 2);
        var (buildCost, buildRefusal) = await silo.RefusedAsync<RateLimitExceededException>("builds", () => silo.UploadAsync());
        Assert.Equal(QuotaLimits.BuildsPerDay, buildRefusal.Refusal.Limit);
        AssertNothingTaken(buildCost, reservationAsked: true);
        Assert.Equal((1, 3), await silo.DayCountsAsync());

        // The next day: deployments per day spent, then one refused; the day's builds stay where they were.
        silo.Silo.Clock.Advance(TimeSpan.FromDays(1));
        await silo.UploadAsync();
        await silo.Quota.Count(QuotaLimits.DeploymentsPerDay, 2);
        var (deploymentCost, deploymentRefusal) = await silo.RefusedAsync<RateLimitExceededException>("deployments", () => silo.UploadAsync());
        Assert.Equal(QuotaLimits.DeploymentsPerDay, deploymentRefusal.Refusal.Limit);
        AssertNothingTaken(deploymentCost, reservationAsked: true);
        Assert.Equal((3, 1), await silo.DayCountsAsync());
        Assert.Equal(2, (await silo.ListedAsync()).Count);
    }

    [Fact]
    public async Task A_month_whose_build_minutes_are_spent_refuses_the_deployment_and_counts_neither_its_deployment_nor_its_build()
    {
        await using var silo = await CreationSilo.StartAsync(new Dictionary<string, string?> { ["CloudDeck:Plans:Hobby:BuildMinutesPerMonth"] = "10" });
        await silo.Quota.Record(QuotaLimits.BuildMinutesPerMonth, 10);

        var (cost, refusal) = await silo.RefusedAsync<PlanLimitExceededException>("minutes", () => silo.UploadAsync());

        Assert.Equal(QuotaLimits.BuildMinutesPerMonth, refusal.Refusal.Limit);
        AssertNothingTaken(cost, reservationAsked: true);
        Assert.Equal((0, 0), await silo.DayCountsAsync());
        Assert.Empty(await silo.ListedAsync());
    }

    [Fact]
    public async Task An_unverified_accounts_allowance_is_taken_with_the_reservation_and_given_back_when_the_reservation_is_refused()
    {
        await using var silo = await CreationSilo.StartAsync(new Dictionary<string, string?>
        {
            ["CloudDeck:Accounts:UnverifiedDeployments"] = "1",
            ["CloudDeck:Plans:Hobby:DeploymentsPerDay"] = "1",
        });
        var (newcomer, org) = await silo.Silo.SignUpAsync("new@example.com");
        var web = silo.Silo.Grains.GetGrain<IProjectGrain>(ProjectKeys.Of(org, "web"));
        await web.Create(newcomer, new ProjectSettings(GitUrl: "https://git.example.test/new/web.git"));
        var quota = silo.Silo.Grains.GetGrain<IOrganizationQuotaGrain>(org);
        var allowance = silo.Silo.Grains.GetGrain<IUnverifiedAllowanceGrain>(newcomer.UserId);
        await quota.Count(QuotaLimits.DeploymentsPerDay, 1);

        // Refused by the day's deployments: the allowance it took first is given back.
        var (refusedCost, _) = await silo.RefusedAsync<RateLimitExceededException>("quota", () => web.Deploy(newcomer, new DeploymentSource(), DeploymentTargets.Production));
        AssertNothingTaken(refusedCost, reservationAsked: true);
        Assert.Equal(0, (await allowance.Get()).DeploymentsUsed);

        // The next day it deploys once, and the allowance refuses the second before any quota is asked.
        silo.Silo.Clock.Advance(TimeSpan.FromDays(1));
        await web.Deploy(newcomer, new DeploymentSource(), DeploymentTargets.Production);
        Assert.Equal(1, (await allowance.Get()).DeploymentsUsed);
        var (allowanceCost, _) = await silo.RefusedAsync<ForbiddenException>("allowance", () => web.Deploy(newcomer, new DeploymentSource(), DeploymentTargets.Production));
        AssertNothingTaken(allowanceCost);
        Assert.Equal(1, (await allowance.Get()).DeploymentsUsed);
        Assert.Equal(1, (await quota.GetUsage()).Limits.Single(l => l.Limit == QuotaLimits.DeploymentsPerDay).Current);
    }

    [Theory]
    [InlineData("deployment")]
    [InlineData("build")]
    public async Task A_deployment_or_build_that_cannot_be_stored_leaves_no_deployment_and_gives_back_its_reservation_and_files(string failingState)
    {
        await using var silo = await CreationSilo.StartAsync();
        silo.Meter.FailNextStateWrite = failingState;

        var (cost, _) = await silo.RefusedAsync<Orleans.Runtime.OrleansException>(failingState, () => silo.UploadAsync());

        Assert.Null(silo.Meter.FailNextStateWrite);
        Assert.Equal((0, 0), await silo.DayCountsAsync());
        Assert.Empty(await silo.ListedAsync());
        Assert.Empty(cost.RecordWrites);
        var deploymentId = StartedDeployment(cost);
        await Assert.ThrowsAsync<NotFoundException>(() => silo.Silo.Grains.GetGrain<IDeploymentGrain>(deploymentId).Get(silo.Owner));
        // Its upload's files were referenced for it, and released again: unreferenced, as before the attempt.
        var storage = await silo.Silo.Grains.GetGrain<IOrganizationStorageGrain>("acme").GetUsage();
        Assert.Equal((2, storage.Bytes), (storage.UnreferencedContents, storage.UnreferencedBytes));

        // Nothing stands in the way of the next one.
        Assert.Equal(DeploymentStatuses.Building, (await silo.UploadAsync()).Status);
        Assert.Equal((1, 1), await silo.DayCountsAsync());
    }

    [Fact]
    public async Task A_history_that_cannot_be_written_ends_the_started_deployment_canceled_with_its_build_and_gives_back_its_reservation()
    {
        await using var silo = await CreationSilo.StartAsync();
        silo.Meter.FailNextRecordWriteOf = "deployments";

        var (cost, _) = await silo.RefusedAsync<IOException>("history", () => silo.UploadAsync());

        Assert.Equal((0, 0), await silo.DayCountsAsync());
        var deployment = await silo.Silo.Grains.GetGrain<IDeploymentGrain>(StartedDeployment(cost)).Get(silo.Owner);
        Assert.Equal(DeploymentStatuses.Canceled, deployment.Status);
        Assert.Equal(BuildStatuses.Canceled, (await silo.Silo.Grains.GetGrain<IBuildGrain>(deployment.BuildId!).Get(silo.Owner)).Status);
        // Listed as it ended (the row written once the history took writes again), with no audit entry of a creation.
        Assert.Equal([(deployment.Id, DeploymentStatuses.Canceled)], (await silo.ListedAsync()).Select(d => (d.Id, d.Status)));
        var audit = await silo.Silo.Grains.GetGrain<IOrganizationGrain>("acme").GetAuditLog(silo.Owner, new AuditQuery());
        Assert.DoesNotContain(audit.Entries, e => e.Action == "deployment.created");
        var storage = await silo.Silo.Grains.GetGrain<IOrganizationStorageGrain>("acme").GetUsage();
        Assert.Equal(2, storage.UnreferencedContents);
    }

    [Fact]
    public async Task A_refused_push_is_not_remembered_so_its_redelivery_deploys_once_the_quota_allows()
    {
        await using var silo = await CreationSilo.StartAsync(new Dictionary<string, string?> { ["CloudDeck:Plans:Hobby:BuildsPerDay"] = "1" });
        await silo.Quota.Count(QuotaLimits.BuildsPerDay, 1);
        var payload = Encoding.UTF8.GetBytes($$"""{"ref":"refs/heads/main","after":"{{new string('c', 40)}}"}""");

        var (cost, _) = await silo.RefusedAsync<RateLimitExceededException>("push", () => silo.PushAsync(payload, "delivery-1"));
        AssertNothingTaken(cost, reservationAsked: true);
        Assert.Equal(0, (await silo.DayCountsAsync()).Deployments);

        silo.Silo.Clock.Advance(TimeSpan.FromDays(1));
        var redelivered = await silo.PushAsync(payload, "delivery-1");
        Assert.Null(redelivered.DuplicateOf);
        Assert.NotNull(redelivered.Deployment);
        // Remembered now: the same delivery again is a duplicate of that deployment.
        Assert.Equal(redelivered.Deployment!.Id, (await silo.PushAsync(payload, "delivery-1")).DuplicateOf!.DeploymentId);
        Assert.Equal((1, 1), await silo.DayCountsAsync());
    }

    /// <summary>The request wrote no deployment, build or record, and asked the quota at most for a reservation that was refused.</summary>
    private static void AssertNothingTaken(RequestCost cost, bool reservationAsked = false)
    {
        Assert.DoesNotContain(cost.StateWrites, w => w.StartsWith("deployment ", StringComparison.Ordinal) || w.StartsWith("build ", StringComparison.Ordinal)
                                                     || w.StartsWith("organization-quota ", StringComparison.Ordinal));
        Assert.Empty(cost.RecordWrites);
        Assert.DoesNotContain(cost.Calls, c => c.Interface is "IDeploymentGrain" or "IBuildGrain");
        Assert.Equal(reservationAsked ? ["Reserve"] : [], cost.Calls.Where(c => c.Interface == "IOrganizationQuotaGrain").Select(c => c.Method));
    }

    /// <summary>The id of the deployment the request started (the project chose it).</summary>
    private static string StartedDeployment(RequestCost cost) =>
        cost.Calls.Single(c => c.Interface == "IDeploymentGrain" && c.Method == "Start").Target.Split('/')[1];
}
