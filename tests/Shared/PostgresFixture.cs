// Compiled into every xunit test project (tests/Directory.Build.props): one server per test
// assembly (starting one costs seconds), one database per test (CreateDatabaseAsync).
[assembly: AssemblyFixture(typeof(CloudDeck.Testing.PostgresFixture))]

namespace CloudDeck.Testing;

public sealed class PostgresFixture : IAsyncLifetime
{
    private readonly SharedPostgres _shared = new();
    private PostgresServer? _server;
    private Exception? _startError;
    private string? _missingReason;

    public async ValueTask InitializeAsync()
    {
        _missingReason = _shared.MissingReason;
        if (_missingReason is not null) return;
        try
        {
            _server = await _shared.GetAsync();
        }
        catch (PostgresUnavailableException e)
        {
            _missingReason = Requirement.Explain(e.Message);
        }
        catch (Exception e)
        {
            // Kept, not thrown: an assembly fixture that throws fails every test, including those that never touch PostgreSQL.
            _startError = e;
        }
    }

    /// <summary>The server, or Skip (developer machine) / Fail (CI) when PostgreSQL is not installed.</summary>
    public PostgresServer Server
    {
        get
        {
            if (_server is not null) return _server;
            Need.Component(_missingReason);
            throw new InvalidOperationException("The shared PostgreSQL server failed to start.", _startError);
        }
    }

    public ValueTask DisposeAsync() => _shared.DisposeAsync();
}
