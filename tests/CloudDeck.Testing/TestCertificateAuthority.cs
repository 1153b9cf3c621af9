using Actors.Extensions.Security;

namespace CloudDeck.Testing;

/// <summary>
/// A private certificate authority in a temp directory, as an operator makes one for a cluster: the authority's
/// certificate, and a certificate with its key per process, all PEM files.
/// </summary>
public sealed class TestCertificateAuthority : IDisposable
{
    private static readonly Lazy<TestCertificateAuthority> SharedAuthority = new(() => Create("clouddeck-test-cluster-ca"));
    private readonly CertificateAuthority _authority;

    private TestCertificateAuthority(string directory, CertificateAuthority authority)
    {
        Directory = directory;
        _authority = authority;
        AuthorityPath = Path.Combine(directory, "ca.pem");
        File.WriteAllText(AuthorityPath, authority.Certificate.ExportCertificatePem());
    }

    /// <summary>One authority for every cluster a test process starts.</summary>
    public static TestCertificateAuthority Shared => SharedAuthority.Value;

    public string Directory { get; }

    public string AuthorityPath { get; }

    public static TestCertificateAuthority Create(string name) =>
        new(System.IO.Directory.CreateTempSubdirectory("clouddeck-ca-").FullName, CertificateAuthority.Create(name, TimeSpan.FromDays(30)));

    /// <summary>Issues a certificate for one process and writes it and its key.</summary>
    public (string CertificatePath, string KeyPath) Issue(string name)
    {
        using var certificate = _authority.Issue(name, TimeSpan.FromDays(29));
        var stem = Path.Combine(Directory, $"{name}-{Guid.NewGuid():N}");
        CertificateAuthority.WritePem(certificate, stem + ".pem", stem + ".key");
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
