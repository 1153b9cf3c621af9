using CloudDeck.Testing;

namespace CloudDeck.Cli.Tests;

/// <summary>
/// Issue 14's acceptance for Docker, in the real API process with CloudDeck:Builds:Executor=docker and
/// CloudDeck:Servers:Runtime=docker on a real dockerd (the node image made from this machine's files): the probes of
/// <see cref="IsolationProbeTest"/> find nothing from inside a build's container or a server's.
/// </summary>
[Trait("needs", "docker")]
public sealed class DockerIsolationTests : IsolationProbeTest
{
    /// <summary>The host's address on the container's bridge network: its default gateway.</summary>
    private const string BridgeGateway = "$(ip route | awk '/^default/ {print $3}')";

    [Fact]
    public async Task A_docker_build_that_looks_for_the_platforms_keys_database_processes_other_builds_artifacts_and_cache_reads_none_of_it()
    {
        var (log, secrets) = await ProbeBuildAsync(await SettingsAsync(), BridgeGateway);

        AssertFoundNothing(log, secrets, $"ls: {DataDirectory}: No such file or directory");
        Assert.Contains("Docker: every command runs in a container of its own", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_app_container_that_looks_for_the_same_things_reads_none_of_it()
    {
        var (runtime, secrets) = await ProbeServerAsync(await SettingsAsync(), BridgeGateway);

        AssertFoundNothing(runtime, secrets, $"ls: {DataDirectory}: No such file or directory");
        Assert.Contains("in a Docker container (", runtime, StringComparison.Ordinal);
    }

    private static async Task<Dictionary<string, string?>> SettingsAsync()
    {
        var (daemon, image) = await NeedDocker.ImageAsync();
        var settings = NeedDocker.Environment(daemon, image);
        settings["CloudDeck__Builds__Executor"] = "docker";
        settings["CloudDeck__Servers__Runtime"] = "docker";
        return settings;
    }
}
