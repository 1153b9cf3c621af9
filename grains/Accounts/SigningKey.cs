using System.Security.Cryptography;

namespace CloudDeck.Grains.Accounts;

/// <summary>The HMAC key that signs access tokens: configured, or generated once and kept in the data directory.</summary>
public sealed class SigningKey
{
    public const string FileName = "jwt-signing.key";

    private SigningKey(byte[] bytes, string source)
    {
        Bytes = bytes;
        Source = source;
    }

    public byte[] Bytes { get; }

    /// <summary>"configuration" or the key file's path; for start-up messages (never the key).</summary>
    public string Source { get; }

    public static string PathUnder(string dataDirectory) => Path.Combine(Path.GetFullPath(dataDirectory), "auth", FileName);

    public static SigningKey Load(AuthOptions options, string dataDirectory)
    {
        if (options.SigningKey is { } configured)
        {
            return new SigningKey(Convert.FromBase64String(configured), "configuration");
        }

        var path = PathUnder(dataDirectory);
        var text = KeyFile.ReadOrCreate(path, () => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(text);
        }
        catch (FormatException)
        {
            throw new InvalidOperationException($"{path} does not hold a base64 key; delete it to generate a new one, or set CloudDeck:Auth:SigningKey.");
        }

        if (bytes.Length < 32)
        {
            throw new InvalidOperationException($"{path} holds a key shorter than 32 bytes; delete it to generate a new one, or set CloudDeck:Auth:SigningKey.");
        }

        return new SigningKey(bytes, path);
    }
}
