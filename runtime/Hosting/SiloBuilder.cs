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
        var grainClasses = new List<Type>();
        var builder = new SiloBuilder(services, grainClasses, new Dictionary<string, object>(StringComparer.Ordinal));
        configure(builder);

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
        return services;
    }

    /// <summary>
    /// Makes this process a client of a cluster: grain calls go to the silo that owns each grain, through its
    /// gateway. <paramref name="grainAssemblies"/> name the grain classes, so interfaces map to grain types.
    /// </summary>
    public static IServiceCollection AddActorClusterClient(this IServiceCollection services, Action<ClusterOptions> configure,
        params System.Reflection.Assembly[] grainAssemblies)
    {
        var grainClasses = grainAssemblies.SelectMany(GrainTypeRegistry.FindGrainClasses).ToList();
        services.Configure(configure);
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
}

/// <summary>Registered when the silo belongs to a cluster.</summary>
internal sealed class ClusterMarker;
