using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace CloudDeck.Grains.Acme;

/// <summary>
/// An ACME (RFC 8555) client for one account key and one directory: nonces (kept from every answer, a <c>badNonce</c>
/// refusal retried with the fresh one it carries), accounts, orders, authorizations, challenges, finalization and the
/// certificate download. It knows nothing of what the certificates are for.
/// </summary>
public sealed class AcmeClient(HttpClient http, Uri directoryUrl, ECDsa accountKey)
{
    // A server may refuse a good nonce now and then (Pebble does on purpose); each refusal carries a fresh one.
    private const int BadNonceRetries = 10;
    private JsonObject? _directory;
    private string? _nonce;

    /// <summary>The account's URL once <see cref="EnsureAccountAsync"/> found or made it; requests are signed with it.</summary>
    public string? AccountUrl { get; set; }

    /// <summary>The HTTP-01 key authorization for <paramref name="token"/>: <c>token.thumbprint(account key)</c> (RFC 8555 §8.1).</summary>
    public string KeyAuthorization(string token) => $"{token}.{AcmeJws.Thumbprint(accountKey)}";

    /// <summary>Finds the account of this key, or makes one agreeing to the terms of service.</summary>
    public async Task<string> EnsureAccountAsync(string? contactEmail, CancellationToken cancellation)
    {
        if (AccountUrl is not null) return AccountUrl;
        var payload = new JsonObject { ["termsOfServiceAgreed"] = true };
        if (!string.IsNullOrWhiteSpace(contactEmail)) payload["contact"] = new JsonArray($"mailto:{contactEmail}");
        var answer = await PostAsync(await EndpointAsync("newAccount", cancellation), payload, cancellation, signWithKey: true);
        AccountUrl = answer.Location ?? throw new AcmeException("malformed", "The ACME server made an account but gave no Location for it.", answer.Status);
        return AccountUrl;
    }

    public async Task<AcmeOrder> NewOrderAsync(IReadOnlyList<string> domains, CancellationToken cancellation)
    {
        var identifiers = new JsonArray([.. domains.Select(d => (JsonNode)new JsonObject { ["type"] = "dns", ["value"] = d })]);
        var answer = await PostAsync(await EndpointAsync("newOrder", cancellation), new JsonObject { ["identifiers"] = identifiers }, cancellation);
        return AcmeOrder.From(answer.Location ?? throw new AcmeException("malformed", "The ACME server gave no Location for the new order.", answer.Status), answer.Json());
    }

    public async Task<AcmeOrder> GetOrderAsync(string url, CancellationToken cancellation) =>
        AcmeOrder.From(url, (await PostAsync(url, null, cancellation)).Json());

    public async Task<AcmeAuthorization> GetAuthorizationAsync(string url, CancellationToken cancellation) =>
        AcmeAuthorization.From(url, (await PostAsync(url, null, cancellation)).Json());

    /// <summary>Tells the server the challenge is ready to be validated (the payload is an empty object, §7.5.1).</summary>
    public async Task AcceptChallengeAsync(string challengeUrl, CancellationToken cancellation) =>
        await PostAsync(challengeUrl, new JsonObject(), cancellation);

    /// <param name="csr">The DER certificate signing request.</param>
    public async Task<AcmeOrder> FinalizeAsync(AcmeOrder order, byte[] csr, CancellationToken cancellation) =>
        AcmeOrder.From(order.Url, (await PostAsync(order.FinalizeUrl, new JsonObject { ["csr"] = AcmeJws.Base64Url(csr) }, cancellation)).Json());

    /// <summary>The issued certificate chain (PEM, the leaf first).</summary>
    public async Task<string> DownloadCertificateAsync(string url, CancellationToken cancellation) =>
        (await PostAsync(url, null, cancellation, accept: "application/pem-certificate-chain")).Body;

    private async Task<string> EndpointAsync(string name, CancellationToken cancellation)
    {
        if (_directory is null)
        {
            using var response = await http.GetAsync(directoryUrl, cancellation);
            var body = await response.Content.ReadAsStringAsync(cancellation);
            if (!response.IsSuccessStatusCode) throw AcmeException.From(response, body);
            _directory = JsonNode.Parse(body) as JsonObject ?? throw new AcmeException("malformed", "The ACME directory is not a JSON object.", response.StatusCode);
        }

        return _directory[name]?.GetValue<string>() ?? throw new AcmeException("malformed", $"The ACME directory has no {name}.", HttpStatusCode.OK);
    }

    private async Task<string> NonceAsync(CancellationToken cancellation)
    {
        if (Interlocked.Exchange(ref _nonce, null) is { } kept) return kept;
        using var request = new HttpRequestMessage(HttpMethod.Head, await EndpointAsync("newNonce", cancellation));
        using var response = await http.SendAsync(request, cancellation);
        return NonceOf(response) ?? throw new AcmeException("badNonce", "The ACME server gave no Replay-Nonce.", response.StatusCode);
    }

