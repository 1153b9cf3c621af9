using System.Text.RegularExpressions;

namespace CloudDeck.Grains.Builds.Executor;

/// <summary>
/// Hides secrets in log text before it is stored: the project's environment values, and the user-info part of any
/// URL (a token in a git remote such as <c>https://x-access-token:…@github.com/…</c>). Thread-safe: the output
/// pumps of stdout and stderr mask concurrently while the executor adds secrets.
/// </summary>
public sealed partial class LogMasker
{
    public const string Mask = "***";

    /// <summary>
    /// Values shorter than this are not masked: replacing every "1" or "on" in a log makes it unreadable and protects
    /// nothing, since a secret that short can be guessed anyway.
    /// </summary>
    public const int MinimumSecretLength = 3;

    private volatile string[] _secrets = [];
    private readonly Lock _gate = new();

    public void AddSecret(string? value)
    {
        if (string.IsNullOrEmpty(value)) return;
        // A multi-line value is printed line by line, and lines are masked one at a time.
        var parts = value.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(p => p.TrimEnd('\r')).Append(value);
        lock (_gate)
        {
            // Longest first, so a secret that contains another is hidden whole rather than leaving its rest behind.
            _secrets = [.. _secrets.Concat(parts.Where(p => p.Length >= MinimumSecretLength)).Distinct(StringComparer.Ordinal)
                .OrderByDescending(s => s.Length)];
        }
    }

    /// <summary>Also hides a URL's user name and password wherever they appear, with or without the URL around them.</summary>
    public void AddUrl(string? url)
    {
        if (url is null || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.UserInfo)) return;
        var info = Uri.UnescapeDataString(uri.UserInfo);
        AddSecret(uri.UserInfo);
        foreach (var part in info.Split(':')) AddSecret(part);
    }

    public string Apply(string text)
    {
        if (text.Length == 0) return text;
        foreach (var secret in _secrets)
        {
            if (text.Contains(secret, StringComparison.Ordinal)) text = text.Replace(secret, Mask, StringComparison.Ordinal);
        }

        return text.Contains("://", StringComparison.Ordinal) ? UserInfo().Replace(text, "$1" + Mask + "@") : text;
    }

    /// <summary>A URL's scheme, then anything up to an '@' before the host: the credentials.</summary>
    [GeneratedRegex(@"([A-Za-z][A-Za-z0-9+.\-]*://)[^/\s@]+@")]
    private static partial Regex UserInfo();

    /// <summary>A URL as it may be shown: without its user info.</summary>
    public static string Redact(string url) => UserInfo().Replace(url, "$1" + Mask + "@");
}
