using System.Text;

namespace CloudDeck.Testing;

/// <summary>
/// Files shaped like a built front end (HTML pages, fingerprinted JS and CSS, PNG-sized binaries), drawn from a seeded
/// <see cref="Random"/> so a bench can write the same site again or a fresh one.
/// </summary>
public static class SyntheticSite
{
    private static readonly string[] Words = ["const", "function", "return", "export", "import", "value", "render", "props", "state", "=>", "{", "}", ";", "div", "class"];

    /// <summary>The path of the <paramref name="index"/>-th file (0 is index.html) and whether its content is text.</summary>
    public static (string Path, bool IsText) FilePath(Random random, int index) => (index % 10) switch
    {
        0 => (index == 0 ? "index.html" : $"pages/page-{index}.html", true),
        1 or 2 or 3 => ($"assets/chunk-{index}-{Hex(random, 8)}.js", true),
        4 or 5 => ($"assets/style-{index}-{Hex(random, 8)}.css", true),
        _ => ($"images/photo-{index}.png", false),
    };

    /// <summary><paramref name="size"/> bytes: code-like words and newlines for text, random bytes otherwise.</summary>
    public static byte[] Content(Random random, int size, bool text)
    {
        if (!text) return Bytes(random, size);
        var builder = new StringBuilder(size + 16);
        while (builder.Length < size) builder.Append(Words[random.Next(Words.Length)]).Append(random.Next(3) == 0 ? '\n' : ' ');
        return Encoding.UTF8.GetBytes(builder.ToString(0, size));
    }

    private static string Hex(Random random, int length) => Convert.ToHexStringLower(Bytes(random, length / 2));

    private static byte[] Bytes(Random random, int size)
    {
        var bytes = new byte[size];
        random.NextBytes(bytes);
        return bytes;
    }
}
