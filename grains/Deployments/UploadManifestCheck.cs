using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Deployments;

namespace CloudDeck.Grains.Deployments;

/// <summary>
/// TEMPORARY: replace with the shared <c>ManifestValidation</c> (grain-interfaces/Deployments, the edge branch) when it
/// is merged; this is the smallest check that keeps an upload manifest safe to serve until then. Refuses what could
/// escape the deployment root or be read two ways: '..', '.', empty or absolute paths, backslashes, control characters,
/// duplicates, hashes that are not SHA-256 hex, negative sizes.
/// </summary>
public static class UploadManifestCheck
{
    public const int MaxFiles = 100_000;
    public const int MaxPathLength = 1024;

    public static void Validate(IReadOnlyList<ManifestFile> files)
    {
        if (files.Count == 0) throw new InvalidFieldException("files", "must list at least one file");
        if (files.Count > MaxFiles) throw new InvalidFieldException("files", $"must list at most {MaxFiles} files");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < files.Count; i++)
        {
            var file = files[i];
            var path = file.Path ?? "";
            if (path.Length is 0 or > MaxPathLength || path[0] == '/' || path.Contains('\\') || path.Any(char.IsControl)
                || path.Split('/').Any(s => s is "" or "." or ".."))
            {
                throw new InvalidFieldException($"files[{i}].path",
                    $"must be a relative '/'-separated path of at most {MaxPathLength} characters without '..', '.', empty segments, backslashes or control characters");
            }

            if (!seen.Add(path)) throw new InvalidFieldException($"files[{i}].path", $"'{path}' is listed twice");
            if (file.Sha256 is not { Length: 64 } || file.Sha256.AsSpan().IndexOfAnyExcept("0123456789abcdef") >= 0)
            {
                throw new InvalidFieldException($"files[{i}].sha256", "must be 64 lower-case hex digits");
            }

            if (file.Size < 0) throw new InvalidFieldException($"files[{i}].size", "must be 0 or more");
        }
    }
}
