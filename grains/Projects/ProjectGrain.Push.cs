using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CloudDeck.GrainInterfaces;

namespace CloudDeck.Grains.Projects;

/// <summary>A git host's push webhook: its signature and its payload (GitHub's format, which Gitea and Gogs send too).</summary>
public sealed partial class ProjectGrain
{
    private const string SignaturePrefix = "sha256=";

    private bool SignatureMatches(byte[] payload, string? signature)
    {
        if (signature is null || !signature.StartsWith(SignaturePrefix, StringComparison.Ordinal)) return false;
        byte[] given;
        try
        {
            given = Convert.FromHexString(signature.AsSpan(SignaturePrefix.Length).Trim());
        }
        catch (FormatException)
        {
            return false;
        }

        var secret = secrets.Decrypt(Project.WebhookSecret, Context(WebhookContext));
        var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), payload);
        return CryptographicOperations.FixedTimeEquals(expected, given);
    }

    /// <summary>
    /// GitHub's push payload: <c>ref</c> refs/heads/&lt;branch&gt;, <c>after</c> the new commit, and when present
    /// <c>repository.pushed_at</c> (Unix seconds in a push event). Null for tags and deleted branches.
    /// </summary>
    private static (string Branch, string Commit, DateTimeOffset? PushedAt)? ReadPush(byte[] payload)
    {
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(payload);
            root = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            throw new InvalidFieldException("body", "must be a JSON push event (GitHub's format: ref, after)");
        }

        try
        {
            return ReadPush(root);
        }
        catch (InvalidOperationException)
        {
            // A string that is not text (a lone surrogate): a bad request, not a server error.
            throw new InvalidFieldException("body", "must be a JSON push event whose strings are valid text");
        }
    }

    private static (string Branch, string Commit, DateTimeOffset? PushedAt)? ReadPush(JsonElement root)
    {

        if (root.ValueKind != JsonValueKind.Object) throw new InvalidFieldException("body", "must be a JSON object");
        if (!root.TryGetProperty("ref", out var refElement) || refElement.ValueKind != JsonValueKind.String)
        {
            // A ping (sent when the hook is added) or another event: nothing to deploy.
            return null;
        }

        const string heads = "refs/heads/";
        var gitRef = refElement.GetString()!;
        if (!gitRef.StartsWith(heads, StringComparison.Ordinal)) return null;
        if (root.TryGetProperty("deleted", out var deleted) && deleted.ValueKind == JsonValueKind.True) return null;
        var branch = gitRef[heads.Length..];
        ProjectRules.GitRef(branch, "ref");
        var commit = root.TryGetProperty("after", out var after) && after.ValueKind == JsonValueKind.String ? after.GetString()! : "";
        if (commit.Length is not (40 or 64) || commit.AsSpan().IndexOfAnyExcept("0123456789abcdef") >= 0)
        {
            throw new InvalidFieldException("after", "must be the pushed commit's full hash (40 or 64 lower-case hex digits)");
        }

        return commit.All(c => c == '0') ? null : (branch, commit, PushedAt(root));
    }

    private static DateTimeOffset? PushedAt(JsonElement root)
    {
        if (!root.TryGetProperty("repository", out var repository) || repository.ValueKind != JsonValueKind.Object
            || !repository.TryGetProperty("pushed_at", out var pushedAt))
        {
            return null;
        }

        // A number in push events (Unix seconds); other events of GitHub's spell it as an ISO 8601 string.
        if (pushedAt.ValueKind == JsonValueKind.Number && pushedAt.TryGetInt64(out var seconds)
            && seconds is >= 0 and <= 253402300799)
        {
            return DateTimeOffset.FromUnixTimeSeconds(seconds);
        }

        if (pushedAt.ValueKind == JsonValueKind.String
            && DateTimeOffset.TryParse(pushedAt.GetString(), System.Globalization.CultureInfo.InvariantCulture,
                System.Globalization.DateTimeStyles.AssumeUniversal, out var text))
        {
            return text;
        }

        if (pushedAt.ValueKind == JsonValueKind.Null) return null;
        throw new InvalidFieldException("repository.pushed_at", "must be the push's time in Unix seconds (or ISO 8601)");
    }
}
