using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Actors.Runtime;

/// <summary>Configures the silo hosted in this process: grain classes, storage, reminders and options.</summary>
public sealed class SiloBuilder
{
    private readonly List<Type> _grainClasses;
    private readonly Dictionary<string, object> _stores;

    internal SiloBuilder(IServiceCollection services, List<Type> grainClasses, Dictionary<string, object> stores)
    {
        Services = services;
        _grainClasses = grainClasses;
        _stores = stores;
    }

    public IServiceCollection Services { get; }

    /// <summary>Registers every grain class in <paramref name="assembly"/>.</summary>
    public SiloBuilder AddGrains(Assembly assembly)
    {
        _grainClasses.AddRange(GrainTypeRegistry.FindGrainClasses(assembly));
        return this;
    }

    public SiloBuilder AddGrain<TGrain>() where TGrain : Grain
    {
        _grainClasses.Add(typeof(TGrain));
        return this;
    }

    public SiloBuilder Configure(Action<ActorRuntimeOptions> configure)
    {
        Services.Configure(configure);
        return this;
    }

    /// <summary>Makes this silo a member of a cluster (PostgreSQL membership, TCP between silos).</summary>
    public SiloBuilder UseCluster(Action<ClusterOptions> configure)
    {
        Services.Configure(configure);
        Services.AddSingleton<ClusterMarker>();
        return this;
    }

    public SiloBuilder ConfigureReminders(Action<ReminderOptions> configure)
    {
        Services.Configure(configure);
        return this;
    }

    public SiloBuilder AddMemoryStorage(string name = StorageNames.Default)
    {
        Services.AddKeyedSingleton<IGrainStorage>(name, new MemoryGrainStorage());
        return this;
    }

    /// <summary>Grain state in a SQLite file, created with its directory when missing.</summary>
    public SiloBuilder AddSqliteStorage(string databasePath, string name = StorageNames.Default) =>
        AddStorage(name, Sqlite(databasePath));

    public SiloBuilder AddPostgresStorage(string connectionString, string name = StorageNames.Default) =>
        AddStorage(name, Postgres(connectionString));

    public SiloBuilder UseSqliteReminders(string databasePath) => UseReminders(Sqlite(databasePath));

    public SiloBuilder UsePostgresReminders(string connectionString) => UseReminders(Postgres(connectionString));

    /// <summary>Stream items in a SQLite file (embedded mode); the same file as state when the path is the same.</summary>
    public SiloBuilder UseSqliteStreams(string databasePath) => UseStreams(Sqlite(databasePath));

    /// <summary>Stream items in PostgreSQL (cluster mode: every silo reads what any silo appended).</summary>
    public SiloBuilder UsePostgresStreams(string connectionString) => UseStreams(Postgres(connectionString));

    /// <summary>Stream items in process memory: for tests and benchmarks only, nothing is durable.</summary>
    public SiloBuilder UseMemoryStreams() => UseStreams(new MemoryStreamStore());

    public SiloBuilder ConfigureStreams(Action<StreamOptions> configure)
    {
        Services.Configure(configure);
        return this;
    }

    private SiloBuilder UseStreams(IStreamStore store)
    {
        Services.RemoveAll<IStreamStore>();
        Services.AddSingleton(store);
        return this;
    }

    private SiloBuilder AddStorage<TStore>(string name, TStore store) where TStore : class, IGrainStorage, IActorStore
    {
        Services.AddKeyedSingleton<IGrainStorage>(name, store);
        return this;
    }

    private SiloBuilder UseReminders<TStore>(TStore store) where TStore : class, IReminderTable, IActorStore
    {
        Services.RemoveAll<IReminderTable>();
        Services.AddSingleton<IReminderTable>(store);
        return this;
    }

    // One store object per database, whether it serves state, reminders or both.
    private SqliteActorStore Sqlite(string databasePath) => Store(Path.GetFullPath(databasePath), key => new SqliteActorStore(key));

    private PostgresActorStore Postgres(string connectionString) => Store(connectionString, key => new PostgresActorStore(key));

    private TStore Store<TStore>(string key, Func<string, TStore> create) where TStore : class, IActorStore
    {
        if (_stores.TryGetValue(key, out var existing))
        {
            return (TStore)existing;
        }

        var store = create(key);
        _stores[key] = store;
        Services.AddSingleton<IActorStore>(store);
        return store;
    }
}

