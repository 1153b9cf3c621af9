namespace CloudDeck.Testing;

/// <summary>
/// A real DNS server for tests: dnsmasq on a loopback port, answering only the records the test gives it (no upstream,
/// no /etc/hosts). Records change by restarting it on the same port with the new set.
/// </summary>
public sealed class DnsServer : IAsyncDisposable
{
    private readonly string _directory;
    private ChildProcess? _process;

    private DnsServer(int port, string directory)
    {
        Port = port;
        _directory = directory;
    }

    public static string? Binary => PostgresTools.FindOnPath("dnsmasq") ?? (File.Exists("/usr/sbin/dnsmasq") ? "/usr/sbin/dnsmasq" : null);

    public int Port { get; }

    /// <summary>What the resolver settings take: <c>127.0.0.1:port</c>.</summary>
    public string Endpoint => $"127.0.0.1:{Port}";

    /// <summary>Address records (name → IPv4, answering for the name and every name under it) and TXT records.</summary>
    public sealed record Records(IReadOnlyDictionary<string, string> Addresses, IReadOnlyDictionary<string, string> Texts)
    {
        public static Records None { get; } = new(new Dictionary<string, string>(), new Dictionary<string, string>());
    }

    public static async Task<DnsServer> StartAsync(Records records, CancellationToken cancellationToken)
    {
        var server = new DnsServer(ChildProcess.FreeTcpPort(), Directory.CreateTempSubdirectory("clouddeck-dns-").FullName);
        await server.SetAsync(records, cancellationToken);
        return server;
    }

    /// <summary>Serves exactly <paramref name="records"/> from now on.</summary>
    public async Task SetAsync(Records records, CancellationToken cancellationToken)
    {
        var binary = Binary ?? throw new InvalidOperationException("dnsmasq is not installed (apt-get install dnsmasq).");
        if (_process is { } running)
        {
            await running.DisposeAsync();
            _process = null;
        }

        List<string> arguments =
        [
            "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--no-poll", "--bind-interfaces",
            "--listen-address=127.0.0.1", $"--port={Port}", $"--pid-file={Path.Combine(_directory, "dnsmasq.pid")}",
            "--log-facility=-", "--log-queries", "--cache-size=0",
        ];
        if (Environment.UserName == "root") arguments.Add("--user=root");
        // --local makes dnsmasq answer for these names alone (NODATA for an AAAA it lacks) instead of refusing, as it
        // does for anything it would forward and has no upstream for.
        arguments.AddRange(records.Addresses.Select(a => $"--local=/{a.Key}/"));
        arguments.AddRange(records.Addresses.Select(a => $"--address=/{a.Key}/{a.Value}"));
        // No shell: the value is the argument's rest as it is (quotes would be part of the text).
        arguments.AddRange(records.Texts.Select(t => $"--txt-record={t.Key},{t.Value}"));
        var process = ChildProcess.Start(binary, arguments);
        _process = process;
        try
        {
            await process.WaitForOutputAsync(line => line.Contains("started, version", StringComparison.Ordinal), TimeSpan.FromSeconds(20), cancellationToken);
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            throw new InvalidOperationException($"dnsmasq did not start: {e.Message}\n{process.Output}", e);
        }
    }

    /// <summary>What dnsmasq logged (its queries among them), for failure messages.</summary>
    public string Output => _process?.Output ?? "";

    public async ValueTask DisposeAsync()
    {
        if (_process is { } process) await process.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
