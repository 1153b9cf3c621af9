using CloudDeck.Grains.Builds.Executor;

namespace CloudDeck.Grains.Tests.Builds;

/// <summary>engines.node and .nvmrc read as npm reads ranges, and the choice among this machine's real Node installs.</summary>
public sealed class NodeVersionTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("clouddeck-node-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData(">=18.17.0", "20.20.2", true)]
    [InlineData(">=22", "20.20.2", false)]
    [InlineData("^20.9.0", "20.20.2", true)]
    [InlineData("^20.9.0", "21.0.0", false)]
    [InlineData("~20.20.0", "20.20.2", true)]
    [InlineData("~20.19", "20.20.2", false)]
    [InlineData("20.x", "20.1.0", true)]
    [InlineData("20", "20.20.2", true)]
    [InlineData("20", "22.1.0", false)]
    [InlineData("18 || 20", "20.0.0", true)]
    [InlineData("18 || 22", "20.0.0", false)]
    [InlineData(">=18 <21", "20.20.2", true)]
    [InlineData(">= 18 < 20", "20.0.0", false)]
    [InlineData("18 - 20", "20.5.0", true)]
    [InlineData("18 - 20.4", "20.5.0", false)]
    [InlineData("*", "20.0.0", true)]
    [InlineData(">20", "20.9.0", false)]
    [InlineData("<=20", "20.9.0", true)]
    [InlineData("v20.20.2", "20.20.2", true)]
    public void Ranges_are_read_as_npm_reads_them(string range, string version, bool fits) => Assert.Equal(fits, NodeRange.Satisfies(range, version));

    [Fact]
    public void A_range_npm_would_not_read_is_refused() => Assert.Throws<FormatException>(() => NodeRange.Satisfies("twenty", "20.0.0"));

    [Fact]
    public async Task The_machines_node_is_chosen_when_it_fits_and_a_major_it_lacks_fails_naming_what_was_asked_and_what_there_is()
    {
        var versions = new NodeVersions([], Environment.GetEnvironmentVariable("PATH")!);
        var installs = await versions.InstallsAsync();
        Need.Component(installs.Count == 0 ? "node is not on PATH: install nodejs" : null);
        var current = installs[0];

        var none = await versions.ChooseAsync(_root, null);
        Assert.Equal(current, none.Install);
        Assert.Contains("asks for no version", none.Reason, StringComparison.Ordinal);

        File.WriteAllText(Path.Combine(_root, "package.json"), "{\"engines\":{\"node\":\">=" + current.Major + "\"}}");
        var engines = await versions.ChooseAsync(_root, PackageInfo.Read(_root));
        Assert.Equal((current, $"package.json engines.node asks for '>={current.Major}'"), (engines.Install, engines.Reason));

        // .nvmrc is the more specific request and wins over engines.node.
        File.WriteAllText(Path.Combine(_root, ".nvmrc"), $"v{current.Major + 70}\n");
        var missing = await Assert.ThrowsAsync<BuildStepFailedException>(() => versions.ChooseAsync(_root, PackageInfo.Read(_root)));
        Assert.Contains($".nvmrc asks for Node.js '{current.Major + 70}'", missing.Message, StringComparison.Ordinal);
        Assert.Contains(current.Version, missing.Message, StringComparison.Ordinal);
        Assert.Contains("CloudDeck:Builds:NodeInstalls", missing.Message, StringComparison.Ordinal);

        File.WriteAllText(Path.Combine(_root, ".nvmrc"), "lts/*\n");
        Assert.Equal(current, (await versions.ChooseAsync(_root, null)).Install);
    }
}
