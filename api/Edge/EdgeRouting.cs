using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace CloudDeck.Api.Edge;

/// <summary>
/// The routing config of a deployment, from the <c>clouddeck.json</c> in its project (Vercel's shape, a subset):
/// <code>
/// { "spa": true, "cleanUrls": true,
///   "redirects": [{ "source": "/old/:path*", "destination": "/new/:path*", "permanent": true }],
///   "rewrites":  [{ "source": "/app/:rest*", "destination": "/app/index.html" }],
///   "headers":   [{ "source": "/assets/(.*)", "headers": [{ "key": "X-Frame-Options", "value": "DENY" }] }] }
/// </code>
/// Sources are paths with <c>:name</c> (one segment), <c>:name*</c> (the rest) and regex groups; destinations use
/// <c>:name</c> and <c>$1</c>. Patterns run with the non-backtracking engine: a deployment's config cannot stall the edge.
/// </summary>
public sealed class EdgeRouting
{
    public const int MaxRules = 1024;

    public static readonly EdgeRouting Empty = new();

    public bool? Spa { get; private init; }

    public bool CleanUrls { get; private init; }

    public IReadOnlyList<Redirect> Redirects { get; private init; } = [];

    public IReadOnlyList<Rewrite> Rewrites { get; private init; } = [];

    public IReadOnlyList<HeaderRule> Headers { get; private init; } = [];

    public sealed record Redirect(RoutePattern Source, string Destination, int Status);

    public sealed record Rewrite(RoutePattern Source, string Destination);

    public sealed record HeaderRule(RoutePattern Source, IReadOnlyList<KeyValuePair<string, string>> Values);

    /// <exception cref="FormatException">The config is not valid; the message names the field.</exception>
    public static EdgeRouting Parse(string? json)
    {
        if (string.IsNullOrWhiteSpace(json)) return Empty;
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw new FormatException("clouddeck.json must be a JSON object");
        return new EdgeRouting
        {
            Spa = Bool(root, "spa"),
            CleanUrls = Bool(root, "cleanUrls") ?? false,
            Redirects = Rules(root, "redirects", (item, at) =>
            {
                var status = item.TryGetProperty("statusCode", out var code) && code.TryGetInt32(out var number) ? number
                    : Bool(item, "permanent") is false ? 307 : 308;
                if (status is not (301 or 302 or 303 or 307 or 308)) throw new FormatException($"{at}.statusCode must be 301, 302, 303, 307 or 308");
                return new Redirect(Pattern(item, at), Text(item, "destination", at), status);
            }),
            Rewrites = Rules(root, "rewrites", (item, at) => new Rewrite(Pattern(item, at), Text(item, "destination", at))),
            Headers = Rules(root, "headers", (item, at) =>
            {
                if (!item.TryGetProperty("headers", out var list) || list.ValueKind != JsonValueKind.Array) throw new FormatException($"{at}.headers must be an array");
                var values = list.EnumerateArray().Select((h, i) =>
                {
                    var key = Text(h, "key", $"{at}.headers[{i}]");
                    var value = Text(h, "value", $"{at}.headers[{i}]");
                    if (key.Any(c => c <= ' ' || c >= 127 || c == ':') || value.Any(c => c < ' ' && c != '\t')) throw new FormatException($"{at}.headers[{i}] is not a valid header");
                    return KeyValuePair.Create(key, key.Equals("Set-Cookie", StringComparison.OrdinalIgnoreCase) ? HostOnlyCookie(value) : value);
                }).ToList();
                return new HeaderRule(Pattern(item, at), values);
            }),
        };
    }

    /// <summary>
    /// The cookie without any Domain attribute, so it is set for the host that served it and nothing wider: a
    /// <c>Domain=&lt;base domain&gt;</c> would reach every other tenant's site and the API's host.
    /// </summary>
    public static string HostOnlyCookie(string setCookie) => string.Join("; ", setCookie.Split(';')
        .Where(part => !part.Split('=', 2)[0].Trim().Equals("Domain", StringComparison.OrdinalIgnoreCase))
        .Select(part => part.Trim()));

    private static bool? Bool(JsonElement item, string name) => item.TryGetProperty(name, out var value) && value.ValueKind is JsonValueKind.True or JsonValueKind.False
        ? value.GetBoolean()
        : null;

    private static string Text(JsonElement item, string name, string at) =>
        item.ValueKind == JsonValueKind.Object && item.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text
            ? text
            : throw new FormatException($"{at}.{name} must be a non-empty string");

    private static RoutePattern Pattern(JsonElement item, string at) => RoutePattern.Compile(Text(item, "source", at), $"{at}.source");

    private static List<T> Rules<T>(JsonElement root, string name, Func<JsonElement, string, T> read)
    {
        if (!root.TryGetProperty(name, out var list)) return [];
        if (list.ValueKind != JsonValueKind.Array || list.GetArrayLength() > MaxRules) throw new FormatException($"{name} must be an array of at most {MaxRules} rules");
        return [.. list.EnumerateArray().Select((item, i) => read(item, $"{name}[{i}]"))];
    }
}

/// <summary>A source path pattern compiled to an anchored regular expression, and the substitution of its captures.</summary>
public sealed class RoutePattern
{
    private readonly Regex _regex;

    private RoutePattern(Regex regex) => _regex = regex;

    public static RoutePattern Compile(string source, string field)
    {
        if (!source.StartsWith('/')) throw new FormatException($"{field} must start with '/'");
        var pattern = new StringBuilder("^");
        for (var i = 0; i < source.Length; i++)
        {
            var c = source[i];
            if (c == ':' && i + 1 < source.Length && char.IsAsciiLetter(source[i + 1]))
            {
                var start = ++i;
                while (i < source.Length && (char.IsAsciiLetterOrDigit(source[i]) || source[i] == '_')) i++;
                var name = source[start..i];
                var rest = i < source.Length && source[i] is '*' or '+' ? source[i] : '\0';
                pattern.Append($"(?<{name}>").Append(rest switch { '*' => ".*", '+' => ".+", _ => "[^/]+" }).Append(')');
                if (rest == '\0') i--;
            }
            else if (c is '(' or ')' or '|' or '?' or '[' or ']' or '\\' or '{' or '}' or '^' or '$' or '+' or '.' || (c == '*' && i > 0 && source[i - 1] is ')' or ']' or '.'))
            {
                // Regex syntax inside the source is kept, as Vercel does ("/(.*)", "/blog/(\\d+)").
                pattern.Append(c);
            }
            else if (c == '*')
            {
                pattern.Append("(.*)");
            }
            else
            {
                pattern.Append(Regex.Escape(c.ToString()));
            }
        }

        pattern.Append('$');
        try
        {
            return new RoutePattern(new Regex(pattern.ToString(), RegexOptions.NonBacktracking | RegexOptions.CultureInvariant));
        }
        catch (ArgumentException e)
        {
            throw new FormatException($"{field} is not a valid pattern ({e.Message})", e);
        }
    }

    public Match Match(string path) => _regex.Match(path);

    /// <summary><paramref name="destination"/> with <c>:name</c> and <c>$1</c> replaced by what <paramref name="match"/> captured.</summary>
    public string Substitute(Match match, string destination)
    {
        var result = Regex.Replace(destination, @"\$(\d)", m => match.Groups[int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)].Value);
        foreach (var name in _regex.GetGroupNames())
        {
            if (char.IsAsciiLetter(name[0])) result = result.Replace($":{name}*", match.Groups[name].Value).Replace($":{name}+", match.Groups[name].Value).Replace($":{name}", match.Groups[name].Value);
        }

        return result;
    }
}
