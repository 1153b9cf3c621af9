using System.Security.Cryptography;
using System.Text;

namespace CloudDeck.GrainInterfaces.Licenses;

/// <summary>
/// A license key: <c>cdl_{id}.{secret}.{check}</c>. The id (16 lower-case hex) names the license grain, the
/// secret (256 bits, base64url) is the credential (only its SHA-256 is stored), and the check (8 hex) is the
/// first four bytes of SHA-256 over the rest. The check is not a secret: it lets the API refuse typos and
/// made-up strings before any lookup, so malformed keys never activate a grain.
/// </summary>
[GenerateSerializer, Immutable, Alias("clouddeck.LicenseKey")]
public sealed record LicenseKey(string Id, string Secret)
{
    public const string Prefix = "cdl_";
    public const int IdLength = 16;
    public const int SecretLength = 43;
    public const int CheckLength = 8;
    public const int Length = 4 + IdLength + 1 + SecretLength + 1 + CheckLength;

    public const string Rule = "must be a license key (cdl_…, as shown when the license was issued)";

    public override string ToString() => $"{Prefix}{Id}.{Secret}.{Check(Id, Secret)}";

    /// <summary>True only for a key of the right shape whose check segment matches; no I/O.</summary>
    public static bool TryParse(string? text, out LicenseKey key)
    {
        key = null!;
        if (text is null || text.Length != Length || !text.StartsWith(Prefix, StringComparison.Ordinal)) return false;
        var id = text.AsSpan(Prefix.Length, IdLength);
        var secret = text.AsSpan(Prefix.Length + IdLength + 1, SecretLength);
        var check = text.AsSpan(Length - CheckLength);
        if (text[Prefix.Length + IdLength] != '.' || text[Length - CheckLength - 1] != '.') return false;
        if (!IsLowerHex(id) || !IsLowerHex(check)) return false;
        foreach (var c in secret)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_')) return false;
        }

        Span<byte> digest = stackalloc byte[32];
        Span<byte> body = stackalloc byte[Length - CheckLength - 1];
        Encoding.ASCII.GetBytes(text.AsSpan(0, body.Length), body);
        SHA256.HashData(body, digest);
        Span<char> expected = stackalloc char[CheckLength];
        Convert.TryToHexStringLower(digest[..(CheckLength / 2)], expected, out _);
        if (!check.SequenceEqual(expected)) return false;
        key = new LicenseKey(id.ToString(), secret.ToString());
        return true;
    }

    public static bool IsLicenseId(string? value) => value is { Length: IdLength } && IsLowerHex(value);

    private static string Check(string id, string secret) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes($"{Prefix}{id}.{secret}")))[..CheckLength];

    private static bool IsLowerHex(ReadOnlySpan<char> value)
    {
        foreach (var c in value)
        {
            if (!char.IsAsciiHexDigitLower(c)) return false;
        }

        return true;
    }
}
