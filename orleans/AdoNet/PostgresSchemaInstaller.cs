using Microsoft.Extensions.Logging;
using Npgsql;
using Orleans;
using Orleans.Messaging;
using Orleans.Runtime;

namespace Actors.Extensions.AdoNet;

/// <summary>
/// Runs <see cref="PostgresOrleansSchema.EnsureCreatedAsync"/> once per process before Orleans touches the
/// database: on a silo as the first lifecycle stage (before membership, storage and reminders read their
/// queries), on a client from the gateway list provider's initialization (a client reads the gateway list
/// before its own lifecycle starts).
/// </summary>
internal sealed partial class PostgresSchemaInstaller(string connectionString, ILogger<PostgresSchemaInstaller> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    // A database that is still starting (docker compose brings everything up at once) is waited for; anything else fails the start.
    private static readonly TimeSpan TransientRetryWindow = TimeSpan.FromSeconds(30);

    private readonly Lock _gate = new();
    private Task? _installation;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(PostgresSchemaInstaller), ServiceLifecycleStage.First, EnsureInstalledAsync);

    public Task EnsureInstalledAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            // A failed attempt is not cached: the next start attempt tries again.
            if (_installation is null || _installation.IsFaulted || _installation.IsCanceled)
            {
                _installation = InstallWithRetryAsync(cancellationToken);
            }
            return _installation;
        }
    }

    private async Task InstallWithRetryAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + TransientRetryWindow;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await PostgresOrleansSchema.EnsureCreatedAsync(connectionString, logger, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (NpgsqlException e) when (e.IsTransient && DateTime.UtcNow < deadline)
            {
                LogRetrying(logger, attempt, e.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(2000, 200 * attempt)), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Orleans PostgreSQL schema: database not reachable yet (attempt {Attempt}): {Reason}")]
    private static partial void LogRetrying(ILogger logger, int attempt, string reason);
}

/// <summary>Orleans' ADO.NET gateway list provider, entered only after the schema is installed.</summary>
internal sealed class SchemaFirstGatewayListProvider(IGatewayListProvider inner, PostgresSchemaInstaller installer) : IGatewayListProvider
{
    public TimeSpan MaxStaleness => inner.MaxStaleness;

    [Obsolete("Kept only because the interface still declares it; Orleans treats every provider as updatable.")]
    public bool IsUpdatable => true;

    public async Task InitializeGatewayListProvider()
    {
        await installer.EnsureInstalledAsync(CancellationToken.None).ConfigureAwait(false);
        await inner.InitializeGatewayListProvider().ConfigureAwait(false);
    }

    public Task<IList<Uri>> GetGateways() => inner.GetGateways();
}
