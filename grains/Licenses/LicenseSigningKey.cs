using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CloudDeck.Grains.Accounts;

namespace CloudDeck.Grains.Licenses;

/// <summary>
/// The ECDSA P-256 key that signs offline licenses (ES256 JWS): configured as PEM, or generated once and kept in
/// <c>{DataDirectory}/licenses/license-signing.pem</c> (mode 0600). In cluster mode an unconfigured key is
/// <see cref="IsAvailable"/> false: a key per process would sign files the others' public key refuses.
/// </summary>
public sealed class LicenseSigningKey : IDisposable
{
    public const string FileName = "license-signing.pem";

    private readonly ECDsa? _key;
    private readonly Lock _gate = new();

    private LicenseSigningKey(ECDsa? key, string source)
    {
        _key = key;
        Source = source;
        if (key is null) return;
        var parameters = key.ExportParameters(includePrivateParameters: false);
        X = Base64Url(parameters.Q.X!);
        Y = Base64Url(parameters.Q.Y!);
        // RFC 7638 thumbprint: SHA-256 over the required members in lexicographic order.
        KeyId = Base64Url(SHA256.HashData(Encoding.UTF8.GetBytes($"{{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"{X}\",\"y\":\"{Y}\"}}")));
        PublicKeyPem = key.ExportSubjectPublicKeyInfoPem();
    }

    public bool IsAvailable => _key is not null;

    /// <summary>"configuration", the key file's path, or why there is no key; for messages (never the key).</summary>
    public string Source { get; }

    public string KeyId { get; } = "";

    public string X { get; } = "";

    public string Y { get; } = "";

    public string PublicKeyPem { get; } = "";

    public const string Unavailable =
        "Offline licenses need CloudDeck:Licenses:SigningKey in cluster mode (the PEM of an ECDSA P-256 private key, the same on every process).";

    public static string PathUnder(string dataDirectory) => Path.Combine(Path.GetFullPath(dataDirectory), "licenses", FileName);

    public static ECDsa ParsePem(string pem)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
            if (key.ExportParameters(false).Curve.Oid.Value != ECCurve.NamedCurves.nistP256.Oid.Value)
            {
                throw new CryptographicException("The key is not on the P-256 curve.");
            }

            return key;
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    public static LicenseSigningKey Load(LicenseOptions options, string dataDirectory, bool cluster)
    {
        if (options.SigningKey is { } configured) return new LicenseSigningKey(ParsePem(configured), "configuration");
        if (cluster) return new LicenseSigningKey(null, Unavailable);
        var path = PathUnder(dataDirectory);
        var pem = KeyFile.ReadOrCreate(path, () =>
        {
            using var fresh = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            return fresh.ExportPkcs8PrivateKeyPem();
        });
        try
        {
            return new LicenseSigningKey(ParsePem(pem), path);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            throw new InvalidOperationException($"{path} does not hold an ECDSA P-256 private key (PEM); delete it to generate a new one, or set CloudDeck:Licenses:SigningKey.");
        }
    }

    /// <summary>The public key as a JWK (RFC 7517), for JOSE libraries.</summary>
    public IReadOnlyDictionary<string, string> Jwk => new Dictionary<string, string>
    {
        ["kty"] = "EC", ["crv"] = "P-256", ["x"] = X, ["y"] = Y, ["kid"] = KeyId, ["alg"] = "ES256", ["use"] = "sig",
    };

    /// <summary>A JWS in compact serialization (ES256) over <paramref name="payload"/> serialized as JSON.</summary>
    public string SignJws<T>(T payload, JsonSerializerOptions json)
    {
        if (_key is null) throw new InvalidOperationException(Unavailable);
        var header = Base64Url(JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { ["alg"] = "ES256", ["typ"] = "clouddeck-license+jws", ["kid"] = KeyId }));
        var body = Base64Url(JsonSerializer.SerializeToUtf8Bytes(payload, json));
        var signingInput = Encoding.ASCII.GetBytes($"{header}.{body}");
        byte[] signature;
        lock (_gate) signature = _key.SignData(signingInput, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return $"{header}.{body}.{Base64Url(signature)}";
    }

    public static string Base64Url(ReadOnlySpan<byte> bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public void Dispose() => _key?.Dispose();
}
