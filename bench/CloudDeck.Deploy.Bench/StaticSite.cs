using System.Security.Cryptography;
using CloudDeck.Testing;

namespace CloudDeck.Deploy.Bench;

/// <summary>
/// A static site shaped like a built front end: HTML pages, fingerprinted scripts and styles, images, 0.5–50 KiB
/// each. The seed makes every round's bytes its own (so a first deploy stores every file), and runs comparable.
/// </summary>
internal static class StaticSite
{
    public static void Write(string root, int count, int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < count; i++)
        {
            var (path, text) = SyntheticSite.FilePath(random, i);
            var size = random.Next(512, 50 * 1024);
            var full = Path.Combine(root, path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllBytes(full, SyntheticSite.Content(random, size, text));
        }
    }

    /// <summary>Rewrites index.html with <paramref name="marker"/> in it: the one changed file of a redeploy.</summary>
    public static string Touch(string root, string marker)
    {
        var index = Path.Combine(root, "index.html");
        File.WriteAllText(index, $"<!doctype html><title>{marker}</title><p>{marker}</p>\n");
        return index;
    }

    /// <summary>
    /// The unavoidable part of deploying a folder of static files, done directly: read and SHA-256 every file (any
    /// content-addressed deploy must know what changed) and copy the files that are new to a fresh directory (they
    /// have to land somewhere), two at a time like deck hashes. No fsync: a plain copy would not do one either.
    /// </summary>
    public static async Task<double> BaselineAsync(string root, string destination, IReadOnlySet<string>? onlyCopy)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var files = Directory.GetFiles(root, "*", SearchOption.AllDirectories).Where(f => !f.Contains("/.clouddeck/", StringComparison.Ordinal)).ToArray();
        await Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = 2 }, async (file, ct) =>
        {
            var bytes = await File.ReadAllBytesAsync(file, ct);
            var hash = Convert.ToHexStringLower(SHA256.HashData(bytes));
            if (onlyCopy is not null && !onlyCopy.Contains(file)) return;
            var target = Path.Combine(destination, hash[..2], hash[2..]);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            await File.WriteAllBytesAsync(target, bytes, ct);
        });
        return clock.Elapsed.TotalMilliseconds;
    }
}
