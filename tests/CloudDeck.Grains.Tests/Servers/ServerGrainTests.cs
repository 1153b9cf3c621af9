using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Projects;
using CloudDeck.GrainInterfaces.Servers;
using CloudDeck.Grains.Tests.Builds;
using CloudDeck.Testing;
using static CloudDeck.Grains.Tests.Servers.ServerApps;

namespace CloudDeck.Grains.Tests.Servers;

/// <summary>
/// Server deployments with a real Node process: ready only once healthy, failed when never healthy, restarted after a
/// SIGKILL, idle previews stopped and cold-started again, stopped when deleted. The silo's clock is manual, so restart
/// backoff and idle time advance when the test says so.
/// </summary>
public sealed class ServerGrainTests
{
    [Fact]
    public async Task A_server_deployment_becomes_ready_once_healthy_and_answers_with_the_projects_environment_and_a_masked_log()
    {
        NeedNode();
        var (silo, owner, project) = await StartAsync();
        await using var _ = silo;
        await project.SetEnv(owner, ProjectEnvironments.Production, "GREETING", "hello-env");
        await project.SetEnv(owner, ProjectEnvironments.Production, "API_KEY", "k3y-very-secret-42");

        var deployment = await DeployAsync(silo, owner, DeploymentTargets.Production, await ManifestAsync(silo, "v1"));
        Assert.Equal(DeploymentStatuses.Ready, deployment.Status);
        Assert.Equal(deployment.Id, await ProductionAsync(silo));

        var endpoint = await Server(silo, deployment.Id).GetEndpoint();
        Assert.NotNull(endpoint);
        Assert.Equal("hello from v1", await GetAsync(endpoint));
        Assert.Equal("hello-env", await GetAsync(endpoint, "/env/GREETING"));
        Assert.Equal(endpoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), await GetAsync(endpoint, "/env/PORT"));
        // A second EnsureRunning answers the running server; it starts nothing.
        Assert.Equal(endpoint, await Server(silo, deployment.Id).EnsureRunning());

        var status = await Server(silo, deployment.Id).GetStatus(owner);
        Assert.Equal((ServerStates.Healthy, 0, endpoint.Port), (status.State, status.Restarts, status.Port));
        Assert.True(status.Pid > 0);
        Assert.NotNull(status.LastColdStart);

        var log = await Eventually(() => RuntimeLogAsync(silo, deployment.Id), l => l.Any(x => x.Text.StartsWith("listening", StringComparison.Ordinal)),
            "the server's first line in its runtime log");
        Assert.Contains(log, l => l.Stream == BuildLogStreams.Stdout && l.Text == $"listening on {endpoint.Port} with key ***");
        Assert.DoesNotContain(log, l => l.Text.Contains("k3y-very-secret-42", StringComparison.Ordinal));
        Assert.Contains(log, l => l.Stream == BuildLogStreams.System && l.Text.StartsWith("Starting `node server.js`", StringComparison.Ordinal));

