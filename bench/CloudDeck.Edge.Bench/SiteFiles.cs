using System.Security.Cryptography;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.Testing;

namespace CloudDeck.Edge.Bench;

/// <summary>
/// A static site of <c>count</c> files shaped like a built front end: a few HTML pages, fingerprinted scripts and
/// styles, and images, 0.5–48 KiB each (a handful larger, sent from disk). Content is seeded, so runs compare.
/// </summary>
/// <summary>A bench site on disk: its files, its manifest as JSON (for the edge host) and its paths (for wrk).</summary>
internal sealed record BenchSite(string Root, DeploymentManifest Manifest, string ManifestFile, string PathsFile);

internal static class SiteFiles
{
    /// <summary>Writes <paramref name="count"/> files under <c>work/site</c>, with <c>manifest.json</c> and <c>paths.txt</c> beside it.</summary>
    public static async Task<BenchSite> WriteSiteAsync(string work, int count)
    {
        var root = Path.Combine(work, "site");
        var manifest = Write(root, count);
        var manifestFile = Path.Combine(work, "manifest.json");
        await File.WriteAllTextAsync(manifestFile, System.Text.Json.JsonSerializer.Serialize(manifest));
        var pathsFile = Path.Combine(work, "paths.txt");
        await File.WriteAllLinesAsync(pathsFile, manifest.Files.Select(f => "/" + f.Path));
        return new BenchSite(root, manifest, manifestFile, pathsFile);
    }

    public static DeploymentManifest Write(string root, int count)
    {
        var random = new Random(6);
        var files = new List<ManifestFile>(count);
        for (var i = 0; i < count; i++)
        {
            var (path, text) = SyntheticSite.FilePath(random, i);
            var size = i % 200 == 199 ? random.Next(1_200_000, 2_000_000) : random.Next(512, 48 * 1024);
            var bytes = SyntheticSite.Content(random, size, text);
            var full = Path.Combine(root, path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllBytes(full, bytes);
            files.Add(new ManifestFile(path, Convert.ToHexStringLower(SHA256.HashData(bytes)), bytes.Length));
        }

        return new DeploymentManifest(files, null);
    }
}
