using System.Security.Cryptography;
using System.Text;

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
            var (path, text) = (i % 10) switch
            {
                0 => (i == 0 ? "index.html" : $"pages/page-{i}.html", true),
                1 or 2 or 3 => ($"assets/chunk-{i}-{Hex(random, 8)}.js", true),
                4 or 5 => ($"assets/style-{i}-{Hex(random, 8)}.css", true),
                _ => ($"images/photo-{i}.png", false),
            };
            var size = random.Next(512, 50 * 1024);
            var full = Path.Combine(root, path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllBytes(full, text ? Text(random, size) : Bytes(random, size));
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
