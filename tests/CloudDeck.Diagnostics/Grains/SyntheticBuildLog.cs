using System.Text;
using CloudDeck.GrainInterfaces.Builds;

namespace CloudDeck.Grains.Diagnostics;

/// <summary>
/// The synthetic build's lines: a pure function of the line number and size, so a test can rebuild what it should
/// have received. Streams vary (every 7th line stderr, every 50th system); texts mix 1-, 2-, 3- and 4-byte UTF-8
/// characters, so splitting long lines meets every kind of character boundary.
/// </summary>
public static class SyntheticBuildLog
{
    private const string Filler = "compiling module é ü € ✓ 😀 ok; ";

    public static string StreamOf(int lineNumber) =>
        lineNumber % 50 == 0 ? BuildLogStreams.System
        : lineNumber % 7 == 0 ? BuildLogStreams.Stderr
        : BuildLogStreams.Stdout;

    /// <summary>Exactly <paramref name="lineBytes"/> UTF-8 bytes (at least the line number's prefix).</summary>
    public static string TextOf(int lineNumber, int lineBytes)
    {
        var text = new StringBuilder(lineBytes);
        text.Append(lineNumber.ToString("D6", System.Globalization.CultureInfo.InvariantCulture)).Append(' ');
        var bytes = text.Length;
        for (var i = 0; ; i = (i + 1) % Filler.Length)
        {
            var pair = char.IsHighSurrogate(Filler[i]);
            var unit = pair ? Filler.AsSpan(i, 2) : Filler.AsSpan(i, 1);
            var size = Encoding.UTF8.GetByteCount(unit);
            if (bytes + size > lineBytes) break;
            text.Append(unit);
            bytes += size;
            if (pair) i++;
        }

        // The next character did not fit: pad with ASCII to the exact size.
        return text.Append('.', Math.Max(0, lineBytes - bytes)).ToString();
    }

    public static BuildLogLine Line(int lineNumber, int lineBytes, DateTimeOffset time) =>
        new(time, StreamOf(lineNumber), TextOf(lineNumber, lineBytes));
}
