using CloudDeck.Testing;

namespace CloudDeck.Deploy.Bench;

/// <summary>What the deploy benches' baselines share: a fresh copy of an app's source and npm run as the platform runs it.</summary>
internal static class NpmRuns
{
    /// <summary>The app's own files into <paramref name="to"/>: no node_modules, no deck link folder.</summary>
    public static void CopySource(string from, string to)
    {
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(from, file);
            if (relative.StartsWith(".clouddeck", StringComparison.Ordinal) || relative.StartsWith("node_modules", StringComparison.Ordinal)) continue;
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(to, relative))!);
            File.Copy(file, Path.Combine(to, relative));
        }
    }

    /// <summary>
    /// npm with the environment the build executor gives builds (CI, no update notifier or funding lines), its own cache,
    /// and <paramref name="extra"/> variables on top.
    /// </summary>
    public static Task<TimedRun> Npm(string directory, string cache, TimeSpan timeout, IReadOnlyDictionary<string, string?>? extra,
        params string[] args)
    {
        var environment = new Dictionary<string, string?>
        {
            ["CI"] = "1",
            ["npm_config_cache"] = cache,
            ["npm_config_update_notifier"] = "false",
            ["npm_config_fund"] = "false",
        };
        foreach (var (name, value) in extra ?? new Dictionary<string, string?>()) environment[name] = value;
        return TimedProcess.RunAsync("npm", args, directory, environment, timeout: timeout);
    }
}
