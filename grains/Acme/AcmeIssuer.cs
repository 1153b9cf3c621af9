using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CloudDeck.Grains.Acme;

/// <summary>A certificate an ACME server issued: the chain as served (leaf first) and the leaf's key, both PEM.</summary>
public sealed record AcmeCertificate(string ChainPem, string KeyPem, DateTimeOffset NotBefore, DateTimeOffset NotAfter, string Issuer);

/// <summary>
/// One certificate order from start to download with HTTP-01: the order, each authorization's challenge published
/// through <c>publish</c> (token → key authorization, served at <c>/.well-known/acme-challenge/{token}</c>) before the
/// server is told to validate it, a fresh P-256 key and its CSR, finalization and the chain.
/// </summary>
public static class AcmeIssuer
{
    public const string Http01 = "http-01";

    /// <param name="pollFor">How long to wait for an authorization or the order to leave pending/processing.</param>
    /// <exception cref="AcmeException">The server refused or a challenge failed; the type and detail say why.</exception>
    public static async Task<AcmeCertificate> IssueAsync(AcmeClient client, IReadOnlyList<string> domains, Func<string, string, Task> publish,
        TimeSpan pollFor, CancellationToken cancellation)
    {
        var order = await client.NewOrderAsync(domains, cancellation);
        foreach (var url in order.Authorizations)
        {
            var authorization = await client.GetAuthorizationAsync(url, cancellation);
            if (authorization.Status == "valid") continue;
            var challenge = authorization.Challenges.FirstOrDefault(c => c.Type == Http01)
                            ?? throw new AcmeException("unsupported", $"The server offers no {Http01} challenge for {authorization.Identifier}.", HttpStatusCode.OK);
            await publish(challenge.Token, client.KeyAuthorization(challenge.Token));
            if (challenge.Status == "pending") await client.AcceptChallengeAsync(challenge.Url, cancellation);
            authorization = await PollAsync(() => client.GetAuthorizationAsync(url, cancellation), a => a.Status is "pending" or "processing", pollFor, cancellation);
            if (authorization.Status != "valid")
            {
                var failed = authorization.Challenges.FirstOrDefault(c => c.Type == Http01)?.Error;
                throw new AcmeException(failed?.Type ?? "unauthorized",
                    $"{authorization.Identifier}: {Http01} challenge {authorization.Status}{(failed is null ? "" : $" ({failed.Detail})")}", HttpStatusCode.OK);
            }
        }

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={domains[0]}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        foreach (var domain in domains) names.AddDnsName(domain);
        request.CertificateExtensions.Add(names.Build());
        order = await PollAsync(() => client.GetOrderAsync(order.Url, cancellation), o => o.Status is "pending", pollFor, cancellation);
        if (order.Status == "ready") order = await client.FinalizeAsync(order, request.CreateSigningRequest(), cancellation);
        order = await PollAsync(() => client.GetOrderAsync(order.Url, cancellation), o => o.Status is "processing" or "ready", pollFor, cancellation);
        if (order.Status != "valid" || order.CertificateUrl is null)
        {
            throw new AcmeException(order.Error?.Type ?? "orderNotReady", $"The order is {order.Status}{(order.Error is null ? "" : $" ({order.Error.Detail})")}", HttpStatusCode.OK);
        }

        var chain = await client.DownloadCertificateAsync(order.CertificateUrl, cancellation);
        using var leaf = X509Certificate2.CreateFromPem(chain);
        using var leafKey = leaf.GetECDsaPublicKey();
        if (leafKey is null || !leafKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(key.ExportSubjectPublicKeyInfo()))
        {
            throw new AcmeException("malformed", "The downloaded certificate is not for the key the order was finalized with.", HttpStatusCode.OK);
        }

        return new AcmeCertificate(chain, key.ExportPkcs8PrivateKeyPem(), leaf.NotBefore.ToUniversalTime(), leaf.NotAfter.ToUniversalTime(), leaf.Issuer);
    }

    private static async Task<T> PollAsync<T>(Func<Task<T>> read, Func<T, bool> waiting, TimeSpan pollFor, CancellationToken cancellation)
    {
        var deadline = DateTime.UtcNow + pollFor;
        var delay = TimeSpan.FromMilliseconds(250);
        while (true)
        {
            var value = await read();
            if (!waiting(value) || DateTime.UtcNow >= deadline) return value;
            await Task.Delay(delay, cancellation);
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 5000));
        }
    }
}
