using System.Net;

namespace CloudDeck.GrainInterfaces.Domains;

/// <summary>The rules a custom domain name must pass, each refusal naming its reason (the API answers it as a 400 on <c>domain</c>).</summary>
public static class DomainNames
{
    public const int MaxLength = 253;
    private const int MaxLabel = 63;

    /// <summary>Where a domain proves control: <c>_clouddeck-challenge.&lt;domain&gt;</c>.</summary>
    public const string ChallengeLabel = "_clouddeck-challenge";

    public static string ChallengeName(string domain) => $"{ChallengeLabel}.{domain}";

    /// <summary>Lower-case, without a trailing dot or surrounding space.</summary>
    public static string Normalize(string domain) => domain.Trim().TrimEnd('.').ToLowerInvariant();

    /// <returns>Why <paramref name="domain"/> (normalized) cannot be a custom domain for a platform on <paramref name="baseDomain"/>, or null.</returns>
    public static string? Problem(string domain, string baseDomain)
    {
        if (domain.Length == 0) return "is required (a domain such as shop.example.com)";
        var host = domain.StartsWith('[') && domain.EndsWith(']') ? domain[1..^1] : domain;
        if (IPAddress.TryParse(host, out _)) return "is an IP address; give a domain name such as shop.example.com";
        if (domain == "localhost" || domain.EndsWith(".localhost", StringComparison.Ordinal)) return "is localhost, which cannot be verified or given a certificate";
        if (domain == baseDomain || domain.EndsWith("." + baseDomain, StringComparison.Ordinal))
        {
            return $"is the platform's base domain ({baseDomain}) or under it; those names are the platform's own";
        }

        if (domain.Length > MaxLength) return $"is longer than {MaxLength} characters";
        if (domain.Contains('*')) return "is a wildcard; add each name on its own";
        var labels = domain.Split('.');
        if (labels.Length < 2) return "must have at least two labels, such as example.com";
        foreach (var label in labels)
        {
            if (label.Length is 0 or > MaxLabel) return $"is malformed: each label is 1 to {MaxLabel} characters";
            if (label.AsSpan().IndexOfAnyExcept("abcdefghijklmnopqrstuvwxyz0123456789-") >= 0) return "is malformed: only letters, digits, hyphens and dots are allowed";
            if (label[0] == '-' || label[^1] == '-') return "is malformed: a label cannot start or end with a hyphen";
        }

        if (labels[^1].All(char.IsAsciiDigit)) return "is malformed: the last label cannot be all digits";
        return null;
    }

    /// <summary>The twin a www ↔ apex redirect sends to: <c>www.example.com</c> ↔ <c>example.com</c>.</summary>
    public static string? RedirectTarget(string domain, string redirect) => redirect switch
    {
        DomainRedirects.ToWww when !domain.StartsWith("www.", StringComparison.Ordinal) => "www." + domain,
        DomainRedirects.ToApex when domain.StartsWith("www.", StringComparison.Ordinal) => domain[4..],
        _ => null,
    };
}
