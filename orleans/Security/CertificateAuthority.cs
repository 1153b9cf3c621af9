using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Actors.Extensions.Security;

/// <summary>
/// A private certificate authority for a cluster's mutual TLS: it issues each process a certificate for both ends of a
/// connection. Operators may use openssl instead; this is for those who have nothing else at hand (and for tests).
/// </summary>
public sealed class CertificateAuthority : IDisposable
{
    private CertificateAuthority(X509Certificate2 certificate) => Certificate = certificate;

    /// <summary>The authority's own certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    public static CertificateAuthority Create(string name, TimeSpan lifetime)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        var now = DateTimeOffset.UtcNow;
        return new CertificateAuthority(request.CreateSelfSigned(now.AddMinutes(-5), now.Add(lifetime)));
    }

    public static CertificateAuthority Load(string certificatePath, string keyPath) =>
        new(X509Certificate2.CreateFromPemFile(certificatePath, keyPath));

    /// <summary>A certificate for one process, usable for server and client authentication, with its private key.</summary>
    public X509Certificate2 Issue(string name, TimeSpan lifetime)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, false, 0, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1", "serverAuth"), new Oid("1.3.6.1.5.5.7.3.2", "clientAuth")], critical: false));
        var now = DateTimeOffset.UtcNow;
        var notAfter = now.Add(lifetime) < Certificate.NotAfter ? now.Add(lifetime) : new DateTimeOffset(Certificate.NotAfter);
        using var issued = request.Create(Certificate, now.AddMinutes(-5), notAfter, RandomNumberGenerator.GetBytes(16));
        return issued.CopyWithPrivateKey(key);
    }

    /// <summary>Writes a certificate and its private key as PEM; the key file is readable by its owner only.</summary>
    public static void WritePem(X509Certificate2 certificate, string certificatePath, string keyPath)
    {
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem());
        using var key = certificate.GetECDsaPrivateKey()
            ?? throw new InvalidOperationException($"The certificate '{certificate.Subject}' has no ECDSA private key to write.");
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var writer = new StreamWriter(keyPath, options);
        writer.Write(key.ExportPkcs8PrivateKeyPem());
    }

    public void Dispose() => Certificate.Dispose();
}
