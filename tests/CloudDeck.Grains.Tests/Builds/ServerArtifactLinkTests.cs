using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.Grains.Artifacts;
using CloudDeck.Grains.Builds.Executor;
using Microsoft.Extensions.Logging.Abstractions;

namespace CloudDeck.Grains.Tests.Builds;

/// <summary>
/// A server artifact keeps its symbolic links as links (node_modules/.bin) and its execute bits, on real files; a link
/// that leaves the artifact, however it gets there (absolute, '..', through another link), is refused naming it.
/// </summary>
public sealed class ServerArtifactLinkTests : IDisposable
{
    private const string Hash = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    private readonly string _root = Directory.CreateTempSubdirectory("clouddeck-links-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static ManifestFile File(string path) => new(path, Hash, 1);

    [Theory]
    [InlineData("node_modules/.bin/next", "../next/dist/bin/next")]
    [InlineData("current", ".")]
    [InlineData("node_modules/.bin/missing", "../gone/cli.js")]
    [InlineData("a/b/c", "../../x/../node_modules")]
    public void Links_that_stay_inside_are_accepted_even_dangling(string path, string target) =>
        Assert.Empty(ManifestValidation.LinkProblems([File("node_modules/next/dist/bin/next")], [new ManifestLink(path, target)]));

    [Theory]
    [InlineData("/etc/passwd", "absolute")]
    [InlineData("../../..", "outside")]
    [InlineData("../../../etc", "outside")]
    public void Links_that_leave_the_artifact_are_refused_naming_the_link(string target, string problem)
    {
        var problems = ManifestValidation.LinkProblems([File("server.js")], [new ManifestLink("node_modules/.bin/evil", target)]);
        var (field, text) = Assert.Single(problems);
        Assert.Equal("links[0].target", field);
        Assert.Contains("node_modules/.bin/evil", text, StringComparison.Ordinal);
        Assert.Contains(problem, text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_link_that_escapes_through_another_link_is_refused_though_its_text_stays_inside()
    {
        // here → "." and then here/../x: as text "x", but the kernel resolves here first, so it is the artifact's parent's x.
        var problems = ManifestValidation.LinkProblems([File("a.js")], [new ManifestLink("here", "."), new ManifestLink("sneaky", "here/../secret")]);
        Assert.Contains(problems, p => p.Field == "links[1].target" && p.Problem.Contains("outside", StringComparison.Ordinal));
        // A loop stays inside, but is refused rather than followed forever.
        Assert.Contains(ManifestValidation.LinkProblems([], [new ManifestLink("a", "b"), new ManifestLink("b", "a/x")]), p => p.Problem.Contains("more than", StringComparison.Ordinal));
    }

    [Fact]
    public void Nothing_may_be_listed_under_a_link_so_placing_never_writes_through_one()
    {
        var problems = ManifestValidation.LinkProblems([File("lib/passwd")], [new ManifestLink("lib", "node_modules")]);
        Assert.Contains(problems, p => p.Problem.Contains("'lib/passwd' lies under the link 'lib'", StringComparison.Ordinal));
        Assert.Contains(ManifestValidation.LinkProblems([File("a")], [new ManifestLink("a", "b")]), p => p.Field == "links[0].path");
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task A_server_output_keeps_its_links_and_execute_bits_through_the_store_and_runs_its_bin_link_once_placed()
    {
        await using var silo = await BuildSilo.StartAsync();
        var log = new BuildLogWriter(silo.Streams.GetStream<BuildLogLine>(BuildLogs.Namespace, BuildIds.New()), TimeProvider.System, NullLogger.Instance);
        var store = new LocalArtifactStore(Path.Combine(_root, "store"));
        var output = Directory.CreateDirectory(Path.Combine(_root, "built")).FullName;
        var cli = Path.Combine(output, "node_modules", "hello", "bin", "hello.sh");
        Directory.CreateDirectory(Path.GetDirectoryName(cli)!);
        System.IO.File.WriteAllText(cli, "#!/bin/sh\necho hello from the bin link\n");
        System.IO.File.SetUnixFileMode(cli, (UnixFileMode)Convert.ToInt32("755", 8));
        Directory.CreateDirectory(Path.Combine(output, "node_modules", ".bin"));
        System.IO.File.CreateSymbolicLink(Path.Combine(output, "node_modules", ".bin", "hello"), "../hello/bin/hello.sh");
        System.IO.File.WriteAllText(Path.Combine(output, "server.js"), "// not executable");

        var collected = await OutputCollector.CollectAsync(output, isProjectRoot: true, store, log, TestContext.Current.CancellationToken, isServer: true);

        Assert.Equal([new ManifestLink("node_modules/.bin/hello", "../hello/bin/hello.sh")], collected.Links);
        Assert.Equal(["node_modules/hello/bin/hello.sh"], collected.Executables);
        Assert.Equal(["node_modules/hello/bin/hello.sh", "server.js"], collected.Files.Select(f => f.Path));

        var placed = Path.Combine(_root, "placed");
        OutputCollector.PlaceServer(collected.Files, collected.Links, collected.Executables, store, placed);
        Assert.Equal("../hello/bin/hello.sh", new FileInfo(Path.Combine(placed, "node_modules", ".bin", "hello")).LinkTarget);
        Assert.Equal(0, (int)(System.IO.File.GetUnixFileMode(Path.Combine(placed, "server.js")) & UnixFileMode.UserExecute));
        await using var run = CloudDeck.Testing.ChildProcess.Start(Path.Combine(placed, "node_modules", ".bin", "hello"), [], new Dictionary<string, string?>(), placed);
        Assert.True(await run.WaitForExitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken));
        Assert.Equal((0, "hello from the bin link"), (run.ExitCode, run.Output.Trim()));

        // A link out of the output fails the collection, naming it; and a manifest that says otherwise is refused at placing.
        System.IO.File.CreateSymbolicLink(Path.Combine(output, "node_modules", ".bin", "passwd"), "../../../../../../../../etc/passwd");
        var refused = await Assert.ThrowsAsync<BuildStepFailedException>(() =>
            OutputCollector.CollectAsync(output, isProjectRoot: true, store, log, TestContext.Current.CancellationToken, isServer: true));
        Assert.Contains("node_modules/.bin/passwd", refused.Message, StringComparison.Ordinal);
        var bad = Assert.Throws<InvalidFieldException>(() => OutputCollector.PlaceServer(collected.Files,
            [new ManifestLink("node_modules/.bin/passwd", "/etc/passwd")], null, store, Path.Combine(_root, "placed-bad")));
        Assert.Equal("links[0].target", bad.Field);
        Assert.False(Directory.Exists(Path.Combine(_root, "placed-bad")));
    }
}
