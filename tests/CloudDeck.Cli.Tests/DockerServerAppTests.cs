using CloudDeck.Api.Tests.Edge;
using CloudDeck.Testing;
using Docker.DotNet.Models;

namespace CloudDeck.Cli.Tests;

/// <summary>
/// Every server app test of <see cref="ServerAppTests"/> with the app built and run in Docker (CloudDeck:Builds:Executor and
/// CloudDeck:Servers:Runtime docker, on a real dockerd with the node image made from this machine's files): it answers
/// HTTP and WebSocket through the edge at its production URL, swaps under load with no failed request, keeps production
/// when a new one never gets healthy, and a SIGKILLed container is restarted.
/// </summary>
[Trait("needs", "docker")]
public sealed class DockerServerAppTests : ServerAppTests
{
    [Fact]
    public async Task A_server_container_does_not_outlive_its_silo_killed_with_SIGKILL()
    {
        var (api, user, http, _) = await ProjectAsync("v1");
        var deployment = await DeployAsync(http, user, "production", "main");
        var daemon = (await DockerDaemon.GetAsync())!;
        using var client = daemon.CreateClient();
        var filter = new ContainersListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"clouddeck.subject={deployment}"] = true } },
        };
        Assert.Single(await client.Containers.ListContainersAsync(filter, Cancellation));

        api.Process.Kill();

        // Its lease (the silo's attach to its stdin) ends with the silo's process, and with it the container.
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        while ((await client.Containers.ListContainersAsync(filter, Cancellation)).Count > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the server container of {deployment} still runs a minute after its silo was killed");
            await Task.Delay(200, Cancellation);
        }
    }

    [Fact]
    public async Task A_server_container_past_its_disk_limit_is_stopped_saying_so_and_starts_again_from_its_deployments_files()
    {
        var (api, user, http, _) = await ProjectAsync("v1", new() { ["CloudDeck__Servers__DiskLimitMb"] = "16" });
        var deployment = await DeployAsync(http, user, "production", "main");
        var host = $"api-{user.Organization}.localhost:{api.BaseAddress.Port}";
        using (var small = await SendAsync(api, host, HttpMethod.Get, "/fill?mb=2"))
        {
            Assert.Equal("holding 2 files", await small.Content.ReadAsStringAsync(Cancellation));
        }

        // 40 MiB more: past the limit. The answer may or may not arrive before the watch ends the container.
        try
        {
            using var big = await SendAsync(api, host, HttpMethod.Get, "/fill?mb=40");
        }
        catch (HttpRequestException)
        {
        }

        var restarted = await WaitForAsync(http, deployment, status => status["restarts"]!.GetValue<int>() >= 1 && status["state"]!.GetValue<string>() == "healthy",
            "the server past its disk limit to be restarted");
        Assert.Equal(1, restarted["restarts"]!.GetValue<int>());
        var log = await http.GetStringAsync($"api/v1/deployments/{deployment}/logs/runtime", Cancellation);
        Assert.Contains("The server wrote past its disk limit (16 MiB, CloudDeck:Servers:DiskLimitMb); it starts again from its deployment's files", log,
            StringComparison.Ordinal);
        // What it wrote is gone: the files are the deployment's again.
        using var after = await SendAsync(api, host, HttpMethod.Get, "/fill?mb=1");
        Assert.Equal("holding 1 files", await after.Content.ReadAsStringAsync(Cancellation));
    }

    protected override async Task<Dictionary<string, string?>> RuntimeSettingsAsync()
    {
        var (daemon, image) = await NeedDocker.ImageAsync();
        var settings = NeedDocker.Environment(daemon, image);
        settings["CloudDeck__Builds__Executor"] = "docker";
        settings["CloudDeck__Servers__Runtime"] = "docker";
        return settings;
    }

    /// <summary>
    /// The same app listening on all interfaces: in a container, the published port reaches the app at the container's own
    /// address, never its loopback (as on Render or Cloud Run, a containerized app binds 0.0.0.0).
    /// </summary>
    protected override string ServerScript
    {
        get
        {
            const string loopback = "server.listen(port, '127.0.0.1',";
            Assert.Contains(loopback, NodeUpstream.Script, StringComparison.Ordinal);
            return NodeUpstream.Script.Replace(loopback, "server.listen(port, '0.0.0.0',", StringComparison.Ordinal);
        }
    }
}
