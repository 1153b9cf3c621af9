using System.Security.Cryptography;
using System.Text;

namespace CloudDeck.Grains.Accounts;

/// <summary>Random identifiers and secrets, and the SHA-256 hashes that are all we keep of high-entropy secrets.</summary>
public static class Secrets
{
    /// <summary>A public identifier: 16 lower-case hex characters.</summary>
    public static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    /// <summary>256 bits, base64url: guessing is hopeless, so a fast hash is enough to store it.</summary>
    public static string NewSecret() => Base64Url(RandomNumberGenerator.GetBytes(32));

    public static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    public static bool Matches(string? storedHash, string secret) =>
        storedHash is not null && CryptographicOperations.FixedTimeEquals(
            Encoding.ASCII.GetBytes(storedHash), Encoding.ASCII.GetBytes(Hash(secret)));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
