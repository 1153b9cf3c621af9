using System.Security.Cryptography;
using System.Text;
using CloudDeck.GrainInterfaces.Deployments;

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
            var (path, text) = (i % 10) switch
            {
                0 => (i == 0 ? "index.html" : $"pages/page-{i}.html", true),
                1 or 2 or 3 => ($"assets/chunk-{i}-{Hex(random, 8)}.js", true),
                4 or 5 => ($"assets/style-{i}-{Hex(random, 8)}.css", true),
                _ => ($"images/photo-{i}.png", false),
            };
            var size = i % 200 == 199 ? random.Next(1_200_000, 2_000_000) : random.Next(512, 48 * 1024);
            var bytes = text ? Text(random, size) : Bytes(random, size);
            var full = Path.Combine(root, path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllBytes(full, bytes);
            files.Add(new ManifestFile(path, Convert.ToHexStringLower(SHA256.HashData(bytes)), bytes.Length));
        }

        return new DeploymentManifest(files, null);
    }

    private static string Hex(Random random, int length) => Convert.ToHexStringLower(Bytes(random, length / 2));

    private static byte[] Bytes(Random random, int size)
    {
        var bytes = new byte[size];
        random.NextBytes(bytes);
        return bytes;
    }

    private static byte[] Text(Random random, int size)
    {
        string[] words = ["const", "function", "return", "export", "import", "value", "render", "props", "state", "=>", "{", "}", ";", "div", "class"];
        var builder = new StringBuilder(size + 16);
        while (builder.Length < size) builder.Append(words[random.Next(words.Length)]).Append(random.Next(3) == 0 ? '\n' : ' ');
        return Encoding.UTF8.GetBytes(builder.ToString(0, size));
    }
}
