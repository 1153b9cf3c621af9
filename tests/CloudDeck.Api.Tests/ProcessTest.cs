namespace CloudDeck.Api.Tests;

/// <summary>
/// Base for tests that start processes: a fresh data directory per test, and every child started
/// through <see cref="Track"/> or <see cref="StartApiAsync"/> killed before that directory is deleted.
/// Also linked into CloudDeck.Cli.Tests.
/// </summary>
public abstract class ProcessTest : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _owned = [];

    protected ProcessTest()
    {
        DataDirectory = Directory.CreateTempSubdirectory("clouddeck-test-").FullName;
    }

    protected string DataDirectory { get; }

    protected static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    internal async Task<ApiHost> StartApiAsync(IReadOnlyDictionary<string, string?>? environment = null) =>
        Track(await ApiHost.StartAsync(DataDirectory, environment, Cancellation));

    internal T Track<T>(T owned) where T : IAsyncDisposable
    {
        _owned.Add(owned);
        return owned;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var owned in Enumerable.Reverse(_owned)) await owned.DisposeAsync();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a leftover temp directory must not turn a passing test red.
        }
        catch (UnauthorizedAccessException)
        {
        }
        GC.SuppressFinalize(this);
    }
}
