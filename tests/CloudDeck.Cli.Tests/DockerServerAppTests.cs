using CloudDeck.Api.Tests.Edge;
using CloudDeck.Testing;
using Docker.DotNet.Models;

namespace CloudDeck.Cli.Tests;

/// <summary>
/// Every server app test of <see cref="ServerAppTests"/> with the app built and run in Docker (CloudDeck:Builds:Executor and
/// CloudDeck:Servers:Runtime docker, on a real dockerd with the node image made from this machine's files): it answers
/// HTTP and WebSocket through the edge at its production URL, swaps under load with no failed request, keeps production
/// when a new one never gets healthy, a SIGKILLed container is restarted, and one past its disk limit starts again.
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

    /// <summary>The container's limits are Docker's: nothing more to have.</summary>
    protected override string? MissingDiskLimit => null;

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
