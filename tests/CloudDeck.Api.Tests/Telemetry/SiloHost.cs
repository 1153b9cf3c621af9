using System.Globalization;
using System.Net;

namespace CloudDeck.Api.Tests.Telemetry;

/// <summary>
/// The real silo host (CloudDeck.Silo) as a child process, alone (embedded clustering, SQLite in its own directory), with
/// its management port on a free loopback port: the only HTTP it serves.
/// </summary>
internal sealed class SiloHost : IAsyncDisposable
{
    private readonly string _directory;

    private SiloHost(ChildProcess process, int managementPort, string directory)
    {
        Process = process;
        ManagementPort = managementPort;
        _directory = directory;
    }

    public ChildProcess Process { get; }

    public int ManagementPort { get; }

    /// <summary>Starts the silo and waits until its management port answers GET /readyz with 200.</summary>
    /// <param name="environment">Added to (or, with a null value, removed from) the silo's environment.</param>
    public static async Task<SiloHost> StartAsync(CancellationToken cancellationToken, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var dll = RepoPaths.ProjectOutput("silo", "CloudDeck.Silo");
        var directory = Directory.CreateTempSubdirectory("clouddeck-silo-").FullName;
        var port = ChildProcess.FreeTcpPort();
        var env = new Dictionary<string, string?>
        {
            ["CloudDeck__DataDirectory"] = directory,
            ["CloudDeck__StorageProvider"] = null,
            ["CloudDeck__PostgresConnectionString"] = null,
            ["CloudDeck__Management__Port"] = port.ToString(CultureInfo.InvariantCulture),
            ["CloudDeck__Management__ListenAddress"] = "127.0.0.1",
        };
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>()) env[key] = value;
        var silo = new SiloHost(ChildProcess.Start(RepoPaths.DotnetHost, [dll], env, workingDirectory: Path.GetDirectoryName(dll)), port, directory);
        using var probe = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + ApiHost.StartTimeout;
        var last = "no answer yet";
        while (DateTime.UtcNow < deadline)
        {
            if (silo.Process.HasExited) break;
            try
            {
                using var ready = await probe.GetAsync("readyz", cancellationToken);
                if (ready.StatusCode == HttpStatusCode.OK) return silo;
                last = $"{(int)ready.StatusCode}: {await ready.Content.ReadAsStringAsync(cancellationToken)}";
            }
            catch (HttpRequestException e)
            {
                last = e.Message;
            }
            catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                last = e.Message;
            }

            await Task.Delay(200, cancellationToken);
        }

        var output = silo.Process.Output;
        await silo.DisposeAsync();
        throw new InvalidOperationException($"The silo did not answer GET /readyz with 200 (last: {last}).\n{output}");
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
