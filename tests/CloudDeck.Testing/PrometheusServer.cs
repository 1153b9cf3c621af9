using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace CloudDeck.Testing;

/// <summary>
/// A real Prometheus (Debian's <c>prometheus</c>) on a free loopback port, with a scrape config written for the test
/// and its data in a temp directory; queried through its HTTP API.
/// </summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    private readonly string _directory;

    private PrometheusServer(ChildProcess process, int port, string directory)
    {
        Process = process;
        _directory = directory;
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(10) };
    }

    public static string? Binary => PostgresTools.FindOnPath("prometheus");

    public ChildProcess Process { get; }

    public HttpClient Http { get; }

    /// <summary>One scrape job: a target (host:port), its path and, if any, the bearer token Prometheus sends.</summary>
    public sealed record Job(string Name, string Target, string? BearerToken = null);

    public static async Task<PrometheusServer> StartAsync(IReadOnlyList<Job> jobs, CancellationToken cancellationToken)
    {
        var binary = Binary ?? throw new InvalidOperationException("prometheus is not installed (apt-get install prometheus).");
        var directory = Directory.CreateTempSubdirectory("clouddeck-prometheus-").FullName;
        var config = new StringBuilder("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n");
        foreach (var job in jobs)
        {
            config.Append($"  - job_name: {job.Name}\n    metrics_path: /metrics\n");
            if (job.BearerToken is { } token) config.Append($"    authorization:\n      type: Bearer\n      credentials: '{token}'\n");
            config.Append($"    static_configs:\n      - targets: ['{job.Target}']\n");
        }

        var configFile = Path.Combine(directory, "prometheus.yml");
        await File.WriteAllTextAsync(configFile, config.ToString(), cancellationToken);
        var port = ChildProcess.FreeTcpPort();
        var process = ChildProcess.Start(binary,
        [
            $"--config.file={configFile}", $"--storage.tsdb.path={Path.Combine(directory, "data")}",
            $"--web.listen-address=127.0.0.1:{port}", "--log.level=warn",
        ]);
        var server = new PrometheusServer(process, port, directory);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (process.HasExited) throw new InvalidOperationException($"prometheus exited with code {process.ExitCode}:\n{process.Output}");
            try
            {
                using var ready = await server.Http.GetAsync("-/ready", cancellationToken);
                if (ready.IsSuccessStatusCode) return server;
            }
            catch (HttpRequestException)
            {
            }

            if (DateTime.UtcNow > deadline)
            {
                await server.DisposeAsync();
                throw new InvalidOperationException($"prometheus did not become ready within 60 s:\n{process.Output}");
            }

            await Task.Delay(200, cancellationToken);
        }
    }

    /// <summary>An instant PromQL query: each series' labels and value (an empty list when nothing matches).</summary>
    public async Task<IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)>> QueryAsync(string promql, CancellationToken cancellationToken)
    {
        var answer = await Http.GetFromJsonAsync<JsonElement>($"api/v1/query?query={Uri.EscapeDataString(promql)}", cancellationToken);
        if (answer.GetProperty("status").GetString() != "success") throw new InvalidOperationException($"Prometheus refused '{promql}': {answer}");
        return [.. answer.GetProperty("data").GetProperty("result").EnumerateArray().Select(series => (
            (IReadOnlyDictionary<string, string>)series.GetProperty("metric").EnumerateObject().ToDictionary(l => l.Name, l => l.Value.GetString() ?? ""),
            double.Parse(series.GetProperty("value")[1].GetString()!, System.Globalization.CultureInfo.InvariantCulture)))];
    }

    /// <summary>The targets' scrape health, by job: "up", "down" or "unknown", with the last error.</summary>
    public async Task<string> DescribeTargetsAsync(CancellationToken cancellationToken) =>
        await Http.GetStringAsync("api/v1/targets", cancellationToken);

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
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
