using Actors.Extensions.Records;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Actors.Extensions.Streams;

/// <summary>Registers durable log streams on silos (grains, store, retention) and on cluster clients (the provider only).</summary>
public static class LogStreamsBuilderExtensions
{
    /// <summary>
    /// Key of an optional keyed <see cref="TimeProvider"/> that stamps appends and judges their age (tests move it by hand).
    /// Keyed, because a manual clock handed to Orleans itself would stop its timers and membership.
    /// </summary>
    public const string ClockServiceKey = "actors.log-streams.clock";

    internal static TimeProvider ClockOf(IServiceProvider services) =>
        services.GetKeyedService<TimeProvider>(ClockServiceKey) ?? TimeProvider.System;

    /// <summary>
    /// Log streams on this silo: the log grains, <see cref="ILogStreamProvider"/>, the retention sweep, and
    /// <see cref="LogStreamOptions"/> validated at start. Follow with UseSqliteLogStore, UsePostgresLogStore or UseMemoryLogStore, which
    /// also register the store's record tables as <see cref="IRecordStore"/>.
    /// </summary>
    public static ISiloBuilder AddLogStreams(this ISiloBuilder builder, Action<LogStreamOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        AddCommon(builder.Services, configure);
        builder.Services.AddSingleton<LogRetentionService>();
        builder.Services.AddHostedService(services => services.GetRequiredService<LogRetentionService>());
        LogStreamDeactivationWatch.EnsureStarted();
        return builder;
    }

    /// <summary>Log streams for an Orleans client (the API process in cluster mode): it appends, reads and follows through the silos.</summary>
    public static IClientBuilder AddLogStreams(this IClientBuilder builder, Action<LogStreamOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        AddCommon(builder.Services, configure);
        return builder;
    }

    /// <summary>Stores log streams in a SQLite file of their own (for example ./.clouddeck/streams.db beside the state database).</summary>
    public static ISiloBuilder UseSqliteLogStore(this ISiloBuilder builder, string databasePath)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(databasePath);
        return UseStore(builder, _ => new SqliteLogStore(databasePath), store => ((SqliteLogStore)store).InitializeAsync());
    }

    /// <summary>Stores log streams in PostgreSQL; the tables are created at start if missing.</summary>
    public static ISiloBuilder UsePostgresLogStore(this ISiloBuilder builder, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        return UseStore(builder, _ => new PostgresLogStore(connectionString), store => ((PostgresLogStore)store).InitializeAsync());
    }

    /// <summary>Keeps log streams in memory (tests). Pass one instance to every silo of a test cluster so they share it.</summary>
    public static ISiloBuilder UseMemoryLogStore(this ISiloBuilder builder, MemoryLogStore? store = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var instance = store ?? new MemoryLogStore();
        return UseStore(builder, _ => instance, _ => Task.CompletedTask);
    }

    private static ISiloBuilder UseStore(ISiloBuilder builder, Func<IServiceProvider, ILogStore> create, Func<ILogStore, Task> initialize)
    {
        builder.Services.RemoveAll<ILogStore>();
        builder.Services.RemoveAll<IRecordStore>();
        builder.Services.AddSingleton(create);
        // Every log store keeps record tables too, in the same file or database.
        builder.Services.AddSingleton(services => (IRecordStore)services.GetRequiredService<ILogStore>());
        // Schema problems surface when the silo starts, not at the first append.
        builder.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(services => new LogStoreStarter(services.GetRequiredService<ILogStore>(), initialize));
        return builder;
    }

    private static void AddCommon(IServiceCollection services, Action<LogStreamOptions>? configure)
    {
        var options = services.AddOptions<LogStreamOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LogStreamOptions>, LogStreamOptionsValidator>());
        services.TryAddSingleton<ILogStreamProvider>(provider => new LogStreamProvider(
            provider.GetRequiredService<IGrainFactory>(),
            provider.GetRequiredService<IOptions<LogStreamOptions>>(),
            provider.GetService<IGrainContextAccessor>(),
            provider.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>()));
    }

    private sealed class LogStoreStarter(ILogStore store, Func<ILogStore, Task> initialize) : ILifecycleParticipant<ISiloLifecycle>
    {
        public void Participate(ISiloLifecycle lifecycle) =>
            lifecycle.Subscribe(nameof(LogStoreStarter), ServiceLifecycleStage.RuntimeInitialize, _ => initialize(store));
    }
}
