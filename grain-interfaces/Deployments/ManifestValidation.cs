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

    /// <exception cref="InvalidFieldException">The first problem of the manifest.</exception>
    public static void Validate(IReadOnlyList<ManifestFile>? files, string field = "files")
    {
        if (Problems(files, field) is [var (name, problem), ..]) throw new InvalidFieldException(name, problem);
    }
}
