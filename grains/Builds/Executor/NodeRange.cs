using System.Globalization;
using System.Text.RegularExpressions;

namespace CloudDeck.Grains.Builds.Executor;

/// <summary>
/// npm's semver ranges as <c>engines.node</c> and <c>.nvmrc</c> write them: <c>||</c>, comparators (<c>&gt;=20.9</c>,
/// <c>&lt;23</c>), caret and tilde, x-ranges (<c>20</c>, <c>20.x</c>, <c>*</c>) and hyphen ranges (<c>18 - 20</c>).
/// Pre-release tags are ignored: Node releases have none.
/// </summary>
public static partial class NodeRange
{
    /// <summary>True when <paramref name="version"/> ("20.20.2" or "v20.20.2") is in <paramref name="range"/>.</summary>
    /// <exception cref="FormatException">The range is not one npm would read.</exception>
    public static bool Satisfies(string range, string version)
    {
        var v = Parse(version.TrimStart('v')) ?? throw new FormatException($"'{version}' is not a version");
        foreach (var alternative in range.Split("||"))
        {
            if (Bounds(alternative.Trim()).All(bound => bound(v))) return true;
        }

        return false;
    }

    private static (int, int, int)? Parse(string text)
    {
        var parts = text.Split('-')[0].Split('.');
        if (parts.Length != 3) return null;
        return int.TryParse(parts[0], CultureInfo.InvariantCulture, out var major) && int.TryParse(parts[1], CultureInfo.InvariantCulture, out var minor)
            && int.TryParse(parts[2], CultureInfo.InvariantCulture, out var patch) ? (major, minor, patch) : null;
    }

    private static List<Func<(int, int, int), bool>> Bounds(string alternative)
    {
        var bounds = new List<Func<(int, int, int), bool>>();
        if (alternative.Length == 0) return bounds;
        if (Hyphen().Match(alternative) is { Success: true } hyphen)
        {
            bounds.AddRange(Comparator(">=", Partial(hyphen.Groups[1].Value)));
            bounds.AddRange(Comparator("<=", Partial(hyphen.Groups[2].Value)));
            return bounds;
        }

        var rest = alternative;
        foreach (Match token in Token().Matches(alternative))
        {
            bounds.AddRange(Comparator(token.Groups[1].Value, Partial(token.Groups[2].Value)));
            rest = rest.Replace(token.Value, "", StringComparison.Ordinal);
        }

        if (rest.Trim().Length > 0) throw new FormatException($"'{alternative}' is not a version range");
        return bounds;
    }

    /// <summary>"20" → (20, null, null); "20.x" → (20, null, null); "*" → (null, null, null).</summary>
    private static (int? Major, int? Minor, int? Patch) Partial(string text)
    {
        var parts = text.TrimStart('v').Split('-')[0].Split('.');
        int? Part(int i) => i < parts.Length && int.TryParse(parts[i], CultureInfo.InvariantCulture, out var n) ? n : null;
        var major = Part(0);
        var minor = major is null ? null : Part(1);
        return (major, minor, minor is null ? null : Part(2));
    }

    private static IEnumerable<Func<(int, int, int), bool>> Comparator(string op, (int? Major, int? Minor, int? Patch) p)
    {
        if (p.Major is not { } major)
        {
            // "*", "x": anything, except "<*", which nothing satisfies.
            if (op is "<" or ">") yield return _ => false;
            yield break;
        }

        var low = (major, p.Minor ?? 0, p.Patch ?? 0);
        // The first version past the partial one: "20" → 21.0.0, "20.1" → 20.2.0, "20.1.2" → 20.1.3.
        var next = p.Minor is null ? (major + 1, 0, 0) : p.Patch is null ? (major, p.Minor.Value + 1, 0) : (major, p.Minor.Value, p.Patch.Value + 1);
        switch (op)
        {
            case "" or "=":
                yield return v => Compare(v, low) >= 0 && Compare(v, next) < 0;
                break;
            case ">=":
                yield return v => Compare(v, low) >= 0;
                break;
            case ">":
                yield return v => Compare(v, next) >= 0;
                break;
            case "<":
                yield return v => Compare(v, low) < 0;
                break;
            case "<=":
                yield return v => Compare(v, next) < 0;
                break;
            case "^":
                var caretEnd = major > 0 || p.Minor is null ? (major + 1, 0, 0) : p.Minor > 0 || p.Patch is null ? (0, p.Minor.Value + 1, 0) : (0, 0, p.Patch.Value + 1);
                yield return v => Compare(v, low) >= 0 && Compare(v, caretEnd) < 0;
                break;
            case "~":
                var tildeEnd = p.Minor is null ? (major + 1, 0, 0) : (major, p.Minor.Value + 1, 0);
                yield return v => Compare(v, low) >= 0 && Compare(v, tildeEnd) < 0;
                break;
        }
    }

    private static int Compare((int, int, int) a, (int, int, int) b) => a.CompareTo(b);

    [GeneratedRegex(@"^v?(\S+)\s+-\s+v?(\S+)$")]
    private static partial Regex Hyphen();

    [GeneratedRegex(@"(<=|>=|<|>|=|\^|~)?\s*(v?(?:\d+|[xX*])(?:\.(?:\d+|[xX*])){0,2}(?:-[0-9A-Za-z.-]+)?)")]
    private static partial Regex Token();
}
