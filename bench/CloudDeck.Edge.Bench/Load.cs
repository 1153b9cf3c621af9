using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using CloudDeck.Testing;

namespace CloudDeck.Edge.Bench;

internal sealed record LoadResult(double RequestsPerSecond, long Errors, string Tool);

/// <summary>
/// Closed-loop GETs over every path of the site in turn, <c>connections</c> keep-alive connections. wrk when it is
/// installed (C, so the load generator takes less of the two cores from the servers); else HttpClient.
/// </summary>
internal static partial class Load
{
    public static string? Wrk => new[] { "/usr/bin/wrk", "/usr/local/bin/wrk" }.FirstOrDefault(File.Exists);

    /// <param name="closeEach">Every request on a new connection (<c>Connection: close</c>): over HTTPS, one TLS handshake per request.</param>
    public static async Task<LoadResult> RunAsync(Uri server, string? host, string pathsFile, int connections, TimeSpan duration, string workDirectory,
        bool closeEach = false)
    {
        return Wrk is { } wrk
            ? await WithWrkAsync(wrk, server, host, pathsFile, connections, duration, workDirectory, closeEach)
            : await WithHttpClientAsync(server, host, await File.ReadAllLinesAsync(pathsFile), connections, duration, closeEach);
    }

    private static async Task<LoadResult> WithWrkAsync(string wrk, Uri server, string? host, string pathsFile, int connections, TimeSpan duration, string workDirectory,
        bool closeEach)
    {
        var script = Path.Combine(workDirectory, "paths.lua");
        // Each wrk thread has its own Lua state: start them at different paths so they do not walk in step.
        await File.WriteAllTextAsync(script, $$"""
            local paths = {}
            for line in io.lines("{{pathsFile}}") do paths[#paths + 1] = line end
            local i = 0
            local counter = 0
            setup = function(thread) counter = counter + 1; thread:set("offset", counter * 397) end
            init = function(args) i = offset or 0 end
            request = function()
              i = i + 1
              return wrk.format("GET", paths[(i % #paths) + 1])
            end
            """);
        List<string> arguments = ["-t2", $"-c{connections}", $"-d{(int)duration.TotalSeconds}s", "--latency", "-s", script];
        if (host is not null) arguments.AddRange(["-H", $"Host: {host}"]);
        if (closeEach) arguments.AddRange(["-H", "Connection: close"]);
        arguments.Add(server.ToString());
        await using var process = ChildProcess.Start(wrk, arguments);
        if (!await process.WaitForExitAsync(duration + TimeSpan.FromSeconds(30))) throw new TimeoutException($"wrk did not finish:\n{process.Output}");
        var output = process.Output;
        var rate = RequestsPerSecond().Match(output);
        if (!rate.Success) throw new InvalidOperationException($"wrk printed no Requests/sec:\n{output}");
        var errors = NonSuccess().Match(output) is { Success: true } bad ? long.Parse(bad.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        return new LoadResult(double.Parse(rate.Groups[1].Value, CultureInfo.InvariantCulture), errors, "wrk");
    }

    private static async Task<LoadResult> WithHttpClientAsync(Uri server, string? host, string[] paths, int connections, TimeSpan duration, bool closeEach)
    {
        var handler = new SocketsHttpHandler { MaxConnectionsPerServer = connections, AutomaticDecompression = System.Net.DecompressionMethods.None };
        // Both servers present the bench's own self-signed certificate; what is measured is the work, not the trust.
        handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        using var http = new HttpClient(handler)
        {
            BaseAddress = server,
        };
        long completed = 0, errors = 0;
        var stopwatch = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, connections).Select(worker => Task.Run(async () =>
        {
            for (var i = worker * 397; stopwatch.Elapsed < duration; i++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, paths[i % paths.Length]);
                if (host is not null) request.Headers.Host = host;
                if (closeEach) request.Headers.ConnectionClose = true;
                using var response = await http.SendAsync(request);
                await response.Content.CopyToAsync(Stream.Null);
                if (!response.IsSuccessStatusCode) Interlocked.Increment(ref errors);
                Interlocked.Increment(ref completed);
            }
        }));
        await Task.WhenAll(workers);
        return new LoadResult(completed / stopwatch.Elapsed.TotalSeconds, errors, "HttpClient");
    }

    [GeneratedRegex(@"Requests/sec:\s+([0-9.]+)")]
    private static partial Regex RequestsPerSecond();

    [GeneratedRegex(@"Non-2xx or 3xx responses:\s+(\d+)")]
    private static partial Regex NonSuccess();
}