public static class SiloServiceCollectionExtensions
{
    /// <summary>Hosts a silo in this process. Grain calls go through <see cref="IGrainFactory"/>.</summary>
    public static IServiceCollection AddActorSilo(this IServiceCollection services, Action<SiloBuilder> configure)
    {
        var grainClasses = new List<Type> { typeof(StreamGrain) };
        var builder = new SiloBuilder(services, grainClasses, new Dictionary<string, object>(StringComparer.Ordinal));
        configure(builder);
        AddStreamProvider(services);

        services.AddOptions<ActorRuntimeOptions>();
        services.AddOptions<ReminderOptions>();
        services.TryAddSingleton(sp => new GrainTypeRegistry(grainClasses, sp.GetRequiredService<IOptions<ActorRuntimeOptions>>().Value));
        services.TryAddSingleton<GrainRuntime>();
        services.TryAddSingleton<IGrainFactory>(sp => sp.GetRequiredService<GrainRuntime>());
        services.TryAddSingleton(sp => new ReminderService(
            sp.GetRequiredService<GrainRuntime>(), sp.GetService<IReminderTable>(),
            sp.GetRequiredService<IOptions<ReminderOptions>>().Value, sp.GetRequiredService<ILogger<ReminderService>>()));
        services.TryAddSingleton<SiloHealth>();
        services.TryAddSingleton<LocalSiloDetails>();
        services.AddHostedService<SiloHostedService>();
        services.AddHostedService(sp => new StreamRetentionService(sp.GetService<IStreamStore>(), sp.GetRequiredService<IOptions<StreamOptions>>(),
            sp.GetRequiredService<IOptions<ActorRuntimeOptions>>(), sp.GetService<TimeProvider>() ?? TimeProvider.System,
            sp.GetRequiredService<ILogger<StreamRetentionService>>()));
        return services;
    }

    /// <summary>
    /// Makes this process a client of a cluster: grain calls go to the silo that owns each grain, through its
    /// gateway. <paramref name="grainAssemblies"/> name the grain classes, so interfaces map to grain types.
    /// </summary>
    public static IServiceCollection AddActorClusterClient(this IServiceCollection services, Action<ClusterOptions> configure,
        params System.Reflection.Assembly[] grainAssemblies)
    {
        var grainClasses = grainAssemblies.SelectMany(GrainTypeRegistry.FindGrainClasses).Append(typeof(StreamGrain)).ToList();
        services.Configure(configure);
        AddStreamProvider(services);
        services.AddOptions<ActorRuntimeOptions>();
        services.TryAddSingleton(sp => new GrainTypeRegistry(grainClasses, sp.GetRequiredService<IOptions<ActorRuntimeOptions>>().Value));
        services.TryAddSingleton<GrainRuntime>();
        services.TryAddSingleton<IGrainFactory>(sp => sp.GetRequiredService<GrainRuntime>());
        services.TryAddSingleton<IClusterClient>(sp => sp.GetRequiredService<GrainRuntime>());
        services.TryAddSingleton(sp => new ClusterService(sp.GetRequiredService<GrainRuntime>(),
            sp.GetRequiredService<IOptions<ClusterOptions>>().Value, isClient: true, sp.GetRequiredService<ILoggerFactory>()));
        services.TryAddSingleton<SiloHealth>();
        services.AddHostedService<ClusterClientHostedService>();
        return services;
    }

    private static void AddStreamProvider(IServiceCollection services)
    {
        services.AddOptions<StreamOptions>().Validate(
            options => options.CacheSize >= 1 && options.MaxReadBatch >= 1 && options.SubscriberBuffer >= 1 && options.LiveWait > TimeSpan.Zero
                       && options.RetentionSweepInterval > TimeSpan.Zero,
            "StreamOptions: CacheSize, MaxReadBatch and SubscriberBuffer must be at least 1; LiveWait and RetentionSweepInterval must be positive.");
        services.TryAddSingleton<IStreamProvider>(sp => new StreamProvider(sp.GetRequiredService<GrainRuntime>(), sp.GetRequiredService<IOptions<StreamOptions>>().Value));
    }
}

/// <summary>Registered when the silo belongs to a cluster.</summary>
internal sealed class ClusterMarker;
