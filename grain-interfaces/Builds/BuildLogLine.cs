using System.Text;

namespace CloudDeck.GrainInterfaces.Builds;

/// <summary>
/// One line of a build's log, as stored in the build's log stream. Its line number is its position in the stream
/// (line n is sequence token n), so it is not repeated here. <paramref name="Stream"/> is one of <see cref="BuildLogStreams"/>.
/// </summary>
[GenerateSerializer, Immutable, Alias("clouddeck.BuildLogLine")]
public sealed record BuildLogLine(DateTimeOffset Time, string Stream, string Text);

/// <summary>Where a log line came from: the build's standard output, its standard error, or CloudDeck itself.</summary>
public static class BuildLogStreams
{
    public const string Stdout = "stdout";
    public const string Stderr = "stderr";
    public const string System = "system";

    public static readonly IReadOnlyList<string> All = [Stdout, Stderr, System];

    public static bool IsValid(string? stream) => stream is Stdout or Stderr or System;
}

/// <summary>The build logs' stream namespace, and the rule that keeps every line a size clients can take.</summary>
public static class BuildLogs
{
    /// <summary>Streams of this namespace are keyed by build id.</summary>
    public const string Namespace = "build-logs";

    /// <summary>The most UTF-8 bytes of text one line carries (16 KiB); longer output is split into several lines.</summary>
    public const int MaxLineBytes = 16 * 1024;

    /// <summary>
    /// The line, or the several lines it becomes when its text is longer than <paramref name="maxBytes"/> UTF-8 bytes.
    /// Splits fall between characters, never inside a UTF-8 sequence or a surrogate pair, so every piece is valid text and
    /// the pieces joined are the original text. An empty text stays one empty line.
    /// </summary>
    public static IEnumerable<BuildLogLine> Split(BuildLogLine line, int maxBytes = MaxLineBytes)
    {
        ArgumentNullException.ThrowIfNull(line);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 4);
        if (line.Text.Length <= maxBytes / 3 || Encoding.UTF8.GetByteCount(line.Text) <= maxBytes)
        {
            // A char encodes to at most 3 bytes (a surrogate pair's 4 bytes come from 2 chars), so short texts skip the count.
            yield return line;
            yield break;
        }

        var text = line.Text;
        var start = 0;
        var bytes = 0;
        for (var i = 0; i < text.Length;)
        {
            var pair = char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]);
            var width = pair ? 2 : 1;
            var size = pair ? 4 : Utf8Size(text[i]);
            if (bytes + size > maxBytes)
            {
                yield return line with { Text = text[start..i] };
                start = i;
                bytes = 0;
            }

            bytes += size;
            i += width;
        }

        yield return line with { Text = text[start..] };
    }

    /// <summary>UTF-8 bytes of one char that is not half of a surrogate pair (a lone surrogate becomes U+FFFD: 3 bytes).</summary>
    private static int Utf8Size(char c) => c switch
    {
        < '\u0080' => 1,
        < '\u0800' => 2,
        _ => 3,
    };
}
