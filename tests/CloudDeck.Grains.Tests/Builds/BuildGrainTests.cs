using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.GrainInterfaces.Diagnostics;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.Grains.Diagnostics;
using Microsoft.Extensions.DependencyInjection;

namespace CloudDeck.Grains.Tests.Builds;

/// <summary>
/// Builds belong to an organization, which decides who sees them (members) and who starts them (developers and up);
/// the synthetic producer writes its lines to the build's log stream and finishes the build after the last one.
/// </summary>
public sealed class BuildGrainTests
{
    [Fact]
    public async Task Members_see_a_build_others_get_not_found_and_only_developers_and_up_start_one()
    {
        await using var silo = await AccountsSilo.StartAsync(sqlite: true);
        var (owner, _) = await silo.SignUpAsync("olive@example.com");
        var (developer, _) = await silo.SignUpAsync("dev@example.com", verified: true);
        var (viewer, _) = await silo.SignUpAsync("vera@example.com", verified: true);
        var (outsider, _) = await silo.SignUpAsync("otto@example.com");
        var org = silo.Grains.GetGrain<IOrganizationGrain>("acme");
        await org.Create(owner, "Acme", personal: false);
        await OrganizationTests.JoinAsync(silo, org, owner, developer, OrganizationRoles.Developer);
        await OrganizationTests.JoinAsync(silo, org, owner, viewer, OrganizationRoles.Viewer);

        var build = silo.Grains.GetGrain<IBuildGrain>(BuildIds.New());
        await Assert.ThrowsAsync<ForbiddenException>(() => build.Create(viewer, "acme", "web"));
        await Assert.ThrowsAsync<ForbiddenException>(() => build.Create(developer with { Scopes = [ApiTokenScopes.Read] }, "acme", "web"));
        await Assert.ThrowsAsync<NotFoundException>(() => build.Create(outsider, "acme", "web"));
        var created = await build.Create(developer with { Scopes = [ApiTokenScopes.Deploy] }, "acme", "web");
        Assert.Equal((BuildStatuses.Queued, "acme", "web", developer.UserId), (created.Status, created.Organization, created.Project, created.CreatedBy));
        await Assert.ThrowsAsync<ConflictException>(() => build.Create(owner, "acme", "web"));

        Assert.Equal(created, await build.Get(viewer));
        Assert.Equal(created, await build.Get(viewer with { Scopes = [ApiTokenScopes.Read] }));
        var hidden = await Assert.ThrowsAsync<NotFoundException>(() => build.Get(outsider));
        Assert.Contains("Build", hidden.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("acme", hidden.Message, StringComparison.Ordinal); // the organization is not named to outsiders
        await Assert.ThrowsAsync<NotFoundException>(() => silo.Grains.GetGrain<IBuildGrain>(BuildIds.New()).Get(owner));

        // Someone removed from the organization loses sight of its builds at once.
        await org.RemoveMember(owner, viewer.UserId);
        await Assert.ThrowsAsync<NotFoundException>(() => build.Get(viewer));
    }

    [Fact]
    public async Task Finishing_writes_the_status_before_completing_the_log_and_happens_once()
    {
        await using var silo = await AccountsSilo.StartAsync(sqlite: true);
        var (owner, slug) = await silo.SignUpAsync("olive@example.com");
        var id = BuildIds.New();
        var build = silo.Grains.GetGrain<IBuildGrain>(id);
        await build.Create(owner, slug, "web");
        Assert.Equal(BuildStatuses.Building, (await build.Start()).Status);
        await Assert.ThrowsAsync<InvalidFieldException>(() => build.Finish(BuildStatuses.Building));

        var log = silo.Services.GetRequiredService<ILogStreamProvider>().GetStream<BuildLogLine>(BuildLogs.Namespace, id);
        await log.AppendAsync(new BuildLogLine(DateTimeOffset.UnixEpoch, BuildLogStreams.System, "done"));
        var observer = new StatusAtCompletion(build, owner);
        await using var subscription = await log.SubscribeAsync(observer, LogPosition.First);

        var finished = await build.Finish(BuildStatuses.Failed);
        Assert.Equal(BuildStatuses.Failed, finished.Status);
        Assert.NotNull(finished.FinishedAt);
        Assert.Equal(BuildStatuses.Failed, await observer.Status.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken));
        Assert.True((await log.GetInfoAsync()).IsCompleted);

        // A second finish (a retry) changes nothing.
        Assert.Equal(finished, await build.Finish(BuildStatuses.Succeeded));
        await Assert.ThrowsAsync<ConflictException>(() => build.Start());
    }

