using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CloudDeck.Testing;

namespace CloudDeck.Edge.Bench;

/// <summary>
/// <c>./build.sh bench edge --https [--files 1000] [--connections 64] [--duration 10] [--rounds 3] [--nginx-protocols "TLSv1.2 TLSv1.3"]</c>
/// The edge's HTTPS listener (Kestrel, the certificate chosen per handshake by <c>EdgeCertificates</c>, the edge
/// middleware) beside nginx serving the same files with the same certificate and key (ECDSA P-256), same run, alternating
/// rounds, best of each side: static requests/s over keep-alive connections, and TLS handshakes/s (every request on a new
/// connection). nginx gets the edge's protocols (Debian's nginx 1.22 alone would speak TLS 1.2 only, and a TLS 1.2 session
/// resumption skips the key exchange that TLS 1.3's still does); both sides' protocol and resumption are printed first.
/// Targets (issue 20): each ≥ 0.5× nginx.
/// </summary>
internal static class HttpsBench
{
    private const string Host = "bench.example";

    public static async Task<int> RunAsync(int files, int connections, TimeSpan duration, int rounds, string nginxProtocols)
    {
        if (NginxServer.Binary is null)
        {
            Console.Error.WriteLine("nginx is missing: apt-get install -y nginx (the baseline of this benchmark).");
            return 1;
        }

        var work = Directory.CreateTempSubdirectory("clouddeck-https-bench-").FullName;
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(work, (UnixFileMode)0b111_101_101);
        try
        {
            var (site, manifest, manifestFile, pathsFile) = await SiteFiles.WriteSiteAsync(work, files);
            var (certificate, key, thumbprint) = WriteCertificate(work);
            Console.WriteLine($"CloudDeck.Edge.Bench --https on {Environment.ProcessorCount} cores, .NET {Environment.Version}: {files:N0} files, " +
                              $"{connections} connections, {duration.TotalSeconds:0} s per round, {rounds} rounds, load by {(Load.Wrk is null ? "HttpClient" : "wrk")}, ECDSA P-256 certificate");

            var edgePort = ChildProcess.FreeTcpPort();
            var edgeHttpsPort = ChildProcess.FreeTcpPort();
            var dll = typeof(SiteFiles).Assembly.Location;
            await using var edge = ChildProcess.Start(RepoPaths.DotnetHost,
                [dll, "--serve", Path.Combine(work, "data"), site, manifestFile, Text(edgePort), Text(edgeHttpsPort), certificate, key],
                workingDirectory: Path.GetDirectoryName(dll));
            var ready = await edge.WaitForOutputAsync(line => line.StartsWith("READY", StringComparison.Ordinal), TimeSpan.FromMinutes(2));
            var host = ready.Split(' ')[^1];
            var nginxPort = ChildProcess.FreeTcpPort();
            var nginxHttpsPort = ChildProcess.FreeTcpPort();
            await using var nginx = await NginxServer.StartAsync(work, site, nginxPort, (nginxHttpsPort, certificate, key, nginxProtocols));
            await EdgeBench.VerifyAsync(new Uri($"http://127.0.0.1:{edgePort}/"), host, new Uri($"http://127.0.0.1:{nginxPort}/"), manifest, site);
            var edgeUri = new Uri($"https://127.0.0.1:{edgeHttpsPort}/");
            var nginxUri = new Uri($"https://127.0.0.1:{nginxHttpsPort}/");
            await ExpectCertificateAsync(new Uri(edgeUri, manifest.Files[0].Path), host, thumbprint);
            await ExpectCertificateAsync(new Uri(nginxUri, manifest.Files[0].Path), null, thumbprint);
            // wrk sends no SNI for an IP address, and a client that kept a session offers it again: say what each side does with that.
            Console.WriteLine($"  edge:  {await TlsProbe.RunAsync(edgeHttpsPort, null, manifest.Files[0].Path, work)}");
            Console.WriteLine($"  nginx: {await TlsProbe.RunAsync(nginxHttpsPort, null, manifest.Files[0].Path, work)}");

            var results = new List<(string Measure, double Edge, double Nginx)>();
            foreach (var (measure, closeEach) in new[] { ($"static GETs/s over HTTPS, keep-alive, {connections} connections", false), ($"TLS handshakes/s (a new connection per GET), {connections} connections", true) })
            {
                await Load.RunAsync(edgeUri, host, pathsFile, connections, TimeSpan.FromSeconds(3), work, closeEach);
                await Load.RunAsync(nginxUri, null, pathsFile, connections, TimeSpan.FromSeconds(3), work, closeEach);
                var edgeRuns = new List<LoadResult>();
                var nginxRuns = new List<LoadResult>();
                for (var round = 1; round <= rounds; round++)
                {
                    // Alternating which side goes first, so a drift in the machine's load hits both alike.
                    if (round % 2 == 1)
                    {
                        edgeRuns.Add(await Load.RunAsync(edgeUri, host, pathsFile, connections, duration, work, closeEach));
                        nginxRuns.Add(await Load.RunAsync(nginxUri, null, pathsFile, connections, duration, work, closeEach));
                    }
                    else
                    {
                        nginxRuns.Add(await Load.RunAsync(nginxUri, null, pathsFile, connections, duration, work, closeEach));
                        edgeRuns.Add(await Load.RunAsync(edgeUri, host, pathsFile, connections, duration, work, closeEach));
                    }

                    Console.WriteLine($"  {(closeEach ? "handshakes" : "keep-alive")} round {round}: edge {edgeRuns[^1].RequestsPerSecond,10:N0}/s ({edgeRuns[^1].Errors} errors)   " +
                                      $"nginx {nginxRuns[^1].RequestsPerSecond,10:N0}/s ({nginxRuns[^1].Errors} errors)");
                }

                if (edgeRuns.Concat(nginxRuns).Any(r => r.Errors > 0)) Console.WriteLine("  (some responses were errors: see above)");
                results.Add((measure, edgeRuns.Max(r => r.RequestsPerSecond), nginxRuns.Max(r => r.RequestsPerSecond)));
            }

            edge.Kill(Signal.SIGTERM);
            nginx.Kill(Signal.SIGTERM);
            Console.WriteLine();
            Console.WriteLine("| measure | CloudDeck edge | nginx | ratio |");
            Console.WriteLine("| --- | ---: | ---: | ---: |");
            foreach (var (measure, bestEdge, bestNginx) in results) Console.WriteLine($"| {measure} | {bestEdge:N0} | {bestNginx:N0} | {bestEdge / bestNginx:0.00} |");
            Console.WriteLine($"Target ≥ 0.5× nginx for each: {(results.All(r => r.Edge >= 0.5 * r.Nginx) ? "met" : "NOT met")}.");
            return 0;
        }
        finally
        {
            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static string Text(int number) => number.ToString(CultureInfo.InvariantCulture);

    /// <summary>One self-signed ECDSA P-256 certificate and key (PEM) that both servers present.</summary>
    private static (string Certificate, string Key, string Thumbprint) WriteCertificate(string work)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={Host}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(Host);
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        var certificatePath = Path.Combine(work, "bench.pem");
        var keyPath = Path.Combine(work, "bench.key");
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem());
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        return (certificatePath, keyPath, certificate.Thumbprint);
    }

    /// <summary>Both servers must present the very certificate before their speed means anything.</summary>
    private static async Task ExpectCertificateAsync(Uri server, string? host, string thumbprint)
    {
        string? seen = null;
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
        {
            seen = certificate is null ? null : new X509Certificate2(certificate).Thumbprint;
            return true;
        };
        using var http = new HttpClient(handler);
        using var request = new HttpRequestMessage(HttpMethod.Get, server);
        if (host is not null) request.Headers.Host = host;
        using var response = await http.SendAsync(request);
        if (response.StatusCode != HttpStatusCode.OK || seen != thumbprint)
        {
            throw new InvalidOperationException($"{server}: {(int)response.StatusCode}, certificate {seen ?? "none"} (expected {thumbprint})");
        }
    }
}
