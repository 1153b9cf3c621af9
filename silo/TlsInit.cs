using Actors.Extensions.Security;

namespace CloudDeck.Silo;

/// <summary>
/// <c>CloudDeck.Silo tls-init DIR</c>: makes the files cluster mode's mutual TLS needs, for operators without a PKI of
/// their own: a private authority (ca.pem, ca.key) and one certificate every process may share (node.pem, node.key).
/// Files already there are kept, so running it again (a compose one-shot service on every `up`) changes nothing.
/// </summary>
internal static class TlsInit
{
    public static int Run(string directory, TextWriter output)
    {
        Directory.CreateDirectory(directory);
        var (caPem, caKey) = (Path.Combine(directory, "ca.pem"), Path.Combine(directory, "ca.key"));
        var (nodePem, nodeKey) = (Path.Combine(directory, "node.pem"), Path.Combine(directory, "node.key"));
        using var authority = File.Exists(caPem) && File.Exists(caKey)
            ? CertificateAuthority.Load(caPem, caKey)
            : Created(caPem, caKey);
        if (!File.Exists(nodePem) || !File.Exists(nodeKey))
        {
            using var node = authority.Issue("clouddeck-node", TimeSpan.FromDays(825));
            CertificateAuthority.WritePem(node, nodePem, nodeKey);
        }

        output.WriteLine($"""
            Mutual TLS files in {Path.GetFullPath(directory)}. Give every silo and API process:
              CloudDeck__Cluster__Tls__AuthorityPath={Path.GetFullPath(caPem)}
              CloudDeck__Cluster__Tls__CertificatePath={Path.GetFullPath(nodePem)}
              CloudDeck__Cluster__Tls__KeyPath={Path.GetFullPath(nodeKey)}
            Keep ca.key away from the hosts that run builds: whoever holds it can join the cluster.
            """);
        return 0;
    }

    private static CertificateAuthority Created(string certificatePath, string keyPath)
    {
        var authority = CertificateAuthority.Create("clouddeck-cluster-ca", TimeSpan.FromDays(3650));
        CertificateAuthority.WritePem(authority.Certificate, certificatePath, keyPath);
        return authority;
    }
}
