using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;

namespace CloudDeck.Testing;

/// <summary>
/// A real ACME server for tests: Debian's <c>pebble</c> on loopback ports, resolving names through
/// <paramref name="dnsServer"/> and validating HTTP-01 on <paramref name="httpPort"/> (the edge under test). Debian's
/// package ships no certificate for Pebble's own HTTPS, so one is made here; its PEM is <see cref="TlsCertificatePath"/>,
/// which the ACME client is told to trust. <see cref="RootPem"/> is the root Pebble issues under.
/// </summary>
public sealed class PebbleServer : IAsyncDisposable
{
    private readonly string _directory;

    private PebbleServer(ChildProcess process, string directory, int acmePort, int managementPort, string tlsCertificatePath)
    {
        Process = process;
        _directory = directory;
        DirectoryUrl = $"https://127.0.0.1:{acmePort}/dir";
        ManagementUrl = $"https://127.0.0.1:{managementPort}";
        TlsCertificatePath = tlsCertificatePath;
    }

    public static string? Binary => PostgresTools.FindOnPath("pebble");

    /// <summary>The openssl command line, which the tests use to look at what the edge presents.</summary>
    public static string? OpenSsl => PostgresTools.FindOnPath("openssl");

    public ChildProcess Process { get; }

    public string DirectoryUrl { get; }

    public string ManagementUrl { get; }

    public string TlsCertificatePath { get; }

    /// <summary>The root of the chains Pebble issues (read from its management interface).</summary>
    public string RootPem { get; private set; } = "";

    /// <summary>Where <see cref="RootPem"/> is written, for <c>openssl -CAfile</c>.</summary>
    public string RootPath => Path.Combine(_directory, "issuer-root.pem");

    /// <param name="dnsServer">host:port of the DNS server Pebble's validation asks.</param>
    /// <param name="httpPort">The port Pebble connects to for HTTP-01.</param>
    /// <param name="nonceRejectPercent">PEBBLE_WFE_NONCEREJECT: the share of good nonces Pebble refuses as bad.</param>
    public static async Task<PebbleServer> StartAsync(string dnsServer, int httpPort, int nonceRejectPercent, CancellationToken cancellationToken)
    {
        var binary = Binary ?? throw new InvalidOperationException("pebble is not installed (apt-get install pebble).");
        var directory = Directory.CreateTempSubdirectory("clouddeck-pebble-").FullName;
        var (certificatePath, keyPath) = WriteTlsCertificate(directory);
        var acmePort = ChildProcess.FreeTcpPort();
        var managementPort = ChildProcess.FreeTcpPort();
        var config = new JsonObject
        {
            ["pebble"] = new JsonObject
            {
                ["listenAddress"] = $"127.0.0.1:{acmePort}",
                ["managementListenAddress"] = $"127.0.0.1:{managementPort}",
                ["certificate"] = certificatePath,
                ["privateKey"] = keyPath,
                ["httpPort"] = httpPort,
                ["tlsPort"] = ChildProcess.FreeTcpPort(),
                ["ocspResponderURL"] = "",
                ["externalAccountBindingRequired"] = false,
            },
        };
        var configPath = Path.Combine(directory, "pebble-config.json");
        await File.WriteAllTextAsync(configPath, config.ToJsonString(), cancellationToken);
        var process = ChildProcess.Start(binary, ["-config", configPath, "-dnsserver", dnsServer], new Dictionary<string, string?>
        {
            ["PEBBLE_VA_NOSLEEP"] = "1",
            ["PEBBLE_WFE_NONCEREJECT"] = nonceRejectPercent.ToString(System.Globalization.CultureInfo.InvariantCulture),
            // Every order validates afresh, so each one exercises the edge's challenge answer.
            ["PEBBLE_AUTHZREUSE"] = "0",
        });
        var server = new PebbleServer(process, directory, acmePort, managementPort, certificatePath);
        try
        {
            using var http = server.CreateClient();
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (true)
            {
                if (process.HasExited) throw new InvalidOperationException($"pebble exited with code {process.ExitCode}:\n{process.Output}");
                try
                {
                    using var root = await http.GetAsync($"{server.ManagementUrl}/roots/0", cancellationToken);
                    if (root.StatusCode == HttpStatusCode.OK)
                    {
                        server.RootPem = await root.Content.ReadAsStringAsync(cancellationToken);
                        await File.WriteAllTextAsync(server.RootPath, server.RootPem, cancellationToken);
                        return server;
                    }
                }
                catch (HttpRequestException)
                {
                }

                if (DateTime.UtcNow > deadline) throw new InvalidOperationException($"pebble did not answer within 30 s:\n{process.Output}");
                await Task.Delay(100, cancellationToken);
            }
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>A client that trusts Pebble's own HTTPS certificate (and nothing else of it).</summary>
    public HttpClient CreateClient()
    {
        var trusted = X509Certificate2.CreateFromPem(File.ReadAllText(TlsCertificatePath));
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null && certificate.GetCertHashString() == trusted.GetCertHashString();
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
    }

    private static (string Certificate, string Key) WriteTlsCertificate(string directory)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=pebble test server", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        var certificatePath = Path.Combine(directory, "pebble-tls.pem");
        var keyPath = Path.Combine(directory, "pebble-tls.key");
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem());
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        return (certificatePath, keyPath);
    }

    public async ValueTask DisposeAsync()
    {
        await Process.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
