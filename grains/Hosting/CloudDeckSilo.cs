using Actors.Runtime;
using CloudDeck.Grains.Accounts;
using CloudDeck.Grains.Artifacts;
using CloudDeck.Grains.Builds;
using CloudDeck.Grains.Licenses;
using CloudDeck.Grains.Organizations;
using CloudDeck.Grains.Projects;
using CloudDeck.Grains.Servers;
using CloudDeck.Grains.Usage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CloudDeck.Grains.Hosting;

/// <summary>Settings under <c>CloudDeck:*</c> that decide how a CloudDeck silo stores its state.</summary>
public sealed class CloudDeckStorageOptions
{
    public const string Section = "CloudDeck";

    /// <summary>Where embedded mode keeps its SQLite database and generated keys.</summary>
    public string DataDirectory { get; set; } = "./.clouddeck";

    /// <summary><c>Sqlite</c> (embedded default) or <c>Postgres</c>.</summary>
    public string StorageProvider { get; set; } = "Sqlite";

    /// <summary>Required when <see cref="StorageProvider"/> is Postgres.</summary>
    public string? PostgresConnectionString { get; set; }

    public string SqlitePath => Path.Combine(Path.GetFullPath(DataDirectory), "clouddeck.db");

    public void Validate()
    {
        if (string.Equals(StorageProvider, "Postgres", StringComparison.OrdinalIgnoreCase))
        {
            if (string.IsNullOrWhiteSpace(PostgresConnectionString))
            {
                throw new InvalidOperationException(
                    "CloudDeck:StorageProvider is Postgres, so set CloudDeck:PostgresConnectionString " +
                    "(for example CloudDeck__PostgresConnectionString='Host=db;Username=clouddeck;Password=…;Database=clouddeck').");
            }
        }
        else if (!string.Equals(StorageProvider, "Sqlite", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"CloudDeck:StorageProvider must be Sqlite or Postgres (was '{StorageProvider}').");
        }
    }
}

public static class CloudDeckSilo
{
    /// <summary>Hosts a CloudDeck silo in this process, configured from <c>CloudDeck:*</c>.</summary>
    public static IServiceCollection AddCloudDeckSilo(this IServiceCollection services, IConfiguration configuration)
    {
        var storage = ReadStorage(configuration);
        var cluster = CloudDeckClusterOptions.Read(configuration, storage);
        services.AddSingleton(storage);
        services.AddCloudDeckAccounts(configuration, storage.DataDirectory);
        services.AddCloudDeckLicenses(configuration, storage.DataDirectory, cluster.IsCluster);
        services.AddCloudDeckPlans(configuration);
        services.AddCloudDeckUsage(configuration);
        services.AddCloudDeckArtifacts(configuration, storage.DataDirectory);
        services.AddCloudDeckProjects(configuration, storage.DataDirectory, cluster.IsCluster);
        services.AddCloudDeckBuilds(configuration, storage.DataDirectory);
        services.AddCloudDeckServers(configuration, storage.DataDirectory);
        services.AddSingleton(cluster);
        services.AddSingleton<Diagnostics.ActivationJournal>();
        services.Configure<ActorRuntimeOptions>(configuration.GetSection("CloudDeck:Runtime"));
        services.Configure<ActorRuntimeOptions>(options => options.ServiceId = "clouddeck");
        services.AddActorSilo(silo =>
        {
            silo.AddGrains(GrainsAssembly.Value);
            if (string.Equals(storage.StorageProvider, "Postgres", StringComparison.OrdinalIgnoreCase))
            {
                silo.AddPostgresStorage(storage.PostgresConnectionString!).UsePostgresReminders(storage.PostgresConnectionString!)
                    .UsePostgresStreams(storage.PostgresConnectionString!);
            }
            else
            {
                silo.AddSqliteStorage(storage.SqlitePath).UseSqliteReminders(storage.SqlitePath).UseSqliteStreams(storage.SqlitePath);
            }

            // CloudDeck:Streams:* (cache size, subscriber buffer, Retention:<namespace>:MaxAge / MaxCount).
            silo.ConfigureStreams(options => configuration.GetSection("CloudDeck:Streams").Bind(options));

            if (cluster.IsCluster)
            {
                silo.UseCluster(cluster.ApplyTo);
            }
        });
        return services;
    }

    /// <summary>
    /// Makes this process a client of a CloudDeck cluster (the API in cluster mode): grain calls go to the silos.
    /// Returns false, registering nothing, when CloudDeck:Cluster:Mode is Embedded.
    /// </summary>
    public static bool TryAddCloudDeckClusterClient(this IServiceCollection services, IConfiguration configuration)
    {
        var storage = ReadStorage(configuration);
        var cluster = CloudDeckClusterOptions.Read(configuration, storage);
        if (!cluster.IsCluster)
        {
            return false;
        }

        services.AddSingleton(storage);
        services.AddCloudDeckAccounts(configuration, storage.DataDirectory);
        services.AddCloudDeckLicenses(configuration, storage.DataDirectory, cluster: true);
        // Validated here too, so a wrong plan setting stops the API process as it stops a silo.
        services.AddCloudDeckPlans(configuration);
        services.AddCloudDeckUsage(configuration);
        // The API serves uploads and the edge from the same shared directory the silos' builds write to.
        services.AddCloudDeckArtifacts(configuration, storage.DataDirectory);
        services.AddSingleton(cluster);
        services.Configure<ActorRuntimeOptions>(configuration.GetSection("CloudDeck:Runtime"));
        services.Configure<ActorRuntimeOptions>(options => options.ServiceId = "clouddeck");
        services.AddActorClusterClient(cluster.ApplyTo, GrainsAssembly.Value);
        return true;
    }

    private static CloudDeckStorageOptions ReadStorage(IConfiguration configuration)
    {
        var storage = configuration.GetSection(CloudDeckStorageOptions.Section).Get<CloudDeckStorageOptions>() ?? new();
        storage.Validate();
        return storage;
    }
}
