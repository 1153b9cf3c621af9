using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace CloudDeck.Grains.Acme;

/// <summary>HTTP clients for talking to an ACME directory.</summary>
public static class AcmeHttpClients
{
    /// <summary>
    /// A client that trusts the system's roots and, when <paramref name="trustedRootPath"/> names a PEM file, that root too
    /// (a private ACME server's own certificate authority). No redirects are followed: ACME answers carry Location as data.
    /// </summary>
    public static HttpClient Create(string? trustedRootPath)
    {
        var handler = new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) };
        if (!string.IsNullOrEmpty(trustedRootPath))
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(trustedRootPath);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            {
                if (errors == SslPolicyErrors.None) return true;
                if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != 0) return false;
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.AddRange(roots);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(new X509Certificate2(certificate));
            };
        }

        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
    }
}