        // Another tenant learns nothing of it.
        var (outsider, _) = await silo.SignUpAsync("outsider@other.test", verified: true);
        await Assert.ThrowsAsync<NotFoundException>(() => Server(silo, deployment.Id).GetStatus(outsider));
    }

    [Fact]
    public async Task A_server_that_never_passes_its_health_check_fails_the_deployment_and_production_keeps_serving_the_previous_one()
    {
        NeedNode();
        var (silo, owner, project) = await StartAsync(new Dictionary<string, string?> { ["CloudDeck:Servers:HealthCheckTimeout"] = "00:00:03" });
        await using var __ = silo;
        var good = await DeployAsync(silo, owner, DeploymentTargets.Production, await ManifestAsync(silo, "v1"));

        var sick = await DeployAsync(silo, owner, DeploymentTargets.Production, await ManifestAsync(silo, "v2", healthPath: "/sick"));
        Assert.Equal(DeploymentStatuses.Failed, sick.Status);
        Assert.Contains("GET /sick", sick.Error, StringComparison.Ordinal);
        Assert.Contains("HTTP 503", sick.Error, StringComparison.Ordinal);
        Assert.Equal(good.Id, await ProductionAsync(silo));
        Assert.Equal("hello from v1", await GetAsync((await Server(silo, good.Id).GetEndpoint())!));

        // Nothing of the failed one runs, and it cannot be started or promoted.
        Assert.Null(await Server(silo, sick.Id).GetEndpoint());
        Assert.Null((await Server(silo, sick.Id).GetStatus(owner)).Pid);
        var workDirectory = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions
            .GetRequiredService<CloudDeck.Grains.Servers.ServerOptions>(silo.Services).WorkDirectory!;
        await Eventually(() => Task.FromResult(Directory.Exists(Path.Combine(workDirectory, sick.Id))), exists => !exists, "the failed server's files to go");
        await Assert.ThrowsAsync<ServerUnavailableException>(() => Server(silo, sick.Id).EnsureRunning());
        await Assert.ThrowsAsync<ConflictException>(() => silo.Grains.GetGrain<IDeploymentGrain>(sick.Id).Promote(owner));

        // A server that exits at once fails too, and says how it exited.
        var crashing = await DeployAsync(silo, owner, DeploymentTargets.Production, await ManifestAsync(silo, "v3", start: "echo bye; exit 3"));
        Assert.Equal(DeploymentStatuses.Failed, crashing.Status);
        Assert.Contains("exited with code 3", crashing.Error, StringComparison.Ordinal);
        Assert.Equal(good.Id, await ProductionAsync(silo));

        // A ready preview that cannot start any more (its environment changed, and it was stopped) is not promoted.
        var preview = await DeployAsync(silo, owner, DeploymentTargets.Preview,
            await ManifestAsync(silo, "v4", start: "test -n \"$BROKEN\" && exit 4; exec node server.js"));
        Assert.Equal(DeploymentStatuses.Ready, preview.Status);
        await Server(silo, preview.Id).Stop(TimeSpan.Zero);
        await project.SetEnv(owner, ProjectEnvironments.Preview, "BROKEN", "yes");
        var refused = await Assert.ThrowsAsync<ConflictException>(() => silo.Grains.GetGrain<IDeploymentGrain>(preview.Id).Promote(owner));
        Assert.Contains("exited with code 4", refused.Message, StringComparison.Ordinal);
        Assert.Equal(good.Id, await ProductionAsync(silo));
        Assert.Equal(4, (await Server(silo, preview.Id).GetStatus(owner)).LastExitCode);
    }

    [Fact]
    public async Task A_server_killed_with_SIGKILL_is_restarted_answers_again_and_its_restart_count_and_exit_code_are_visible()
    {
        NeedNode();
        var (silo, owner, _) = await StartAsync();
        await using var __ = silo;
        var deployment = await DeployAsync(silo, owner, DeploymentTargets.Production, await ManifestAsync(silo, "v1"));
        var server = Server(silo, deployment.Id);
        var before = await server.GetStatus(owner);
        var first = (await server.GetEndpoint())!;

        using (var process = System.Diagnostics.Process.GetProcessById(before.Pid!.Value)) process.Kill();

        // The backoff runs on the silo's clock: each poll moves it on a little.
        var after = await Eventually(() => server.GetStatus(owner), s => s is { State: ServerStates.Healthy, Restarts: >= 1 },
            "the server to be restarted", between: () => silo.Clock.Advance(TimeSpan.FromMilliseconds(200)));
        Assert.Equal(137, after.LastExitCode);
        Assert.NotEqual(before.Pid, after.Pid);
        Assert.False(IsAlive(before.Pid.Value));
        Assert.Equal(before.LastColdStart, after.LastColdStart);
        var second = (await server.GetEndpoint())!;
        Assert.True(second.Generation > first.Generation);
        Assert.Equal("hello from v1", await GetAsync(second));
        Assert.Contains(await RuntimeLogAsync(silo, deployment.Id), l => l.Text == "The server process exited with code 137");
    }

    [Fact]
    public async Task An_idle_preview_is_stopped_and_the_next_EnsureRunning_cold_starts_it_while_production_keeps_running()
    {
        NeedNode();
        var (silo, owner, _) = await StartAsync(new Dictionary<string, string?> { ["CloudDeck:Servers:PreviewIdleTimeout"] = "00:00:30" });
        await using var __ = silo;
        var production = await DeployAsync(silo, owner, DeploymentTargets.Production, await ManifestAsync(silo, "prod"));
        var preview = await DeployAsync(silo, owner, DeploymentTargets.Preview, await ManifestAsync(silo, "preview"));
        var pid = (await Server(silo, preview.Id).GetStatus(owner)).Pid!.Value;

        // Requests keep it: a touch 20 s in, then 20 s more is not idle yet.
        silo.Clock.Advance(TimeSpan.FromSeconds(20));
        await Server(silo, preview.Id).Touch();
        silo.Clock.Advance(TimeSpan.FromSeconds(20));
        await Task.Delay(500, TestContext.Current.CancellationToken);
        Assert.Equal(ServerStates.Healthy, (await Server(silo, preview.Id).GetStatus(owner)).State);

        silo.Clock.Advance(TimeSpan.FromSeconds(15));
        var stopped = await Eventually(() => Server(silo, preview.Id).GetStatus(owner), s => s.State == ServerStates.Stopped, "the idle preview to stop");
        Assert.Null(stopped.Pid);
        Assert.Null(await Server(silo, preview.Id).GetEndpoint());
        Assert.False(IsAlive(pid));
        Assert.Equal(ServerStates.Healthy, (await Server(silo, production.Id).GetStatus(owner)).State);

        var endpoint = await Server(silo, preview.Id).EnsureRunning();
        Assert.Equal("hello from preview", await GetAsync(endpoint));
        var cold = await Server(silo, preview.Id).GetStatus(owner);
        Assert.Equal(ServerStates.Healthy, cold.State);
        Assert.True(cold.LastColdStart > TimeSpan.Zero);
        TestContext.Current.TestOutputHelper?.WriteLine($"cold start of the idle preview: {cold.LastColdStart!.Value.TotalMilliseconds:0} ms");
    }

    [Fact]
    public async Task Deleting_a_server_deployment_stops_its_process_removes_its_files_and_tells_the_edges()
    {
        NeedNode();
        var (silo, owner, _) = await StartAsync();
        await using var __ = silo;
        var changes = new List<AliasChange>();
        var streams = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<ILogStreamProvider>(silo.Services);
        await using var subscription = await streams.GetStream<AliasChange>(AliasChanges.Namespace, AliasChanges.Key)
            .SubscribeAsync(new Collector<AliasChange>(changes), LogPosition.First);
        var preview = await DeployAsync(silo, owner, DeploymentTargets.Preview, await ManifestAsync(silo, "doomed"));
        var pid = (await Server(silo, preview.Id).GetStatus(owner)).Pid!.Value;

        var files = Path.Combine(Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions
            .GetRequiredService<CloudDeck.Grains.Servers.ServerOptions>(silo.Services).WorkDirectory!, preview.Id);
        Assert.True(File.Exists(Path.Combine(files, "app", "server.js")));

        await silo.Grains.GetGrain<IDeploymentGrain>(preview.Id).Delete(owner);
        Assert.Null(await Server(silo, preview.Id).GetEndpoint());
        Assert.False(IsAlive(pid));
        Assert.False(Directory.Exists(files));
        await Eventually(() => Task.FromResult(Snapshot(changes)), c => c.Contains(AliasChanges.DeploymentDeleted(preview.Id)), "the deletion on the edge stream");
    }

    [Fact]
    public async Task Promote_and_rollback_between_two_servers_start_the_new_one_before_the_alias_moves_and_stop_the_old_one_after_the_drain()
    {
        NeedNode();
        var (silo, owner, project) = await StartAsync(new Dictionary<string, string?>
        {
            ["CloudDeck:Servers:PreviewIdleTimeout"] = "00:00:30", ["CloudDeck:Servers:DrainGrace"] = "00:00:04",
        });
        await using var __ = silo;
        var v1 = await DeployAsync(silo, owner, DeploymentTargets.Production, await ManifestAsync(silo, "v1"));
        var v2 = await DeployAsync(silo, owner, DeploymentTargets.Preview, await ManifestAsync(silo, "v2"));
        // Idle first, so the promote itself has to start it.
        silo.Clock.Advance(TimeSpan.FromSeconds(31));
        await Eventually(() => Server(silo, v2.Id).GetStatus(owner), s => s.State == ServerStates.Stopped, "the idle preview to stop");

        // At each production alias change: which servers answered at that moment.
        var seen = new List<(string? Production, bool V1Up, bool V2Up)>();
        var streams = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<ILogStreamProvider>(silo.Services);
        await using var subscription = await streams.GetStream<AliasChange>(AliasChanges.Namespace, AliasChanges.Key)
            .SubscribeAsync(new Probe(async change =>
            {
                if (change.Host != "api-acme.localhost") return;
                var up1 = await Server(silo, v1.Id).GetEndpoint() is not null;
                var up2 = await Server(silo, v2.Id).GetEndpoint() is not null;
                lock (seen) seen.Add((change.DeploymentId, up1, up2));
            }), LogPosition.First);

        await silo.Grains.GetGrain<IDeploymentGrain>(v2.Id).Promote(owner);
        Assert.Equal("hello from v2", await GetAsync((await Server(silo, v2.Id).GetEndpoint())!));
        await Eventually(() => Task.FromResult(Snapshot(seen)), s => s.Any(x => x.Production == v2.Id), "the promote on the alias stream");
        // The new one answered before the alias moved; the old one still served its requests in flight.
        Assert.Contains((v2.Id, true, true), Snapshot(seen));
        await Eventually(() => Server(silo, v1.Id).GetStatus(owner), s => s.State == ServerStates.Stopped, "the old server to stop after the drain");

        // Rollback: v1 is stopped now, so it is started (and healthy) before production points back at it.
        Assert.Equal(v1.Id, (await project.Rollback(owner, v1.Id)).Id);
        Assert.Equal(v1.Id, await ProductionAsync(silo));
        Assert.Equal("hello from v1", await GetAsync((await Server(silo, v1.Id).GetEndpoint())!));
        await Eventually(() => Task.FromResult(Snapshot(seen)), s => s.Count(x => x.Production == v1.Id) >= 1, "the rollback on the alias stream");
        Assert.Contains((v1.Id, true, true), Snapshot(seen));
        await Eventually(() => Server(silo, v2.Id).GetStatus(owner), s => s.State == ServerStates.Stopped, "the promoted server to stop after the rollback");
    }

    [Fact]
    public async Task Concurrent_EnsureRunning_calls_share_one_start_and_no_server_outlives_its_silo()
    {
        NeedNode();
        var (silo, owner, _) = await StartAsync(new Dictionary<string, string?> { ["CloudDeck:Servers:PreviewIdleTimeout"] = "00:00:30" });
        var disposed = false;
        try
        {
            var preview = await DeployAsync(silo, owner, DeploymentTargets.Preview, await ManifestAsync(silo, "shared"));
            silo.Clock.Advance(TimeSpan.FromSeconds(31));
            await Eventually(() => Server(silo, preview.Id).GetStatus(owner), s => s.State == ServerStates.Stopped, "the idle preview to stop");
            int Starts(IReadOnlyList<BuildLogLine> log) => log.Count(l => l.Stream == BuildLogStreams.System && l.Text.StartsWith("Starting ", StringComparison.Ordinal));
            var startsBefore = Starts(await RuntimeLogAsync(silo, preview.Id));

            // Eight callers at once (the edge under a burst of requests to a cold preview): one process, one endpoint.
            var endpoints = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Server(silo, preview.Id).EnsureRunning()));
            Assert.Single(endpoints.Distinct());
            Assert.Equal(startsBefore + 1, Starts(await Eventually(() => RuntimeLogAsync(silo, preview.Id), l => Starts(l) > startsBefore, "the start line")));
            Assert.Equal("hello from shared", await GetAsync(endpoints[0]));

            var production = await DeployAsync(silo, owner, DeploymentTargets.Production, await ManifestAsync(silo, "prod"));
            var pids = new[] { (await Server(silo, preview.Id).GetStatus(owner)).Pid!.Value, (await Server(silo, production.Id).GetStatus(owner)).Pid!.Value };
            Assert.All(pids, pid => Assert.True(IsAlive(pid)));

            await silo.DisposeAsync();
            disposed = true;
            Assert.All(pids, pid => Assert.False(IsAlive(pid), $"server process {pid} outlived its silo"));
            Assert.Empty(Tools.ProcessesWith(CloudDeck.Grains.Servers.LocalProcessRuntime.MarkerVariable, preview.Id));
            Assert.Empty(Tools.ProcessesWith(CloudDeck.Grains.Servers.LocalProcessRuntime.MarkerVariable, production.Id));
        }
        finally
        {
            if (!disposed) await silo.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_servers_processes_run_under_the_configured_memory_limit()
    {
        NeedNode();
        Need.Component(Requirement.Check(CloudDeck.Grains.Processes.ProcessLimits.Unenforceable is null, "prlimit", "apt-get install util-linux"));
        var (silo, owner, _) = await StartAsync(new Dictionary<string, string?> { ["CloudDeck:Servers:MemoryLimitMb"] = "512" });
        await using var __ = silo;
        var deployment = await DeployAsync(silo, owner, DeploymentTargets.Production, await ManifestAsync(silo, "limited"));
        Assert.Equal(DeploymentStatuses.Ready, deployment.Status);

        var limits = await GetAsync((await Server(silo, deployment.Id).GetEndpoint())!, "/limits");
        var data = limits.Split('\n').Single(l => l.StartsWith("Max data size", StringComparison.Ordinal));
        Assert.Equal(["536870912", "536870912", "bytes"], data["Max data size".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(await RuntimeLogAsync(silo, deployment.Id), l => l.Text.Contains("memory 512 MiB per process (prlimit: RLIMIT_DATA)", StringComparison.Ordinal));
    }

    private static List<T> Snapshot<T>(List<T> items)
    {
        lock (items) return [.. items];
    }
}

/// <summary>Keeps every item a stream delivers.</summary>
internal sealed class Collector<T>(List<T> items) : ILogObserver<T>
{
    public Task OnNextAsync(T item, LogPosition token)
    {
        lock (items) items.Add(item);
        return Task.CompletedTask;
    }

    public Task OnCompletedAsync() => Task.CompletedTask;

    public Task OnErrorAsync(Exception error) => Task.CompletedTask;
}

/// <summary>Runs a callback for every item a stream delivers.</summary>
internal sealed class Probe(Func<AliasChange, Task> onNext) : ILogObserver<AliasChange>
{
    public Task OnNextAsync(AliasChange item, LogPosition token) => onNext(item);

    public Task OnCompletedAsync() => Task.CompletedTask;

    public Task OnErrorAsync(Exception error) => Task.CompletedTask;
}
