using System.Net;
using CloudDeck.Diagnostics;

namespace CloudDeck.Api.Tests;

/// <summary>
/// The real CloudDeck.Api (embedded mode: it co-hosts the silo) started as a child process on a free
/// loopback port, with its own data directory, and an HttpClient pointed at it. Also linked into
/// CloudDeck.Cli.Tests.
/// </summary>
internal sealed class ApiHost : IAsyncDisposable
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private ApiHost(ChildProcess process, Uri baseAddress)
    {
        Process = process;
        BaseAddress = baseAddress;
        Http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>api/bin/&lt;config&gt;/net10.0/CloudDeck.Api.dll, built by this test project's ProjectReference.</summary>
    public static string Dll => RepoPaths.ProjectOutput("api", "CloudDeck.Api");

    public ChildProcess Process { get; }

    /// <summary>http://127.0.0.1:&lt;port&gt;/</summary>
    public Uri BaseAddress { get; }

    public HttpClient Http { get; }

    /// <summary>The muxer running this test, so the child uses the same SDK/runtime; "dotnet" from PATH otherwise.</summary>
    public static string DotnetHost =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    /// <summary>Starts the API without waiting for it: for tests that expect it to fail on start.</summary>
    /// <param name="environment">Added to (or, with a null value, removed from) the API's environment.</param>
    public static ChildProcess Launch(int port, string dataDirectory, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var dll = Dll;
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"{dll} is missing: build api/CloudDeck.Api.csproj in the same configuration as the tests.", dll);
        }

        var url = $"http://127.0.0.1:{port}";
        var env = new Dictionary<string, string?>
        {
            ["ASPNETCORE_URLS"] = url,
            // Deployment and alias URLs in the API's answers name the port it really listens on (a browser follows them).
            ["CloudDeck__Edge__Port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["CloudDeck__DataDirectory"] = dataDirectory,
            ["CloudDeck__StorageProvider"] = null,
            ["CloudDeck__PostgresConnectionString"] = null,
        }.WithDiagnostics();
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>()) env[key] = value;

        // The API's content root is its working directory: run it from its output folder so appsettings.json loads.
        return ChildProcess.Start(DotnetHost, [dll], env, workingDirectory: Path.GetDirectoryName(dll));
    }

    /// <summary>Starts the API and waits until GET /healthz answers 200.</summary>
    /// <exception cref="InvalidOperationException">It exited or did not become healthy in time; the message carries its output.</exception>
    public static async Task<ApiHost> StartAsync(
        string dataDirectory,
        IReadOnlyDictionary<string, string?>? environment = null,
        CancellationToken cancellationToken = default)
    {
        for (var attempt = 1; ; attempt++)
        {
            var port = ChildProcess.FreeTcpPort();
            var host = new ApiHost(Launch(port, dataDirectory, environment), new Uri($"http://127.0.0.1:{port}/"));
            try
            {
                await host.WaitUntilHealthyAsync(cancellationToken);
                return host;
            }
            catch (InvalidOperationException) when (attempt < 3 && host.Process.HasExited
                                                    && host.Process.Output.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                // FreeTcpPort is racy: another process took the port between the probe and Kestrel's bind.
                await host.DisposeAsync();
            }
            catch
            {
                await host.DisposeAsync();
                throw;
            }
        }
    }

    private async Task WaitUntilHealthyAsync(CancellationToken cancellationToken)
    {
        using var probe = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + StartTimeout;
        var last = "no answer yet";
        while (DateTime.UtcNow < deadline)
        {
            if (Process.HasExited)
            {
                await Process.WaitForExitAsync(TimeSpan.FromSeconds(5), cancellationToken);
                throw new InvalidOperationException(
                    $"CloudDeck.Api exited with code {Process.ExitCode} before /healthz answered 200.\n{Describe()}");
            }

            try
            {
                using var response = await probe.GetAsync(new Uri("healthz", UriKind.Relative), cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK) return;
                last = $"{(int)response.StatusCode} {response.ReasonPhrase}";
            }
            catch (HttpRequestException e)
            {
                last = e.Message;
            }
            catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                last = e.Message;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
        }

        throw new InvalidOperationException(
            $"CloudDeck.Api did not answer GET /healthz with 200 within {StartTimeout} (last: {last}).\n{Describe()}");
    }

    /// <summary>The command line and everything the child printed, for failure messages.</summary>
    public string Describe() => Describe(Process);

    public static string Describe(ChildProcess process) =>
        $"--- output of {process} ({Dll}) ---\n{process.Output}\n--- end of output ---";

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Process.DisposeAsync();
    }
}
