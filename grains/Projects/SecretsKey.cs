using System.Security.Cryptography;
using System.Text;
using CloudDeck.GrainInterfaces;
using CloudDeck.Grains.Accounts;

namespace CloudDeck.Grains.Projects;

/// <summary>
/// The AES-256 key that encrypts secrets at rest (project environment variables, webhook secrets, credentials in git
/// URLs, and users' TOTP keys): configured as
/// <c>CloudDeck:Secrets:Key</c> (base64, 32 bytes), or in embedded mode generated once into
/// <c>{DataDirectory}/secrets/secrets.key</c> (mode 0600). In cluster mode an unconfigured key is unavailable: a key per
/// silo would leave each silo unable to read what the others wrote.
/// </summary>
public sealed class SecretsKey
{
    public const string Setting = "CloudDeck:Secrets:Key";
    public const string FileName = "secrets.key";

    public const string Unavailable =
        "Secrets at rest (environment variables, webhook secrets, git URL credentials, TOTP keys) need " + Setting + " in cluster mode (base64 of 32 random bytes, the same on every silo), for example the output of `openssl rand -base64 32`.";

    private const int NonceBytes = 12;
    private const int TagBytes = 16;

    private readonly byte[]? _key;

    private SecretsKey(byte[]? key, string source)
    {
        _key = key;
        Source = source;
    }

    /// <summary>"configuration", the key file's path, or why there is no key; for messages (never the key).</summary>
    public string Source { get; }

    public bool IsAvailable => _key is not null;

    public static string PathUnder(string dataDirectory) => Path.Combine(Path.GetFullPath(dataDirectory), "secrets", FileName);

    /// <summary>A key for tests and tools that hold the bytes already.</summary>
    public static SecretsKey FromBytes(byte[] key) => key.Length == 32 ? new SecretsKey(key, "bytes") : throw new ArgumentException("The key must be 32 bytes.", nameof(key));

    /// <exception cref="InvalidOperationException">The configured key or the key file is wrong; the message names it.</exception>
    public static SecretsKey Load(string? configured, string dataDirectory, bool cluster)
    {
        if (!string.IsNullOrWhiteSpace(configured)) return new SecretsKey(Decode(configured, Setting), "configuration");
        if (cluster) return new SecretsKey(null, Unavailable);
        var path = PathUnder(dataDirectory);
        var text = KeyFile.ReadOrCreate(path, () => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        return new SecretsKey(Decode(text, path + " (delete it only if no secret was stored with it)"), path);
    }

    /// <summary>
    /// base64(nonce | tag | ciphertext). <paramref name="context"/> is bound in as associated data, so a ciphertext copied
    /// to another variable or project does not decrypt there.
    /// </summary>
    public string Encrypt(string plaintext, string context)
    {
        var key = Require();
        var plain = Encoding.UTF8.GetBytes(plaintext);
        var sealedBytes = new byte[NonceBytes + TagBytes + plain.Length];
        var nonce = sealedBytes.AsSpan(0, NonceBytes);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(key, TagBytes);
        aes.Encrypt(nonce, plain, sealedBytes.AsSpan(NonceBytes + TagBytes), sealedBytes.AsSpan(NonceBytes, TagBytes), Encoding.UTF8.GetBytes(context));
        return Convert.ToBase64String(sealedBytes);
    }

    /// <exception cref="CryptographicException">The ciphertext was written with another key or context, or was changed.</exception>
    public string Decrypt(string ciphertext, string context)
    {
        var key = Require();
        var sealedBytes = Convert.FromBase64String(ciphertext);
        if (sealedBytes.Length < NonceBytes + TagBytes) throw new CryptographicException("The stored secret is truncated.");
        var plain = new byte[sealedBytes.Length - NonceBytes - TagBytes];
        using var aes = new AesGcm(key, TagBytes);
        aes.Decrypt(sealedBytes.AsSpan(0, NonceBytes), sealedBytes.AsSpan(NonceBytes + TagBytes), sealedBytes.AsSpan(NonceBytes, TagBytes), plain,
            Encoding.UTF8.GetBytes(context));
        return Encoding.UTF8.GetString(plain);
    }

    private byte[] Require() => _key ?? throw new ConflictException(Unavailable);

    private static byte[] Decode(string text, string where)
    {
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(text.Trim());
        }
        catch (FormatException)
        {
            throw new InvalidOperationException($"{where} must be base64 of 32 bytes (for example the output of `openssl rand -base64 32`).");
        }

        return bytes.Length == 32 ? bytes : throw new InvalidOperationException($"{where} must decode to exactly 32 bytes (was {bytes.Length}).");
    }
}