    private static string? NonceOf(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Replay-Nonce", out var values) ? values.FirstOrDefault() : null;

    /// <summary>A signed POST (POST-as-GET when <paramref name="payload"/> is null); a badNonce refusal is sent again with a fresh nonce.</summary>
    private async Task<Answer> PostAsync(string url, JsonNode? payload, CancellationToken cancellation, bool signWithKey = false, string? accept = null)
    {
        if (!signWithKey && AccountUrl is null) throw new InvalidOperationException("The ACME account must exist before this request.");
        for (var attempt = 0; ; attempt++)
        {
            var body = AcmeJws.Sign(accountKey, url, await NonceAsync(cancellation), signWithKey ? null : AccountUrl, payload?.DeepClone());
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/jose+json");
            if (accept is not null) request.Headers.Accept.ParseAdd(accept);
            using var response = await http.SendAsync(request, cancellation);
            if (NonceOf(response) is { } nonce) _nonce = nonce;
            var text = await response.Content.ReadAsStringAsync(cancellation);
            if (response.IsSuccessStatusCode)
            {
                return new Answer(response.StatusCode, text, response.Headers.Location?.ToString());
            }

            var problem = AcmeException.From(response, text);
            if (problem.Type == "badNonce" && attempt < BadNonceRetries) continue;
            throw problem;
        }
    }

    private sealed record Answer(HttpStatusCode Status, string Body, string? Location)
    {
        public JsonObject Json() => JsonNode.Parse(Body) as JsonObject ?? throw new AcmeException("malformed", "The ACME server answered something other than a JSON object.", Status);
    }
}

/// <summary>An order (§7.1.3): its status, authorizations, where to finalize it and, once valid, where its certificate is.</summary>
public sealed record AcmeOrder(string Url, string Status, IReadOnlyList<string> Authorizations, string FinalizeUrl, string? CertificateUrl, AcmeProblem? Error)
{
    public static AcmeOrder From(string url, JsonObject json) => new(
        url,
        json["status"]?.GetValue<string>() ?? "",
        [.. (json["authorizations"] as JsonArray ?? []).Select(a => a!.GetValue<string>())],
        json["finalize"]?.GetValue<string>() ?? "",
        json["certificate"]?.GetValue<string>(),
        AcmeProblem.From(json["error"]));
}

/// <summary>An authorization (§7.1.4) and its challenges.</summary>
public sealed record AcmeAuthorization(string Url, string Status, string Identifier, IReadOnlyList<AcmeChallenge> Challenges)
{
    public static AcmeAuthorization From(string url, JsonObject json) => new(
        url,
        json["status"]?.GetValue<string>() ?? "",
        json["identifier"]?["value"]?.GetValue<string>() ?? "",
        [.. (json["challenges"] as JsonArray ?? []).OfType<JsonObject>().Select(c => new AcmeChallenge(
            c["type"]?.GetValue<string>() ?? "", c["url"]?.GetValue<string>() ?? "", c["token"]?.GetValue<string>() ?? "",
            c["status"]?.GetValue<string>() ?? "", AcmeProblem.From(c["error"])))]);
}

public sealed record AcmeChallenge(string Type, string Url, string Token, string Status, AcmeProblem? Error);

/// <summary>An RFC 7807 problem from the server; <see cref="Type"/> without the <c>urn:ietf:params:acme:error:</c> prefix.</summary>
public sealed record AcmeProblem(string Type, string Detail)
{
    public const string Prefix = "urn:ietf:params:acme:error:";

    public static AcmeProblem? From(JsonNode? node) => node is JsonObject problem
        ? new AcmeProblem(Strip(problem["type"]?.GetValue<string>()), problem["detail"]?.GetValue<string>() ?? "")
        : null;

    public static string Strip(string? type) => type is null ? "" : type.StartsWith(Prefix, StringComparison.Ordinal) ? type[Prefix.Length..] : type;

    public override string ToString() => Detail.Length == 0 ? Type : $"{Type}: {Detail}";
}

/// <summary>
/// The ACME server refused a request. <see cref="Type"/> is the problem type (<c>badNonce</c>, <c>rateLimited</c>,
/// <c>unauthorized</c>, <c>connection</c>…); <see cref="RetryAfter"/> what its Retry-After asked for, if anything.
/// </summary>
public sealed class AcmeException(string type, string detail, HttpStatusCode status, TimeSpan? retryAfter = null)
    : Exception(detail.Length == 0 ? $"ACME error {type} ({(int)status})" : $"{type}: {detail}")
{
    public string Type { get; } = type;

    public HttpStatusCode Status { get; } = status;

    public TimeSpan? RetryAfter { get; } = retryAfter;

    public static AcmeException From(HttpResponseMessage response, string body)
    {
        AcmeProblem? problem = null;
        try
        {
            problem = AcmeProblem.From(JsonNode.Parse(body));
        }
        catch (System.Text.Json.JsonException)
        {
        }

        var retryAfter = response.Headers.RetryAfter is { } header
            ? header.Delta ?? (header.Date is { } date ? date - DateTimeOffset.UtcNow : null)
            : null;
        return new AcmeException(problem?.Type ?? "serverInternal", problem?.Detail ?? $"HTTP {(int)response.StatusCode}", response.StatusCode, retryAfter);
    }
}
