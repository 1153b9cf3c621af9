using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace CloudDeck.Testing;

/// <summary>
/// A private PostgreSQL server in a temp directory on a free port, started from the machine's own
/// binaries (DESIGN.md §5: real PostgreSQL, no shared cluster, no Docker). Trust auth on 127.0.0.1 only.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    // Fixed rather than Path.GetTempPath(): the postgres user must be able to reach the directory,
    // and a TMPDIR under /root would not allow that. Short, too: the socket path must fit in 107 bytes.
    private const string TempRoot = "/tmp";

    private static readonly TimeSpan InitDbTimeout = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(45);

    private readonly ConcurrentBag<string> _handedOut = [];
    private readonly EventHandler _onProcessExit;
    private int _disposed;

    private PostgresServer(string directory, string binDirectory, int port, bool durable)
    {
        Directory = directory;
        BinDirectory = binDirectory;
        Port = port;
        Durable = durable;
        AdminConnectionString = ConnectionString("postgres");
        // Last resort for a test host that exits without disposing: pg_ctl detached the server.
        _onProcessExit = (_, _) => Abandon(directory);
        AppDomain.CurrentDomain.ProcessExit += _onProcessExit;
    }

    public int Port { get; }

    public string BinDirectory { get; }

    /// <summary>The server's private temp directory (data/, log, the unix socket).</summary>
    public string Directory { get; }

    public string DataDirectory => Path.Combine(Directory, "data");

    public string LogFile => Path.Combine(Directory, "log");

    /// <summary>False when fsync, synchronous_commit and full_page_writes are off (the test default).</summary>
    public bool Durable { get; }

    /// <summary>Superuser "postgres" on database "postgres".</summary>
    public string AdminConnectionString { get; }

    /// <summary>The bin directory with initdb/pg_ctl/postgres that StartAsync would use, or null when there is none.</summary>
    public static string? FindBinDirectory() => PostgresTools.FindBinDirectory();

    public static Task<PostgresServer> StartAsync(CancellationToken cancellationToken = default) =>
        StartAsync(durable: false, cancellationToken);

    /// <param name="durable">
    /// Keep PostgreSQL's crash-safety settings on. Tests leave it off for speed; benchmarks turn it on
    /// so their numbers mean what they would in production.
    /// </param>
    /// <exception cref="PostgresUnavailableException">No PostgreSQL installation, or no postgres user to run it as.</exception>
    /// <exception cref="InvalidOperationException">Found, but initdb or the server failed; the message has the log.</exception>
    public static async Task<PostgresServer> StartAsync(bool durable, CancellationToken cancellationToken = default)
    {
        var bin = FindBinDirectory() ?? throw new PostgresUnavailableException(PostgresTools.DescribeMissing());
        if (Native.IsRoot && !PostgresTools.PostgresUserExists())
        {
            throw new PostgresUnavailableException(
                "Running as root, and PostgreSQL refuses to run as root, but there is no `postgres` OS user to run it as. "
                + "`apt-get install postgresql` creates it (or: useradd --system --user-group postgres).");
        }

        PostgresTools.SweepStale(TempRoot);
        var dir = CreatePrivateDirectory();
        try
        {
            if (Native.IsRoot)
            {
                var (code, output) = await PostgresTools.RunAsync("chown", ["-R", "postgres:", dir], dir, StopTimeout, cancellationToken).ConfigureAwait(false);
                if (code != 0) throw new InvalidOperationException($"chown of {dir} to postgres failed: {output}");
            }
            await InitDbAsync(bin, dir, cancellationToken).ConfigureAwait(false);

            for (var attempt = 1; ; attempt++)
            {
                var port = ChildProcess.FreeTcpPort();
                var (code, output) = await PgCtlAsync(bin, dir, ["start", "-l", Path.Combine(dir, "log"), "-w", "-t", "60", "-o", ServerOptions(dir, port, durable)], StartTimeout, cancellationToken).ConfigureAwait(false);
                if (code == 0) return new PostgresServer(dir, bin, port, durable);

                var log = LogTail(dir);
                // FreeTcpPort is racy: another process may have taken the port in between.
                if (attempt < 3 && log.Contains("could not bind", StringComparison.OrdinalIgnoreCase)) continue;
                throw new InvalidOperationException(
                    $"PostgreSQL failed to start (pg_ctl exit {code}, port {port}, {dir}).\n{output}\n--- server log tail ---\n{log}");
            }
        }
        catch
        {
            Abandon(dir);
            throw;
        }
    }

    public string ConnectionString(string database)
    {
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = Port,
            Username = "postgres",
            Database = database,
            Pooling = true,
            // Constraint-violation details in exception messages make failing tests readable.
            IncludeErrorDetail = true,
        };
        var result = builder.ConnectionString;
        _handedOut.Add(result);
        return result;
    }

    /// <summary>A fresh empty database, so parallel tests never see each other's rows.</summary>
    /// <returns>Its connection string.</returns>
    public async Task<string> CreateDatabaseAsync(string? prefix = null, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var name = $"{Sanitize(prefix)}_{RandomNumberGenerator.GetHexString(16, lowercase: true)}";
        var connection = new NpgsqlConnection(AdminConnectionString);
        await using (connection.ConfigureAwait(false))
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            // Identifiers cannot be parameters; Sanitize restricts the name to [a-z0-9_].
#pragma warning disable CA2100
            var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
#pragma warning restore CA2100
            await using (command.ConfigureAwait(false))
            {
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        return ConnectionString(name);
    }

    /// <summary>Stops the server (immediate: the data is thrown away anyway) and deletes its directory. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        AppDomain.CurrentDomain.ProcessExit -= _onProcessExit;

        // Pooled connections would otherwise hand a dead socket to the next test that reuses the string.
        foreach (var cs in _handedOut.Distinct())
        {
            using var connection = new NpgsqlConnection(cs);
            NpgsqlConnection.ClearPool(connection);
        }

        try
        {
            await PgCtlAsync(BinDirectory, Directory, ["stop", "-m", "immediate", "-w", "-t", "30"], StopTimeout, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            // Abandon below kills it by pid.
        }
        Abandon(Directory);
    }

    public override string ToString() => $"PostgreSQL on 127.0.0.1:{Port} ({Directory})";

    /// <summary>Synchronous, no pg_ctl: also used from ProcessExit, where async work is not waited for.</summary>
    private static void Abandon(string dir)
    {
        PostgresTools.KillPostmaster(Path.Combine(dir, "data"));
        PostgresTools.DeleteDirectory(dir);
    }

    private static async Task InitDbAsync(string bin, string dir, CancellationToken cancellationToken)
    {
        // C.UTF-8 gives Unicode-aware upper()/lower() with byte-order collation, independent of the
        // developer's LANG; plain C where that locale is not installed.
        var locale = System.IO.Directory.Exists("/usr/lib/locale/C.utf8") ? "C.UTF-8" : "C";
        var (file, args) = PostgresTools.AsServerUser(Path.Combine(bin, "initdb"),
            ["-D", Path.Combine(dir, "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=" + locale, "--no-sync"]);
        var (code, output) = await PostgresTools.RunAsync(file, args, dir, InitDbTimeout, cancellationToken).ConfigureAwait(false);
        if (code != 0) throw new InvalidOperationException($"initdb failed (exit {code}) in {dir}:\n{output}");
    }

    private static Task<(int ExitCode, string Output)> PgCtlAsync(string bin, string dir, string[] args, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var (file, argv) = PostgresTools.AsServerUser(Path.Combine(bin, "pg_ctl"), ["-D", Path.Combine(dir, "data"), .. args]);
        return PostgresTools.RunAsync(file, argv, dir, timeout, cancellationToken);
    }

    private static string ServerOptions(string dir, int port, bool durable)
    {
        var options = new StringBuilder();
        options.Append(CultureInfo.InvariantCulture, $"-p {port} -k {dir} -c listen_addresses=127.0.0.1 -c max_connections=300");
        if (!durable) options.Append(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        return options.ToString();
    }

    private static string CreatePrivateDirectory()
    {
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("PostgresServer drives Unix binaries as a Unix user.");
        while (true)
        {
            var dir = Path.Combine(TempRoot, PostgresTools.DirectoryPrefix + RandomNumberGenerator.GetHexString(8, lowercase: true));
            if (System.IO.Directory.Exists(dir)) continue;
            System.IO.Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            // Lets a later run tell this directory from a live run's once this process is gone.
            File.WriteAllText(Path.Combine(dir, PostgresTools.OwnerFile), Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
            return dir;
        }
    }

    private static string LogTail(string dir, int lines = 40)
    {
        try
        {
            var all = File.ReadAllLines(Path.Combine(dir, "log"));
            return string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
        }
        catch (IOException e)
        {
            return $"(no server log: {e.Message})";
        }
    }

    private static string Sanitize(string? prefix)
    {
        var chars = (prefix ?? "test").ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_').Take(40).ToArray();
        var name = new string(chars);
        // Unquoted-identifier style: must not start with a digit, so psql users can type it bare.
        return name.Length == 0 || char.IsAsciiDigit(name[0]) ? "t" + name : name;
    }
}
