using CloudDeck.GrainInterfaces;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace CloudDeck.Grains.Accounts;

/// <summary>Password policy and hashing (Identity's PasswordHasher: PBKDF2-HMAC-SHA512, salted, versioned).</summary>
public sealed class Passwords(IOptions<AuthOptions> options, IOptions<PasswordHasherOptions> hasherOptions)
{
    public const int MaxLength = 256;

    // A few of the most common passwords that are long enough to pass the length rule.
    private static readonly HashSet<string> Common = new(StringComparer.OrdinalIgnoreCase)
    {
        "1234567890", "12345678910", "0123456789", "0987654321", "1111111111", "0000000000", "123456789a",
        "123456789q", "1234567890a", "1q2w3e4r5t", "1qaz2wsx3edc", "1q2w3e4r5t6y", "qwertyuiop", "qwertyuiop123",
        "qwerty12345", "qwerty123456", "asdfghjkl1", "zaq12wsxcde", "abcdefghij", "abc1234567", "aaaaaaaaaa",
        "password12", "password123", "password1234", "password!!", "passw0rd123", "p@ssw0rd123", "p@ssword123",
        "iloveyou12", "iloveyou123", "letmein123", "welcome123", "welcome1234", "administrator", "admin12345",
        "admin123456", "football123", "baseball123", "superman123", "trustno1234", "monkey12345", "dragon12345",
        "sunshine123", "princess123", "changeme123", "starwars123", "michael123", "clouddeck123", "deployment",
        "computer123", "internet123", "secret1234", "mypassword", "mypassword1", "passwordpassword",
    };

    private readonly PasswordHasher<string> _hasher = new(hasherOptions);

    /// <exception cref="InvalidFieldException">The password breaks the policy; the field is <paramref name="field"/>.</exception>
    public void EnsureAcceptable(string password, string email, string field = "password")
    {
        var minimum = options.Value.MinimumPasswordLength;
        if (password.Length < minimum) throw new InvalidFieldException(field, $"must be at least {minimum} characters long");
        if (password.Length > MaxLength) throw new InvalidFieldException(field, $"must be at most {MaxLength} characters long");
        if (Common.Contains(password) || string.Equals(password, email, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidFieldException(field, "is too common or too easy to guess; choose another");
        }
    }

    public string Hash(string password) => _hasher.HashPassword(string.Empty, password);

    /// <returns>Whether it matched, and a new hash when the stored one uses weaker parameters than today's.</returns>
    public (bool Matches, string? Rehashed) Verify(string hash, string password)
    {
        var result = _hasher.VerifyHashedPassword(string.Empty, hash, password);
        return result switch
        {
            PasswordVerificationResult.Success => (true, null),
            PasswordVerificationResult.SuccessRehashNeeded => (true, Hash(password)),
            _ => (false, null),
        };
    }

    /// <summary>Spends the time a real verification would, so an unknown email answers as slowly as a wrong password.</summary>
    public void VerifyNothing(string password) => _hasher.VerifyHashedPassword(string.Empty, _dummyHash.Value, password);

    private readonly Lazy<string> _dummyHash = new(() => new PasswordHasher<string>(hasherOptions).HashPassword(string.Empty, Secrets.NewSecret()));
}
