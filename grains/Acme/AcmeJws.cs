using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace CloudDeck.Grains.Acme;

/// <summary>
/// The JSON Web Signatures ACME requests carry (RFC 8555 §6.2, RFC 7515 flattened serialization): ES256 with a P-256
/// account key, the public key (<c>jwk</c>) in the protected header until the account exists, its URL (<c>kid</c>) after.
/// </summary>
public static class AcmeJws
{
    public static string Base64Url(ReadOnlySpan<byte> bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);

    public static string Base64Url(string text) => Base64Url(Encoding.UTF8.GetBytes(text));

    /// <summary>The account key's public half as a JWK, members in the order RFC 7638's thumbprint needs.</summary>
    public static JsonObject Jwk(ECDsa key)
    {
        var parameters = key.ExportParameters(includePrivateParameters: false);
        return new JsonObject
        {
            ["crv"] = "P-256",
            ["kty"] = "EC",
            ["x"] = Base64Url(parameters.Q.X),
            ["y"] = Base64Url(parameters.Q.Y),
        };
    }

    /// <summary>RFC 7638 thumbprint: SHA-256 of the JWK's required members in lexicographic order, no whitespace.</summary>
    public static string Thumbprint(ECDsa key) =>
        Base64Url(SHA256.HashData(Encoding.UTF8.GetBytes(Jwk(key).ToJsonString(new JsonSerializerOptions { WriteIndented = false }))));

    /// <summary>
    /// A signed request body. <paramref name="payload"/> null is POST-as-GET (an empty payload); <paramref name="kid"/>
    /// null puts the public key in the header instead (new account).
    /// </summary>
    public static string Sign(ECDsa key, string url, string nonce, string? kid, JsonNode? payload)
    {
        var header = new JsonObject { ["alg"] = "ES256", ["nonce"] = nonce, ["url"] = url };
        if (kid is null) header["jwk"] = Jwk(key);
        else header["kid"] = kid;
        var protectedPart = Base64Url(header.ToJsonString());
        var payloadPart = payload is null ? "" : Base64Url(payload.ToJsonString());
        // .NET signs ECDSA in IEEE P1363 form (r || s, 32 bytes each), which is what JWS's ES256 wants.
        var signature = key.SignData(Encoding.ASCII.GetBytes($"{protectedPart}.{payloadPart}"), HashAlgorithmName.SHA256);
        return new JsonObject
        {
            ["protected"] = protectedPart,
            ["payload"] = payloadPart,
            ["signature"] = Base64Url(signature),
        }.ToJsonString();
    }
}
