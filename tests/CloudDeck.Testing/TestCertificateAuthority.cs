using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CloudDeck.Testing;

/// <summary>
/// A private certificate authority in a temp directory, as an operator would make one with openssl for a cluster: one
/// authority certificate, and a certificate with its key per process, all PEM files.
/// </summary>
public sealed class TestCertificateAuthority : IDisposable
{
    private static readonly Lazy<TestCertificateAuthority> SharedAuthority = new(() => Create("clouddeck-test-cluster-ca"));
    private readonly X509Certificate2 _authority;

    private TestCertificateAuthority(string directory, X509Certificate2 authority)
    {
        Directory = directory;
        _authority = authority;
        AuthorityPath = Path.Combine(directory, "ca.pem");
        File.WriteAllText(AuthorityPath, authority.ExportCertificatePem());
    }

    /// <summary>One authority for every cluster a test process starts.</summary>
    public static TestCertificateAuthority Shared => SharedAuthority.Value;

    public string Directory { get; }

    public string AuthorityPath { get; }

    public static TestCertificateAuthority Create(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        var now = DateTimeOffset.UtcNow;
        var authority = request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(30));
        return new TestCertificateAuthority(System.IO.Directory.CreateTempSubdirectory("clouddeck-ca-").FullName, authority);
    }

    /// <summary>Issues a certificate for one process (server and client authentication) and writes it and its key.</summary>
    public (string CertificatePath, string KeyPath) Issue(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, false, 0, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], critical: false));
        var now = DateTimeOffset.UtcNow;
        using var certificate = request.Create(_authority, now.AddMinutes(-1), now.AddDays(29), RandomNumberGenerator.GetBytes(16));
        var stem = Path.Combine(Directory, $"{name}-{Guid.NewGuid():N}");
        File.WriteAllText(stem + ".pem", certificate.ExportCertificatePem());
        File.WriteAllText(stem + ".key", key.ExportPkcs8PrivateKeyPem());
        return (stem + ".pem", stem + ".key");
    }

    /// <summary>The <c>CloudDeck:Cluster:Tls:*</c> environment of a process holding a certificate from this authority.</summary>
    public Dictionary<string, string?> ClusterTlsEnvironment(string name)
    {
        var (certificate, key) = Issue(name);
        return new Dictionary<string, string?>
        {
            ["CloudDeck__Cluster__Tls__CertificatePath"] = certificate,
            ["CloudDeck__Cluster__Tls__KeyPath"] = key,
            ["CloudDeck__Cluster__Tls__AuthorityPath"] = AuthorityPath,
        };
    }

    public void Dispose()
    {
        _authority.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
