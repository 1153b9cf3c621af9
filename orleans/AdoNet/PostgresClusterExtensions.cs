using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Messaging;
using Orleans.Runtime;

namespace Actors.Extensions.AdoNet;

/// <summary>What <see cref="PostgresClusterExtensions.UsePostgresCluster"/> wires besides clustering.</summary>
public sealed class PostgresClusterOptions
{
    /// <summary>Register the ADO.NET storage as the default grain storage (<c>[PersistentState("x")]</c> without a provider name). Default true.</summary>
    public bool AddDefaultGrainStorage { get; set; } = true;

    /// <summary>Named grain storages (<c>[PersistentState("x", "name")]</c>), all in the same table. Default none.</summary>
    public IList<string> GrainStorageNames { get; } = [];

    /// <summary>Keep reminders in PostgreSQL (<c>UseAdoNetReminderService</c>). Default true.</summary>
    public bool UseReminders { get; set; } = true;

    /// <summary>Find the other silos in PostgreSQL's membership table (<c>UseAdoNetClustering</c>). Default true; false for a
    /// single silo that only keeps its state and reminders there.</summary>
    public bool UseClustering { get; set; } = true;

    /// <summary>How grain state is written; null keeps Orleans' default (Newtonsoft JSON).</summary>
    public Orleans.Storage.IGrainStorageSerializer? GrainStorageSerializer { get; set; }
}

/// <summary>Cluster mode on PostgreSQL: Orleans' ADO.NET providers on the schema of <see cref="PostgresOrleansSchema"/>.</summary>
public static class PostgresClusterExtensions
{
    /// <summary>The ADO.NET invariant of Npgsql.</summary>
    public const string Invariant = "Npgsql";

    /// <summary>
    /// ADO.NET clustering, grain storage (default and named) and reminders on PostgreSQL, with the schema
    /// installed (idempotently, under an advisory lock) as the silo's first lifecycle stage. ClusterId and
    /// ServiceId stay the caller's (<c>Configure&lt;ClusterOptions&gt;</c>).
    /// </summary>
    public static ISiloBuilder UsePostgresCluster(this ISiloBuilder builder, string connectionString, Action<PostgresClusterOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var options = new PostgresClusterOptions();
        configure?.Invoke(options);

        AddInstaller(builder.Services, connectionString);
        builder.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<PostgresSchemaInstaller>());

        if (options.UseClustering)
        {
            builder.UseAdoNetClustering(o =>
            {
                o.Invariant = Invariant;
                o.ConnectionString = connectionString;
            });
        }

        if (options.AddDefaultGrainStorage)
        {
            builder.AddAdoNetGrainStorageAsDefault(o =>
            {
                o.Invariant = Invariant;
                o.ConnectionString = connectionString;
                if (options.GrainStorageSerializer is { } serializer) o.GrainStorageSerializer = serializer;
            });
        }
        foreach (var name in options.GrainStorageNames.Distinct(StringComparer.Ordinal))
        {
            builder.AddAdoNetGrainStorage(name, o =>
            {
                o.Invariant = Invariant;
                o.ConnectionString = connectionString;
                if (options.GrainStorageSerializer is { } serializer) o.GrainStorageSerializer = serializer;
            });
        }
        if (options.UseReminders)
        {
            builder.UseAdoNetReminderService(o =>
            {
                o.Invariant = Invariant;
                o.ConnectionString = connectionString;
            });
        }
        return builder;
    }

    /// <summary>
    /// A client that finds its gateways in the PostgreSQL membership table. Installs the schema before the
    /// first gateway read, so a client that starts before any silo waits for silos rather than failing on a missing table.
    /// </summary>
    public static IClientBuilder UsePostgresClustering(this IClientBuilder builder, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        AddInstaller(builder.Services, connectionString);
        builder.UseAdoNetClustering(o =>
        {
            o.Invariant = Invariant;
            o.ConnectionString = connectionString;
        });

        // Wrap Orleans' gateway list provider: it reads OrleansQuery in InitializeGatewayListProvider,
        // which the client calls before any lifecycle participant runs.
        var registered = builder.Services.LastOrDefault(d => d.ServiceType == typeof(IGatewayListProvider))
            ?? throw new InvalidOperationException("UseAdoNetClustering registered no IGatewayListProvider; this Orleans version wires clients differently.");
        builder.Services.Remove(registered);
        builder.Services.AddSingleton<IGatewayListProvider>(sp => new SchemaFirstGatewayListProvider(
            CreateRegistered<IGatewayListProvider>(sp, registered),
            sp.GetRequiredService<PostgresSchemaInstaller>()));
        return builder;
    }

    private static void AddInstaller(IServiceCollection services, string connectionString) =>
        services.AddSingleton(sp => new PostgresSchemaInstaller(connectionString, sp.GetRequiredService<ILogger<PostgresSchemaInstaller>>()));

    private static T CreateRegistered<T>(IServiceProvider services, ServiceDescriptor descriptor) where T : class =>
        descriptor switch
        {
            { ImplementationInstance: T instance } => instance,
            { ImplementationFactory: { } factory } => (T)factory(services),
            { ImplementationType: { } type } => (T)ActivatorUtilities.CreateInstance(services, type),
            _ => throw new InvalidOperationException($"Cannot build the registered {typeof(T).Name} ({descriptor})."),
        };
}
