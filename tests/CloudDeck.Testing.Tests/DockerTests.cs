using Docker.DotNet.Models;

namespace CloudDeck.Testing.Tests;

/// <summary>The Docker test helpers: a dockerd found or started, and the node image imported from this machine's files.</summary>
public sealed class DockerTests
{
    [Fact]
    public async Task The_node_image_made_from_this_machines_files_runs_node_npm_git_and_busybox_as_a_non_root_user()
    {
        var (daemon, image) = await NeedDocker.ImageAsync();
        Assert.StartsWith(NodeImage.Repository + ":", image, StringComparison.Ordinal);
        // Cached by tag: asking again imports nothing and answers the same image.
        Assert.Equal(image, await NodeImage.EnsureAsync(daemon));

        using var client = daemon.CreateClient();
        var created = await client.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Image = image, User = "10001:10001", Entrypoint = ["/bin/sh", "-c"],
            Cmd = ["node -e 'console.log(\"node \" + process.version)'; npm --version; git --version; echo \"uid=$(id -u)\"; ls /etc/ssl/certs"],
            HostConfig = new HostConfig { NetworkMode = "none", ReadonlyRootfs = true, CapDrop = ["ALL"] },
        }, TestContext.Current.CancellationToken);
        try
        {
            await client.Containers.StartContainerAsync(created.ID, new ContainerStartParameters(), TestContext.Current.CancellationToken);
            var exit = await client.Containers.WaitContainerAsync(created.ID, TestContext.Current.CancellationToken);
            using var logs = await client.Containers.GetContainerLogsAsync(created.ID, tty: false,
                new ContainerLogsParameters { ShowStdout = true, ShowStderr = true }, TestContext.Current.CancellationToken);
            var (stdout, stderr) = await logs.ReadOutputToEndAsync(TestContext.Current.CancellationToken);
            Assert.True(exit.StatusCode == 0, $"exit {exit.StatusCode}: {stdout}\n{stderr}");
            await using var host = ChildProcess.Start(NodeHarness.Node!, ["--version"]);
            await host.WaitForExitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
            Assert.Contains("node " + host.Output.Trim(), stdout, StringComparison.Ordinal);
            Assert.Matches(@"(?m)^\d+\.\d+\.\d+$", stdout);
            Assert.Contains("git version ", stdout, StringComparison.Ordinal);
            Assert.Contains("uid=10001", stdout, StringComparison.Ordinal);
            Assert.Contains("ca-certificates.crt", stdout, StringComparison.Ordinal);
        }
        finally
        {
            await client.Containers.RemoveContainerAsync(created.ID, new ContainerRemoveParameters { Force = true }, TestContext.Current.CancellationToken);
        }
    }
}
