namespace CloudDeck.GrainInterfaces.Accounts;

/// <summary>
/// The one shape of every bearer secret CloudDeck hands out: <c>{prefix}_{owner}.{id}.{secret}</c>.
/// The owner names the grain that holds the hash (a user id or an organization slug), the id the record
/// inside it; only the secret is secret, and only its SHA-256 is stored. The prefix tells a reader (and a
/// secret scanner) what the token is for.
/// </summary>
[GenerateSerializer, Immutable, Alias("clouddeck.SecretToken")]
public sealed record SecretToken(string Prefix, string Owner, string Id, string Secret)
{
    public const string ApiToken = "cdk";
    public const string RefreshToken = "cdr";
    public const string EmailVerification = "cdv";
    public const string PasswordReset = "cdp";
    public const string Invitation = "cdi";
    public const string MfaChallenge = "cdm";

    private const int MaxLength = 512;

    public override string ToString() => $"{Prefix}_{Owner}.{Id}.{Secret}";

    public static bool TryParse(string? text, string prefix, out SecretToken token)
    {
        token = null!;
        if (string.IsNullOrEmpty(text) || text.Length > MaxLength || !text.StartsWith(prefix + "_", StringComparison.Ordinal))
        {
            return false;
        }

        var parts = text[(prefix.Length + 1)..].Split('.');
        if (parts.Length != 3 || parts.Any(part => part.Length == 0 || !part.All(IsTokenChar)))
        {
            return false;
        }

        token = new SecretToken(prefix, parts[0], parts[1], parts[2]);
        return true;
    }

    private static bool IsTokenChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_';
}
