namespace CloudDeck.GrainInterfaces.Deployments;

/// <summary>
/// The rules every manifest obeys wherever it comes from (an upload, a build's output), checked before anything is
/// stored: a path that escapes the deployment root, or two entries for one path, would make the edge serve the wrong
/// bytes. Shared by the upload endpoints, the deployment grain and the build executor.
/// </summary>
public static class ManifestValidation
{
    public const int MaxPathLength = 1024;
    public const int MaxFiles = 100_000;
    public const string HashRule = "must be a SHA-256 as 64 lower-case hex digits";

    public static bool IsSha256(string? value) =>
        value is { Length: 64 } && value.AsSpan().IndexOfAnyExcept("0123456789abcdef") < 0;

    /// <summary>Why <paramref name="path"/> cannot name a file of a deployment, or null when it can.</summary>
    public static string? PathProblem(string? path)
    {
        if (string.IsNullOrEmpty(path)) return "must not be empty";
        if (path.Length > MaxPathLength) return $"must be at most {MaxPathLength} characters";
        if (path.Any(char.IsControl)) return "must not contain control characters";
        if (path.Contains('\\')) return "must use '/' as separator, not '\\'";
        if (path[0] == '/' || (path.Length >= 2 && char.IsAsciiLetter(path[0]) && path[1] == ':')) return "must be relative (not absolute)";
        foreach (var segment in path.Split('/'))
        {
            if (segment.Length == 0) return "must not contain empty segments ('//' or a trailing '/')";
            if (segment is "." or "..") return "must not contain '.' or '..' segments";
        }

        return null;
    }

    /// <summary>Every problem of <paramref name="files"/>, each named like <c>files[3].path</c>; empty when the manifest is good.</summary>
    public static IReadOnlyList<(string Field, string Problem)> Problems(IReadOnlyList<ManifestFile>? files, string field = "files")
    {
        var problems = new List<(string, string)>();
        if (files is null) return [(field, "is required")];
        if (files.Count > MaxFiles) return [(field, $"must have at most {MaxFiles} files")];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < files.Count; i++)
        {
            var at = $"{field}[{i}]";
            if (files[i] is not { } file)
            {
                problems.Add((at, "must be an object with path, sha256 and size"));
                continue;
            }

            if (PathProblem(file.Path) is { } pathProblem) problems.Add(($"{at}.path", pathProblem));
            else if (!seen.Add(file.Path)) problems.Add(($"{at}.path", $"'{file.Path}' is listed twice"));
            if (!IsSha256(file.Sha256)) problems.Add(($"{at}.sha256", HashRule));
            if (file.Size < 0) problems.Add(($"{at}.size", "must not be negative"));
        }

        // "a" as a file and "a/b" under it cannot both exist on a disk or in a URL space.
        foreach (var path in seen)
        {
            for (var slash = path.IndexOf('/'); slash > 0; slash = path.IndexOf('/', slash + 1))
            {
                if (seen.Contains(path[..slash]))
                {
                    problems.Add((field, $"'{path[..slash]}' is both a file and a directory"));
                    break;
                }
            }
        }

        return problems;
    }

    /// <summary>How many links one path may go through before it counts as a loop (Linux's own limit).</summary>
    public const int MaxLinkHops = 40;

    /// <summary>
    /// Every problem of a server's symbolic links, each naming the link (<c>links[2]</c>): a path as a file's, taken by
    /// no file and no other link and with nothing listed under it (placing a deployment never writes through a link); a
    /// relative target that, resolved as the kernel would (each link on the way followed, '..' applied to where a link
    /// led), never leaves the deployment. <paramref name="links"/> may be null (no links).
    /// </summary>
    public static IReadOnlyList<(string Field, string Problem)> LinkProblems(IReadOnlyList<ManifestFile> files, IReadOnlyList<ManifestLink>? links,
        string field = "links")
    {
        if (links is null || links.Count == 0) return [];
        var problems = new List<(string, string)>();
        var targets = new Dictionary<string, string>(StringComparer.Ordinal);
        var taken = new HashSet<string>(files.Select(f => f.Path), StringComparer.Ordinal);
        for (var i = 0; i < links.Count; i++)
        {
            var link = links[i];
            var at = $"{field}[{i}]";
            if (PathProblem(link.Path) is { } pathProblem) problems.Add(($"{at}.path", pathProblem));
            else if (!taken.Add(link.Path)) problems.Add(($"{at}.path", $"'{link.Path}' is listed twice"));
            else if (TargetProblem(link.Target) is { } targetProblem) problems.Add(($"{at}.target", $"link '{link.Path}' {targetProblem}"));
            else targets[link.Path] = link.Target;
        }

        foreach (var path in taken)
        {
            for (var slash = path.IndexOf('/'); slash > 0; slash = path.IndexOf('/', slash + 1))
            {
                if (targets.ContainsKey(path[..slash]))
                {
                    problems.Add((field, $"'{path}' lies under the link '{path[..slash]}'"));
                    break;
                }
            }
        }

        for (var i = 0; i < links.Count; i++)
        {
            if (!targets.ContainsKey(links[i].Path)) continue;
            if (Resolve(links[i].Path, targets) is { } escape) problems.Add(($"{field}[{i}].target", $"link '{links[i].Path}' → '{links[i].Target}' {escape}"));
        }

        return problems;
    }

    private static string? TargetProblem(string? target)
    {
        if (string.IsNullOrEmpty(target)) return "has an empty target";
        if (target.Length > MaxPathLength) return $"has a target longer than {MaxPathLength} characters";
        if (target.Any(char.IsControl) || target.Contains('\\')) return "has a target with control characters or '\\'";
        if (target[0] == '/') return $"points outside the deployment (absolute target '{target}')";
        return null;
    }

    /// <summary>Null when the link at <paramref name="path"/> resolves inside the deployment; else what went wrong.</summary>
    private static string? Resolve(string path, Dictionary<string, string> targets)
    {
        var at = new List<string>(path.Split('/'));
        at.RemoveAt(at.Count - 1);
        var pending = new LinkedList<string>(targets[path].Split('/'));
        var hops = 0;
        while (pending.First is { } next)
        {
            pending.RemoveFirst();
            var part = next.Value;
            if (part is "" or ".") continue;
            if (part == "..")
            {
                if (at.Count == 0) return "points outside the deployment";
                at.RemoveAt(at.Count - 1);
                continue;
            }

            at.Add(part);
            if (!targets.TryGetValue(string.Join('/', at), out var target)) continue;
            if (++hops > MaxLinkHops) return $"goes through more than {MaxLinkHops} links";
            // The link's target replaces it, relative to the directory that holds it.
            at.RemoveAt(at.Count - 1);
            var parts = target.Split('/');
            for (var k = parts.Length - 1; k >= 0; k--) pending.AddFirst(parts[k]);
        }

        return null;
    }

    /// <exception cref="InvalidFieldException">The first problem of the manifest.</exception>
    public static void Validate(IReadOnlyList<ManifestFile>? files, string field = "files")
    {
        if (Problems(files, field) is [var (name, problem), ..]) throw new InvalidFieldException(name, problem);
    }
}
