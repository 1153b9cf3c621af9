using System.Security.Cryptography.X509Certificates;
using Orleans.Connections.Security;
using Orleans.Hosting;

namespace Actors.Extensions.Security;

/// <summary>
/// The certificate a process presents on silo-to-silo and client-to-gateway connections, and the authorities whose
/// certificates it accepts from the other side. Both sides must present one: a process without a certificate issued by
/// a trusted authority cannot open a connection to a silo, nor accept one.
/// </summary>
public sealed class MutualTlsCredentials
{
    public MutualTlsCredentials(X509Certificate2 certificate, X509Certificate2Collection trustedAuthorities)
    {
        if (!certificate.HasPrivateKey)
        {
            throw new InvalidOperationException($"The TLS certificate '{certificate.Subject}' has no private key.");
        }

        if (trustedAuthorities.Count == 0)
        {
            throw new InvalidOperationException("Mutual TLS needs at least one trusted certificate authority.");
        }

        Certificate = certificate;
        TrustedAuthorities = trustedAuthorities;
    }

    public X509Certificate2 Certificate { get; }

    public X509Certificate2Collection TrustedAuthorities { get; }

    /// <summary>Reads a PEM certificate, its PEM private key and a PEM bundle of the authorities to trust.</summary>
    public static MutualTlsCredentials FromPemFiles(string certificatePath, string keyPath, string authoritiesPath)
    {
        var certificate = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
        var authorities = new X509Certificate2Collection();
        authorities.ImportFromPemFile(authoritiesPath);
        return new MutualTlsCredentials(certificate, authorities);
    }

    /// <summary>
    /// A self-signed certificate that trusts only itself: for a process that must accept no connection from anyone
    /// else (a lone silo whose port is still open on loopback).
    /// </summary>
    public static MutualTlsCredentials SelfOnly(string subjectName)
    {
        var authority = CertificateAuthority.Create(subjectName, TimeSpan.FromDays(3650));
        return new MutualTlsCredentials(authority.Certificate, [X509CertificateLoader.LoadCertificate(authority.Certificate.RawData)]);
    }

    /// <summary>True when <paramref name="remote"/> chains to one of <see cref="TrustedAuthorities"/> and is valid now.</summary>
    public bool Trusts(X509Certificate2 remote)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(TrustedAuthorities);
        // The operator's private authority publishes no revocation list; a leaked key is handled by replacing the authority.
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(remote);
    }
}

/// <summary>Mutual TLS on every connection a silo or client makes or accepts, with Orleans' TLS middleware.</summary>
public static class MutualTlsExtensions
{
    /// <summary>Silo-to-silo and gateway connections, inbound and outbound, require a certificate the credentials trust.</summary>
    public static ISiloBuilder UseMutualTls(this ISiloBuilder builder, MutualTlsCredentials credentials) =>
        builder.UseTls(credentials.Certificate, options => Configure(options, credentials));

    /// <summary>Connections to the gateways present the client's certificate and accept only a trusted silo.</summary>
    public static IClientBuilder UseMutualTls(this IClientBuilder builder, MutualTlsCredentials credentials) =>
        builder.UseTls(credentials.Certificate, options => Configure(options, credentials));

    private static void Configure(TlsOptions options, MutualTlsCredentials credentials)
    {
        options.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        options.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
        // Silos are reached by IP address, so the host name in a certificate proves nothing here: a certificate issued by
        // the cluster's own authority is what admits a peer. Orleans calls this for every remote certificate, instead of
        // its default check against the machine's public roots.
        options.RemoteCertificateValidation = (certificate, _, _) => credentials.Trusts(certificate);
    }
}
