using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Projects;

namespace CloudDeck.Grains.Projects;

/// <summary>
/// What a project's settings, environment variables and git refs may be. Checked in the grain (the API checks shapes
/// only), so every caller meets the same rules; each refusal names the field as the REST body spells it.
/// </summary>
public static class ProjectRules
{
    public const int MaxUrlLength = 2048;
    public const int MaxPathLength = 1024;
    public const int MaxCommandLength = 4096;
    public const int MaxRefLength = 255;
    public const int MaxEnvNameLength = 256;
    public const int MaxEnvValueBytes = 64 * 1024;
    public const int MaxEnvVars = 500;

    public const string EnvNameRule = "must be 1–256 letters, digits or '_', not starting with a digit";

    public static void Name(string? name)
    {
        if (!ProjectKeys.IsWellFormedName(name)) throw new InvalidFieldException("name", ProjectKeys.NameRule);
    }

    /// <summary>https://, ssh:// or scp-like (git@host:owner/repo.git), as git clones them.</summary>
    public static void GitUrl(string url)
    {
        const string field = "git_url";
        if (url.Length > MaxUrlLength || url.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)))
        {
            throw new InvalidFieldException(field, $"must be at most {MaxUrlLength} characters without spaces or control characters");
        }

        var scpLike = System.Text.RegularExpressions.Regex.IsMatch(url, @"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^/\-][^:]*$");
        var absolute = Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "https" or "ssh" && uri.Host.Length > 0;
        // '-' first would let a repository URL pass as an option to git (CVE-2017-1000117-style). A backslash or a host
        // ending in '.' is read differently by different URL parsers: the host checked would not be the host git connects to.
        if ((!scpLike && !absolute) || url.StartsWith('-') || url.Contains('\\') || (absolute && uri!.Host.EndsWith('.')))
        {
            throw new InvalidFieldException(field, "must be a git repository URL over https (https://host/owner/repo.git) or ssh (git@host:owner/repo.git)");
        }
    }

    public static void LocalPath(string path, bool allowed)
    {
        const string field = "local_path";
        if (!allowed) throw new InvalidFieldException(field, "local sources are not allowed here (the operator enables them with CloudDeck:Projects:AllowLocalSources)");
        if (path.Length > MaxPathLength || path.Any(char.IsControl) || !Path.IsPathFullyQualified(path))
        {
            throw new InvalidFieldException(field, $"must be an absolute path of at most {MaxPathLength} characters");
        }
    }

    /// <summary>A branch, tag or commit: what <c>git check-ref-format</c> accepts, and never something git would read as an option.</summary>
    public static void GitRef(string? value, string field)
    {
        if (string.IsNullOrEmpty(value) || value.Length > MaxRefLength || value[0] is '-' or '/' || value[^1] is '/' or '.'
            || value.Contains("..", StringComparison.Ordinal) || value.Contains("//", StringComparison.Ordinal) || value.Contains("@{", StringComparison.Ordinal)
            || value.EndsWith(".lock", StringComparison.Ordinal)
            || value.Any(c => char.IsControl(c) || char.IsWhiteSpace(c) || c is '~' or '^' or ':' or '?' or '*' or '[' or '\\'))
        {
            throw new InvalidFieldException(field, $"must be a git branch, tag or commit of at most {MaxRefLength} characters (no spaces, '..', '~', '^', ':', '?', '*', '[' or '\\')");
        }
    }

    /// <summary>A directory inside the repository or output: relative, '/'-separated, no '..'. Empty or "." is the root.</summary>
    public static string RelativeDirectory(string value, string field)
    {
        var trimmed = value.Trim();
        if (trimmed is "" or "." or "./") return ".";
        var segments = trimmed.TrimEnd('/').Split('/');
        if (trimmed.Length > MaxPathLength || trimmed.StartsWith('/') || trimmed.Contains('\\') || trimmed.Any(char.IsControl)
            || segments.Any(s => s is "" or ".." or "."))
        {
            throw new InvalidFieldException(field, "must be a relative directory such as 'apps/web' or 'dist' (no leading '/', no '..' or empty segments)");
        }

        return string.Join('/', segments);
    }

    public static void Framework(string value)
    {
        if (value.Length is < 1 or > 40 || value.AsSpan().IndexOfAnyExcept("abcdefghijklmnopqrstuvwxyz0123456789-.") >= 0)
        {
            throw new InvalidFieldException("framework", "must be a framework name such as vite, astro, nextjs, static or other (1–40 lower-case letters, digits, '-' or '.')");
        }
    }

    /// <summary>One shell command line; a newline would hide a second command from whoever reads the settings.</summary>
    public static void Command(string value, string field)
    {
        if (value.Length > MaxCommandLength || value.Any(char.IsControl))
        {
            throw new InvalidFieldException(field, $"must be one line of at most {MaxCommandLength} characters");
        }
    }

    /// <summary>An absolute URL path (optionally with a query) that a server's health check GETs.</summary>
    public static void HealthCheckPath(string value)
    {
        if (value.Length > MaxPathLength || value[0] != '/' || value.StartsWith("//", StringComparison.Ordinal)
            || value.Any(c => char.IsControl(c) || char.IsWhiteSpace(c) || c == '#'))
        {
            throw new InvalidFieldException("health_check_path", $"must be a path starting with '/' such as /healthz (at most {MaxPathLength} characters, no spaces)");
        }
    }

    public static void Environment(string environment)
    {
        if (!ProjectEnvironments.IsValid(environment))
        {
            throw new InvalidFieldException("environment", $"must be one of {string.Join(", ", ProjectEnvironments.All)}");
        }
    }

    public static void EnvName(string name)
    {
        if (name.Length is < 1 or > MaxEnvNameLength || char.IsAsciiDigit(name[0]) || name.Any(c => !char.IsAsciiLetterOrDigit(c) && c != '_'))
        {
            throw new InvalidFieldException("name", EnvNameRule);
        }
    }

    public static void EnvValue(string value)
    {
        if (System.Text.Encoding.UTF8.GetByteCount(value) > MaxEnvValueBytes || value.Contains('\0'))
        {
            throw new InvalidFieldException("value", $"must be at most {MaxEnvValueBytes} bytes without NUL characters");
        }
    }
}
