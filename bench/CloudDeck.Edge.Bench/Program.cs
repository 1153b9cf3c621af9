using System.Globalization;
using CloudDeck.Testing;

namespace CloudDeck.Edge.Bench;

/// <summary>
/// <c>./build.sh bench edge [--files 1000] [--connections 64] [--duration 10] [--rounds 3]</c>
/// Static requests/s of the CloudDeck edge (the real API process: Kestrel, the edge middleware, alias → manifest →
/// file from memory) beside Debian's nginx serving the same files from the same directory tree, in the same run,
/// alternating rounds and keeping the best of each side. Target: edge ≥ 0.5× nginx.
/// </summary>
internal static class EdgeBench
{
    public static async Task<int> Main(string[] args)
    {
        if (args is ["--serve", var data, var siteArg, var manifestArg, var portText])
        {
            return await EdgeServer.RunAsync(data, siteArg, manifestArg, int.Parse(portText, CultureInfo.InvariantCulture));
        }

        if (args is ["--serve", var tlsData, var tlsSite, var tlsManifest, var tlsPortText, var httpsPortText, var certificate, var key])
        {
            return await EdgeServer.RunAsync(tlsData, tlsSite, tlsManifest, int.Parse(tlsPortText, CultureInfo.InvariantCulture),
                (int.Parse(httpsPortText, CultureInfo.InvariantCulture), certificate, key));
        }

        if (args.Contains("--https"))
        {
            return await HttpsBench.RunAsync(Option(args, "--files", 1000), Option(args, "--connections", 64), TimeSpan.FromSeconds(Option(args, "--duration", 10)),
                Option(args, "--rounds", 3), TextOption(args, "--nginx-protocols", "TLSv1.2 TLSv1.3"));
        }

        if (args is ["--bare-proxy", var barePort, var upstream])
        {
            return await BareProxy.RunAsync(int.Parse(barePort, CultureInfo.InvariantCulture), upstream);
        }

        if (args.Contains("--rollback")) return await RollbackBench.RunAsync(Option(args, "--rounds", 200));
        if (args.Contains("--misses"))
        {
            return await MissesBench.RunAsync(Option(args, "--connections", 64), TimeSpan.FromSeconds(Option(args, "--duration", 10)), Option(args, "--rounds", 3));
        }

        if (args.Contains("--proxy"))
        {
            return await ProxyBench.RunAsync(Option(args, "--connections", 32), TimeSpan.FromSeconds(Option(args, "--duration", 10)),
                Option(args, "--rounds", 3), Option(args, "--cold-starts", 5));
        }

        var files = Option(args, "--files", 1000);
        var connections = Option(args, "--connections", 64);
        var duration = TimeSpan.FromSeconds(Option(args, "--duration", 10));
        var rounds = Option(args, "--rounds", 3);
        if (NginxServer.Binary is null)
        {
            Console.Error.WriteLine("nginx is missing: apt-get install -y nginx (the baseline of this benchmark).");
            return 1;
        }

        var work = Directory.CreateTempSubdirectory("clouddeck-edge-bench-").FullName;
        // Readable by nginx's workers whatever user they run as.
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(work, (UnixFileMode)0b111_101_101);
        try
        {
            var (site, manifest, manifestFile, pathsFile) = await SiteFiles.WriteSiteAsync(work, files);
            Console.WriteLine($"CloudDeck.Edge.Bench on {Environment.ProcessorCount} cores, .NET {Environment.Version}: {files:N0} files " +
                              $"({manifest.Files.Sum(f => f.Size) / 1024.0 / 1024:0.0} MiB), {connections} connections, {duration.TotalSeconds:0} s per round, {rounds} rounds, " +
                              $"load by {(Load.Wrk is null ? "HttpClient" : "wrk")}");

            var edgePort = ChildProcess.FreeTcpPort();
            var dll = typeof(SiteFiles).Assembly.Location;
            await using var edge = ChildProcess.Start(RepoPaths.DotnetHost, [dll, "--serve", Path.Combine(work, "data"), site, manifestFile, edgePort.ToString(CultureInfo.InvariantCulture)],
                workingDirectory: Path.GetDirectoryName(dll));
            var ready = await edge.WaitForOutputAsync(line => line.StartsWith("READY", StringComparison.Ordinal), TimeSpan.FromMinutes(2));
            // "READY <deployment id> <production host>": the host the site's production alias answers on.
            var host = ready.Split(' ')[^1];
            var nginxPort = ChildProcess.FreeTcpPort();
            await using var nginx = await NginxServer.StartAsync(work, site, nginxPort);
            var edgeUri = new Uri($"http://127.0.0.1:{edgePort}/");
            var nginxUri = new Uri($"http://127.0.0.1:{nginxPort}/");
            await VerifyAsync(edgeUri, host, nginxUri, manifest, site);

            // Warm-up: the edge fills its caches (alias, manifest, every file) and the JIT settles; nginx opens its files.
            await Load.RunAsync(edgeUri, host, pathsFile, connections, TimeSpan.FromSeconds(3), work);
            await Load.RunAsync(nginxUri, null, pathsFile, connections, TimeSpan.FromSeconds(3), work);
            var edgeRuns = new List<LoadResult>();
            var nginxRuns = new List<LoadResult>();
            for (var round = 1; round <= rounds; round++)
            {
                edgeRuns.Add(await Load.RunAsync(edgeUri, host, pathsFile, connections, duration, work));
                nginxRuns.Add(await Load.RunAsync(nginxUri, null, pathsFile, connections, duration, work));
                Console.WriteLine($"  round {round}: edge {edgeRuns[^1].RequestsPerSecond,10:N0}/s ({edgeRuns[^1].Errors} errors)   nginx {nginxRuns[^1].RequestsPerSecond,10:N0}/s ({nginxRuns[^1].Errors} errors)");
            }

            edge.Kill(Signal.SIGTERM);
            nginx.Kill(Signal.SIGTERM);
            var bestEdge = edgeRuns.Max(r => r.RequestsPerSecond);
            var bestNginx = nginxRuns.Max(r => r.RequestsPerSecond);
            Console.WriteLine();
            Console.WriteLine("| measure | CloudDeck edge | nginx | ratio |");
            Console.WriteLine("| --- | ---: | ---: | ---: |");
            Console.WriteLine($"| static GETs/s, {files:N0} files, {connections} connections | {bestEdge:N0} | {bestNginx:N0} | {bestEdge / bestNginx:0.00} |");
            Console.WriteLine($"Target ≥ 0.5× nginx: {(bestEdge >= 0.5 * bestNginx ? "met" : "NOT met")}.");
            return edgeRuns.Concat(nginxRuns).Any(r => r.Errors > 0) ? 1 : 0;
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

    internal static string TextOption(string[] args, string name, string fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : fallback;
    }

    internal static int Option(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
    }

    // Both servers must answer the very bytes of the site before their speed means anything.
    internal static async Task VerifyAsync(Uri edge, string host, Uri nginx, CloudDeck.GrainInterfaces.Deployments.DeploymentManifest manifest, string site)
    {
        using var http = new HttpClient();
        foreach (var file in manifest.Files.Where((_, i) => i % 37 == 0))
        {
            var expected = await File.ReadAllBytesAsync(Path.Combine(site, file.Path));
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(edge, file.Path));
            request.Headers.Host = host;
            using var fromEdge = await http.SendAsync(request);
            var edgeBytes = await fromEdge.Content.ReadAsByteArrayAsync();
            var nginxBytes = await http.GetByteArrayAsync(new Uri(nginx, file.Path));
            if (!edgeBytes.AsSpan().SequenceEqual(expected) || !nginxBytes.AsSpan().SequenceEqual(expected))
            {
                throw new InvalidOperationException($"/{file.Path}: edge {(int)fromEdge.StatusCode} {edgeBytes.Length} bytes, nginx {nginxBytes.Length} bytes, expected {expected.Length}");
            }
        }
    }
}
