using CloudDeck.GrainInterfaces.Deployments;

namespace CloudDeck.Grains.Tests.Projects;

/// <summary>
/// What creating one deployment costs (issue 21): the grain calls and writes of one request, counted by a grain call
/// filter and wrappers around the real SQLite storage and record store, for an upload and for a git push.
/// </summary>
public sealed class CreationCostTests
{
    [Fact]
    public async Task A_deployment_created_by_upload_or_by_git_push_costs_at_most_five_grain_calls_and_four_state_writes_on_one_path()
    {
        await using var silo = await CreationSilo.StartAsync();

        var (upload, uploaded) = await silo.MeasureAsync("upload", () => silo.UploadAsync());
        var (push, pushed) = await silo.MeasureAsync("push", () => silo.PushAsync("delivery-1"));
        Assert.Equal(DeploymentStatuses.Building, uploaded.Status);
        Assert.Equal(DeploymentStatuses.Building, pushed.Deployment!.Status);
        Assert.Equal([pushed.Deployment.Id, uploaded.Id], (await silo.ListedAsync()).Select(d => d.Id));

        foreach (var cost in new[] { upload, push })
        {
            // The request's one call into the project grain, and what grains call to serve it.
            Assert.Single(cost.Calls, c => c.Source == "client");
            Assert.True(cost.GrainToGrainCalls.Count <= 5, cost.Describe());
            Assert.True(cost.StateWrites.Count <= 4, cost.Describe());
            // The history row, the audit entry (and a push's delivery, by payload and by id): one record-store transaction.
            Assert.Equal([cost == push ? 4 : 2], cost.RecordWrites);
            Assert.Single(cost.Calls, c => c.Interface == "IOrganizationQuotaGrain");
            // Besides grains, Orleans' reminder service registers the build's check reminder (and the quota grain's period
            // reminder, once per activation): what brings a build back after a crash, so it is written before the answer.
            Assert.All(cost.ServiceCalls, c => Assert.Equal("IReminderService.RegisterOrUpdateReminder", $"{c.Interface}.{c.Method}"));
            Assert.Single(cost.ServiceCalls, c => c.Source.StartsWith("build/", StringComparison.Ordinal));

            // The same path: the project reserves the quota and starts the deployment, which queues its build.
            var path = cost.GrainToGrainCalls.Where(c => c.Interface is not ("IOrganizationGrain" or "IOrganizationStorageGrain"))
                .Select(c => $"{c.Source.Split('/')[0]} -> {c.Interface}.{c.Method}");
            Assert.Equal(["project -> IOrganizationQuotaGrain.Reserve", "project -> IDeploymentGrain.Start", "deployment -> IBuildGrain.Queue"], path);
        }

        // What an upload adds: the caller's access (a push is authenticated by its signature) and its files' references.
        Assert.Equal(["IOrganizationGrain.Authorize", "IOrganizationStorageGrain.Reference"],
            upload.GrainToGrainCalls.Where(c => c.Interface is "IOrganizationGrain" or "IOrganizationStorageGrain").Select(c => $"{c.Interface}.{c.Method}"));
        Assert.Equal(3, push.GrainToGrainCalls.Count);
    }

    [Fact]
    public async Task Creations_of_one_project_interleave_and_number_their_deployments_once_each_without_gaps()
    {
        await using var silo = await CreationSilo.StartAsync();

        var created = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => i % 4 == 0
            ? silo.PushAsync($"delivery-{i}").ContinueWith(t => t.Result.Deployment!, TaskScheduler.Default)
            : silo.UploadAsync()));

        Assert.Equal(Enumerable.Range(1, 40).Select(i => (long)i), created.Select(d => d.Sequence).Order());
        Assert.Equal(created.OrderByDescending(d => d.Sequence).Select(d => d.Id), (await silo.ListedAsync()).Select(d => d.Id));
        Assert.Equal((40, 40), await silo.DayCountsAsync());
    }

    [Fact]
    public async Task A_project_deleted_while_deployments_are_being_created_leaves_none_of_them_behind()
    {
        await using var silo = await CreationSilo.StartAsync();
        List<DeploymentView> earlier = [await silo.UploadAsync(), await silo.UploadAsync()];
        var creations = Enumerable.Range(0, 30).Select(_ => Task.Run(() => silo.UploadAsync())).ToList();
        await Task.Delay(20, TestContext.Current.CancellationToken);
        await silo.Web.Delete(silo.Owner);
        var outcomes = await Task.WhenAll(creations.Select(async creation =>
        {
            try
            {
                return await creation;
            }
            catch (GrainInterfaces.NotFoundException)
            {
                return null; // refused: the project was being deleted, or was gone
            }
        }));

        // Every deployment that was created before the delete looked was deleted with the project: none is served or listed.
        foreach (var deployment in earlier.Concat(outcomes.OfType<DeploymentView>()))
        {
            Assert.Null(await silo.Silo.Grains.GetGrain<IDeploymentGrain>(deployment.Id).GetManifest());
            await Assert.ThrowsAsync<GrainInterfaces.NotFoundException>(() => silo.Silo.Grains.GetGrain<IDeploymentGrain>(deployment.Id).Get(silo.Owner));
        }

        await silo.Web.Create(silo.Owner, new GrainInterfaces.Projects.ProjectSettings(GitUrl: "https://git.example.test/acme/web.git"));
        Assert.Empty(await silo.ListedAsync());
    }
}
