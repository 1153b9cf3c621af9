using System.Security.Cryptography;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.Testing;

namespace CloudDeck.Edge.Bench;

/// <summary>
/// A static site of <c>count</c> files shaped like a built front end: a few HTML pages, fingerprinted scripts and
/// styles, and images, 0.5–48 KiB each (a handful larger, sent from disk). Content is seeded, so runs compare.
/// </summary>
internal static class SiteFiles
{
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
