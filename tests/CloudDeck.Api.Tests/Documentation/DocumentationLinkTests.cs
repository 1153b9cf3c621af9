using System.Text;
using System.Text.RegularExpressions;

namespace CloudDeck.Api.Tests.Documentation;

/// <summary>
/// README.md and docs/*.md: every relative link reaches a file of the repository, and every <c>#anchor</c> a heading
/// (GitHub's slug of it) or an <c>&lt;a id&gt;</c> of the page it names; the README stays a quick start.
/// </summary>
public sealed partial class DocumentationLinkTests
{
    /// <summary>The issue's bound: what a newcomer needs, the rest in docs/.</summary>
    private const int MaxReadmeBytes = 12 * 1024;

    [Fact]
    public void Every_relative_link_in_the_README_and_docs_resolves_to_a_file_and_anchor_of_the_repository()
    {
        var root = RepoPaths.Root;
        var pages = new[] { Path.Combine(root, "README.md") }.Concat(Directory.GetFiles(Path.Combine(root, "docs"), "*.md").Order()).ToList();
        var failures = new List<string>();
        var checkedLinks = 0;
        foreach (var page in pages)
        {
            foreach (var (line, target) in Links(File.ReadAllLines(page)))
            {
                var at = $"{Path.GetRelativePath(root, page)}:{line} ({target})";
                var (file, anchor) = target.Split('#', 2) is [var path, var fragment] ? (path, fragment) : (target, null);
                var resolved = file.Length == 0 ? page : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(page)!, Uri.UnescapeDataString(file)));
                checkedLinks++;
                if (!resolved.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                {
                    failures.Add($"{at}: leads outside the repository");
                }
                else if (!File.Exists(resolved) && !Directory.Exists(resolved))
                {
                    failures.Add($"{at}: {Path.GetRelativePath(root, resolved)} does not exist");
                }
                else if (anchor is { Length: > 0 } && resolved.EndsWith(".md", StringComparison.Ordinal) && !Anchors(resolved).Contains(anchor))
                {
                    failures.Add($"{at}: {Path.GetRelativePath(root, resolved)} has no heading or anchor '#{anchor}'");
                }
            }
        }

        Assert.True(checkedLinks > 50, $"Only {checkedLinks} relative links were found: is the link pattern still right?");
        Assert.True(failures.Count == 0, "Broken links in the documentation:\n" + string.Join("\n", failures));
    }

    [Fact]
    public void The_README_stays_within_12_KB()
    {
        var bytes = new FileInfo(Path.Combine(RepoPaths.Root, "README.md")).Length;
        Assert.True(bytes <= MaxReadmeBytes, $"README.md is {bytes} bytes; keep it a quick start (at most {MaxReadmeBytes}) and move the rest to docs/.");
    }

    /// <summary>Relative Markdown links <c>[text](target)</c> outside code blocks and code spans, with their line numbers.</summary>
    private static IEnumerable<(int Line, string Target)> Links(string[] lines)
    {
        var fenced = false;
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                fenced = !fenced;
                continue;
            }

            if (fenced) continue;
            foreach (Match link in Link().Matches(CodeSpan().Replace(lines[i], "")))
            {
                var target = link.Groups["target"].Value;
                if (!Scheme().IsMatch(target)) yield return (i + 1, target);
            }
        }
    }

    /// <summary>The anchors GitHub makes of a page's headings (duplicates get -1, -2, …), and explicit <c>&lt;a id&gt;</c>s.</summary>
    private static HashSet<string> Anchors(string page)
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        var fenced = false;
        foreach (var line in File.ReadLines(page))
        {
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal)) fenced = !fenced;
            if (fenced) continue;
            if (Heading().Match(line) is { Success: true } heading)
            {
                var slug = Slug(heading.Groups["text"].Value);
                var count = seen.GetValueOrDefault(slug);
                seen[slug] = count + 1;
                anchors.Add(count == 0 ? slug : $"{slug}-{count}");
            }

            foreach (Match explicitAnchor in ExplicitAnchor().Matches(line)) anchors.Add(explicitAnchor.Groups["id"].Value);
        }

        return anchors;
    }

    /// <summary>GitHub's rule: lower case, punctuation dropped (letters, digits, '-' and '_' stay), spaces become '-'.</summary>
    private static string Slug(string heading)
    {
        var slug = new StringBuilder();
        foreach (var c in LinkText().Replace(heading.Trim(), "${text}").ToLowerInvariant())
        {
            if (char.IsLetterOrDigit(c) || c is '-' or '_') slug.Append(c);
            else if (c == ' ') slug.Append('-');
        }

        return slug.ToString();
    }

    [GeneratedRegex(@"\[[^\]]*\]\((?<target>[^)\s]+)(\s+""[^""]*"")?\)")]
    private static partial Regex Link();

    [GeneratedRegex(@"\[(?<text>[^\]]*)\]\([^)]*\)")]
    private static partial Regex LinkText();

    [GeneratedRegex(@"`[^`]*`")]
    private static partial Regex CodeSpan();

    [GeneratedRegex(@"^[a-zA-Z][a-zA-Z0-9+.-]*:")]
    private static partial Regex Scheme();

    [GeneratedRegex(@"^#{1,6}\s+(?<text>.+?)\s*#*\s*$")]
    private static partial Regex Heading();

    [GeneratedRegex(@"<a\s+(?:id|name)=""(?<id>[^""]+)""")]
    private static partial Regex ExplicitAnchor();
}
