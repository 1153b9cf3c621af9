using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Projects;

namespace CloudDeck.Grains.Tests.Builds;

/// <summary>The organization's queue: over the plan's concurrent builds a build waits "queued"; over builds per day it is refused.</summary>
public sealed class BuildQueueTests
{
    [Fact]
    public async Task Builds_over_the_concurrent_limit_wait_queued_and_start_in_order_when_a_slot_frees()
    {
        await using var silo = await BuildSilo.StartAsync(new Dictionary<string, string?>
        {
            ["CloudDeck:Plans:Hobby:ConcurrentBuilds"] = "1",
            ["CloudDeck:Plans:Hobby:BuildsPerDay"] = "3",
            // The slow build waits for a gate file the test writes on the host, which a sandbox would never see.
            ["CloudDeck:Builds:Isolation"] = "none",
        });
        var (owner, org) = await silo.SignUpAsync("olive@example.com");
        var gate = Path.Combine(silo.Directory, "gate");
        // The first build holds its slot until the test opens the gate.
        await silo.CreateProjectAsync(owner, org, "slow", new ProjectSettings(Framework: "other",
            BuildCommand: $"echo waiting; while [ ! -f '{gate}' ]; do sleep 0.1; done", OutputDirectory: "."));
        await silo.CreateProjectAsync(owner, org, "fast", new ProjectSettings(Framework: "static"));
        var files = await BuildPipelineTests.UploadAsync(silo, new Dictionary<string, string> { ["index.html"] = "hi" });

        var (first, _, firstQueued) = await silo.QueueAsync(owner, org, "slow", new DeploymentSource(Files: files));
        await silo.WaitForLineAsync(firstQueued.Id, "waiting");
        var (second, _, secondQueued) = await silo.QueueAsync(owner, org, "fast", new DeploymentSource(Files: files));
        var (third, _, thirdQueued) = await silo.QueueAsync(owner, org, "fast", new DeploymentSource(Files: files));
        Assert.Equal((BuildStatuses.Queued, BuildStatuses.Queued), (secondQueued.Status, thirdQueued.Status));
        Assert.Equal(BuildStatuses.Queued, (await second.Get(owner)).Status);
        // Asked for outside the creation's request: the line comes once the queue has answered.
        await silo.WaitForLineAsync(secondQueued.Id, "Waiting for a free build slot");

        // Builds per day are still refused at once (429) when the deployment is created, not queued.
        var refused = await Assert.ThrowsAsync<RateLimitExceededException>(() =>
            silo.QueueAsync(owner, org, "fast", new DeploymentSource(Files: files)));
        Assert.Contains("builds_per_day", refused.Message, StringComparison.Ordinal);

        await File.WriteAllTextAsync(gate, "open", TestContext.Current.CancellationToken);
        await silo.LogUntilEndAsync(firstQueued.Id);
        await silo.LogUntilEndAsync(secondQueued.Id);
        await silo.LogUntilEndAsync(thirdQueued.Id);
        var views = new[] { await first.Get(owner), await second.Get(owner), await third.Get(owner) };
        Assert.All(views, v => Assert.Equal(BuildStatuses.Succeeded, v.Status));
        // One slot: each started after the one before it finished.
        Assert.True(views[1].StartedAt >= views[0].FinishedAt && views[2].StartedAt >= views[1].FinishedAt);
    }

    [Fact]
    public async Task A_queued_build_can_be_canceled_and_its_place_goes_to_the_next()
    {
        await using var silo = await BuildSilo.StartAsync(new Dictionary<string, string?>
        {
            ["CloudDeck:Plans:Hobby:ConcurrentBuilds"] = "1",
            ["CloudDeck:Builds:Isolation"] = "none",
        });
        var (owner, org) = await silo.SignUpAsync("olive@example.com");
        var gate = Path.Combine(silo.Directory, "gate");
        await silo.CreateProjectAsync(owner, org, "slow", new ProjectSettings(Framework: "other",
            BuildCommand: $"echo waiting; while [ ! -f '{gate}' ]; do sleep 0.1; done", OutputDirectory: "."));
        await silo.CreateProjectAsync(owner, org, "fast", new ProjectSettings(Framework: "static"));
        var files = await BuildPipelineTests.UploadAsync(silo, new Dictionary<string, string> { ["index.html"] = "hi" });

        var (_, _, firstQueued) = await silo.QueueAsync(owner, org, "slow", new DeploymentSource(Files: files));
        await silo.WaitForLineAsync(firstQueued.Id, "waiting");
        var (second, secondDeployment, secondQueued) = await silo.QueueAsync(owner, org, "fast", new DeploymentSource(Files: files));
        var (third, _, thirdQueued) = await silo.QueueAsync(owner, org, "fast", new DeploymentSource(Files: files));

        var canceled = await second.Cancel(owner);
        Assert.Equal((BuildStatuses.Canceled, (DateTimeOffset?)null), (canceled.Status, canceled.StartedAt));
        Assert.Equal(DeploymentStatuses.Canceled, (await silo.DeploymentResultAsync(owner, secondDeployment)).Status);

        await File.WriteAllTextAsync(gate, "open", TestContext.Current.CancellationToken);
        await silo.LogUntilEndAsync(thirdQueued.Id);
        Assert.Equal(BuildStatuses.Succeeded, (await third.Get(owner)).Status);
        Assert.Equal(BuildStatuses.Canceled, (await second.Get(owner)).Status);
    }
}
