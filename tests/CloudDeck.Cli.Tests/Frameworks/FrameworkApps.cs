using CloudDeck.Testing;

namespace CloudDeck.Cli.Tests.Frameworks;

/// <summary>
/// Installing the framework apps (<see cref="NextApp"/>, <see cref="MoreFrameworkApps"/>) from the npm registry with the
/// test process's npm and its one shared cache (so the lockfile is real, and a second app of the same dependencies
/// costs no download).
/// </summary>
internal static class FrameworkApps
{
    /// <summary>`npm install` as a developer runs it (a full install: a lockfile-only one leaves platform packages out).</summary>
    public static async Task InstallAsync(string directory, CancellationToken cancellation)
    {
        await using var npm = ChildProcess.Start("npm", ["install", "--no-audit", "--no-fund", "--cache", NodeHarness.NpmCache],
            new Dictionary<string, string?> { ["NO_UPDATE_NOTIFIER"] = "1" }, directory);
        Assert.True(await npm.WaitForExitAsync(TimeSpan.FromMinutes(5), cancellation), $"npm install did not finish:\n{npm.Output}");
        Assert.True(npm.ExitCode == 0, $"npm install exited {npm.ExitCode}:\n{npm.Output}");
    }
}
