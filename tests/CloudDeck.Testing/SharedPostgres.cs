namespace CloudDeck.Testing;

/// <summary>
/// One PostgreSQL server shared by a whole test assembly, started on first use. Framework-neutral:
/// a test project wraps it in its own fixture (xunit: an assembly fixture) and turns
/// <see cref="MissingReason"/> into Skip or Fail per <see cref="Requirement.IsCi"/>.
/// Tests isolate themselves with <see cref="PostgresServer.CreateDatabaseAsync"/>, not a server each.
/// </summary>
public sealed class SharedPostgres : IAsyncDisposable
{
    private readonly Lazy<Task<PostgresServer>> _server;
    private readonly Lazy<string?> _missingReason;

    public SharedPostgres(bool durable = false)
    {
        // Started without the first caller's token: one test's cancellation must not poison the shared server.
        _server = new(() => PostgresServer.StartAsync(durable, CancellationToken.None), LazyThreadSafetyMode.ExecutionAndPublication);
        _missingReason = new(() => PostgresServer.FindBinDirectory() is null
            ? Requirement.Explain(PostgresTools.DescribeMissing())
            : null);
    }

    /// <summary>
    /// Why PostgreSQL cannot be used here (binaries missing), already phrased for Skip/Fail;
    /// null when it can. A server that exists but fails to start is not "missing": GetAsync throws.
    /// </summary>
    public string? MissingReason => _missingReason.Value;

    /// <summary>Starts the server on the first call; later calls get the same server (or the same start failure).</summary>
    public Task<PostgresServer> GetAsync(CancellationToken cancellationToken = default) =>
        _server.Value.WaitAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (!_server.IsValueCreated) return;
        PostgresServer server;
        try
        {
            server = await _server.Value.ConfigureAwait(false);
        }
        catch (Exception e) when (e is PostgresUnavailableException or InvalidOperationException or TimeoutException)
        {
            return; // never started, nothing to stop; the failure was reported to the tests that asked
        }
        await server.DisposeAsync().ConfigureAwait(false);
    }
}