    [Fact]
    public async Task The_synthetic_producer_writes_every_line_in_order_splitting_long_ones_then_finishes()
    {
        await using var silo = await AccountsSilo.StartAsync(sqlite: true);
        var (owner, slug) = await silo.SignUpAsync("olive@example.com");
        var id = BuildIds.New();
        var producer = silo.Grains.GetGrain<ISyntheticBuildGrain>(id);
        var invalid = await Assert.ThrowsAsync<InvalidFieldException>(() => producer.Start(owner, new SyntheticBuildRequest(slug, LineBytes: 1)));
        Assert.Equal("line_bytes", invalid.Field);

        const int lines = 1200;
        await producer.Start(owner, new SyntheticBuildRequest(slug, Lines: lines, LineBytes: 120, Status: BuildStatuses.Canceled));
        var log = silo.Services.GetRequiredService<ILogStreamProvider>().GetStream<BuildLogLine>(BuildLogs.Namespace, id);
        var received = new Collector();
        await using (await log.SubscribeAsync(received, LogPosition.First))
        {
            await received.Completed.Task.WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
        }

        Assert.Equal(Enumerable.Range(1, lines).Select(n => (long)n), received.Items.Select(i => i.Position.SequenceNumber));
        Assert.All(received.Items, item =>
        {
            var n = (int)item.Position.SequenceNumber;
            Assert.Equal((SyntheticBuildLog.StreamOf(n), SyntheticBuildLog.TextOf(n, 120)), (item.Item.Stream, item.Item.Text));
        });
        Assert.Equal(BuildStatuses.Canceled, (await silo.Grains.GetGrain<IBuildGrain>(id).Get(owner)).Status);

        // Lines over 16 KiB arrive as several, in order, whole.
        var longId = BuildIds.New();
        await silo.Grains.GetGrain<ISyntheticBuildGrain>(longId).Start(owner, new SyntheticBuildRequest(slug, Lines: 2, LineBytes: 40_000));
        var longLog = silo.Services.GetRequiredService<ILogStreamProvider>().GetStream<BuildLogLine>(BuildLogs.Namespace, longId);
        var pieces = new Collector();
        await using (await longLog.SubscribeAsync(pieces, LogPosition.First))
        {
            await pieces.Completed.Task.WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
        }

        var expected = Enumerable.Range(1, 2).SelectMany(n => BuildLogs.Split(SyntheticBuildLog.Line(n, 40_000, DateTimeOffset.UnixEpoch))).ToList();
        Assert.Equal(6, expected.Count);
        Assert.Equal(expected.Select(l => (l.Stream, l.Text)), pieces.Items.Select(i => (i.Item.Stream, i.Item.Text)));
    }

    private sealed class StatusAtCompletion(IBuildGrain build, Caller caller) : ILogObserver<BuildLogLine>
    {
        public TaskCompletionSource<string> Status { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task OnNextAsync(BuildLogLine item, LogPosition token) => Task.CompletedTask;

        public async Task OnCompletedAsync() => Status.TrySetResult((await build.Get(caller)).Status);
    }

    private sealed class Collector : ILogObserver<BuildLogLine>
    {
        public List<LogItem<BuildLogLine>> Items { get; } = [];

        public TaskCompletionSource Completed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task OnNextAsync(BuildLogLine item, LogPosition token)
        {
            Items.Add(new LogItem<BuildLogLine>(item, token));
            return Task.CompletedTask;
        }

        public Task OnCompletedAsync()
        {
            Completed.TrySetResult();
            return Task.CompletedTask;
        }

        public Task OnErrorAsync(Exception error)
        {
            Completed.TrySetException(error);
            return Task.CompletedTask;
        }
    }
}
