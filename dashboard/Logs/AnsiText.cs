using System.Text;

namespace CloudDeck.Dashboard.Logs;

/// <summary>A run of log text in one style: CSS classes for its SGR colour and weight (null when plain).</summary>
public readonly record struct AnsiSegment(string Text, string? Classes);

/// <summary>
/// Splits a log line at its ANSI escape sequences: SGR (<c>ESC[…m</c>) sets the style of what follows, as a terminal
/// would show it (the 8 colours and their bright forms, foreground and background, bold, dim, italic, underline); every
/// other escape sequence is dropped, so no control character reaches the page. Text stays text: the page encodes it.
/// </summary>
public static class AnsiText
{
    private const char Escape = '\u001b';

    public static IReadOnlyList<AnsiSegment> Parse(string line)
    {
        if (line.IndexOf(Escape) < 0) return [new AnsiSegment(StripControls(line), null)];
        var segments = new List<AnsiSegment>();
        var style = new Style();
        var text = new StringBuilder();
        for (var i = 0; i < line.Length; i++)
        {
            if (line[i] != Escape)
            {
                if (!char.IsControl(line[i]) || line[i] == '\t') text.Append(line[i]);
                continue;
            }

            if (i + 1 < line.Length && line[i + 1] == '[')
            {
                // CSI: parameters, then one final byte in @–~.
                var end = i + 2;
                while (end < line.Length && line[end] is < '@' or > '~') end++;
                if (end < line.Length && line[end] == 'm')
                {
                    Flush(segments, text, style);
                    style = style.Apply(line.AsSpan(i + 2, end - i - 2));
                }

                i = end;
            }
            else
            {
                i++; // a two-character escape: drop both
            }
        }

        Flush(segments, text, style);
        return segments;
    }

    private static void Flush(List<AnsiSegment> segments, StringBuilder text, Style style)
    {
        if (text.Length == 0) return;
        segments.Add(new AnsiSegment(text.ToString(), style.Classes()));
        text.Clear();
    }

    private static string StripControls(string line) =>
        line.Any(c => char.IsControl(c) && c != '\t') ? new string([.. line.Where(c => !char.IsControl(c) || c == '\t')]) : line;

    private readonly record struct Style(int? Foreground = null, int? Background = null, bool Bold = false, bool Dim = false, bool Italic = false, bool Underline = false)
    {
        public Style Apply(ReadOnlySpan<char> parameters)
        {
            var style = this;
            if (parameters.IsEmpty) return new Style();
            foreach (var range in parameters.Split(';'))
            {
                var part = parameters[range];
                if (!int.TryParse(part, out var code)) code = 0;
                style = code switch
                {
                    0 => new Style(),
                    1 => style with { Bold = true },
                    2 => style with { Dim = true },
                    3 => style with { Italic = true },
                    4 => style with { Underline = true },
                    22 => style with { Bold = false, Dim = false },
                    23 => style with { Italic = false },
                    24 => style with { Underline = false },
                    >= 30 and <= 37 => style with { Foreground = code - 30 },
                    39 => style with { Foreground = null },
                    >= 40 and <= 47 => style with { Background = code - 40 },
                    49 => style with { Background = null },
                    >= 90 and <= 97 => style with { Foreground = code - 90 + 8 },
                    >= 100 and <= 107 => style with { Background = code - 100 + 8 },
                    _ => style, // 256-colour and true-colour forms: shown in the default colour
                };
            }

            return style;
        }

        public string? Classes()
        {
            var classes = new List<string>(4);
            if (Foreground is { } fg) classes.Add($"ansi-fg-{fg}");
            if (Background is { } bg) classes.Add($"ansi-bg-{bg}");
            if (Bold) classes.Add("ansi-bold");
            if (Dim) classes.Add("ansi-dim");
            if (Italic) classes.Add("ansi-italic");
            if (Underline) classes.Add("ansi-underline");
            return classes.Count == 0 ? null : string.Join(' ', classes);
        }
    }
}
