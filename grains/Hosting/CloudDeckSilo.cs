using System.Net;
using System.Net.Sockets;
using Actors.Extensions.AdoNet;
using Actors.Extensions.CallChains;
using Actors.Extensions.Hosting;
using Actors.Extensions.Resilience;
using Actors.Extensions.Security;
using Actors.Extensions.Storage;
using Actors.Extensions.Streams;
using CloudDeck.Grains.Accounts;
using CloudDeck.Grains.Artifacts;
using CloudDeck.Grains.Builds;
using CloudDeck.Grains.Domains;
using CloudDeck.Grains.Licenses;
using CloudDeck.Grains.Mail;
using CloudDeck.Grains.Notifications;
using CloudDeck.Grains.Organizations;
using CloudDeck.Grains.Projects;
using CloudDeck.Grains.Servers;
using CloudDeck.Grains.Usage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using Orleans.Dashboard;
using Orleans.Hosting;

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

    /// <summary>Durable log streams (build and runtime logs, usage events) in their own file, so they never wait on state writes.</summary>
    public string SqliteStreamsPath => Path.Combine(Path.GetFullPath(DataDirectory), "streams.db");

    public bool IsPostgres => string.Equals(StorageProvider, "Postgres", StringComparison.OrdinalIgnoreCase);

    public void Validate()
    {
        if (IsPostgres)
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
    /// <summary>Every CloudDeck cluster shares this service id: it keys stored state and reminders.</summary>
    public const string ServiceId = "clouddeck";

    /// <summary>
    /// Hosts a CloudDeck silo in this process, configured from <c>CloudDeck:*</c>: the domain services, grain storage,
    /// reminders and log streams (SQLite embedded, PostgreSQL in cluster mode) and, in cluster mode, membership.
    /// </summary>
    public static IHostApplicationBuilder AddCloudDeckSilo(this IHostApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var storage = ReadStorage(configuration);
        var cluster = CloudDeckClusterOptions.Read(configuration, storage);
        var services = builder.Services;
        services.AddSingleton(storage);
        services.AddCloudDeckAccounts(configuration, storage.DataDirectory);
        services.AddCloudDeckLicenses(configuration, storage.DataDirectory, cluster.IsCluster);
        services.AddCloudDeckPlans(configuration);
        services.AddCloudDeckUsage(configuration);
        services.AddCloudDeckArtifacts(configuration, storage.DataDirectory);
        services.AddCloudDeckProjects(configuration, storage.DataDirectory, cluster.IsCluster);
        services.AddCloudDeckDomains(configuration);
        services.AddCloudDeckBuilds(configuration, storage.DataDirectory);
        services.AddCloudDeckServers(configuration, storage.DataDirectory);
        services.AddCloudDeckMail(configuration, storage.DataDirectory);
        services.AddCloudDeckNotifications(configuration);
        services.AddSingleton(cluster);
        var operators = OperatorOptions.Read(configuration);
        // A fresh embedded install (no database yet) lets its first account be the operator; one that had data never does.
        var freshEmbedded = !cluster.IsCluster && !storage.IsPostgres && operators.Emails.Length == 0 && !File.Exists(storage.SqlitePath);
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(options =>
            {
                options.ClusterId = cluster.ClusterId;
                options.ServiceId = ServiceId;
            });
            if (cluster.IsCluster)
            {
                var advertised = IPAddress.Parse(cluster.AdvertisedAddress);
                silo.Configure<EndpointOptions>(endpoints =>
                {
                    endpoints.AdvertisedIPAddress = advertised;
                    endpoints.SiloPort = cluster.SiloPort;
                    endpoints.GatewayPort = cluster.GatewayPort;
                    // Unset: loopback when advertised on loopback, else every interface.
                    var listen = cluster.ListenAddress is { } configured ? IPAddress.Parse(configured)
                        : IPAddress.IsLoopback(advertised) ? advertised : IPAddress.Any;
                    endpoints.SiloListeningEndpoint = new IPEndPoint(listen, cluster.SiloPort);
                    endpoints.GatewayListeningEndpoint = new IPEndPoint(listen, cluster.GatewayPort);
                });
                silo.Configure<ClusterMembershipOptions>(cluster.ApplyTo);
                silo.UseMutualTls(cluster.Tls.Load());
                if (cluster.Kubernetes)
                {
                    silo.UseKubernetesHosting();
                }
            }
            else
            {
                // Embedded: alone on loopback, on a free port unless one is set, with no gateway (the API in this process
                // calls grains directly), so that any number of instances can run on one machine.
                var embedded = CloudDeckEmbeddedOptions.Read(configuration);
                silo.UseLocalhostClustering(siloPort: embedded.SiloPort == 0 ? FreeLoopbackPort() : embedded.SiloPort, gatewayPort: 0,
                    serviceId: ServiceId, clusterId: cluster.ClusterId);
                // The lone silo still listens on loopback, where any local process could send it grain calls: a certificate
                // only this process holds makes the port useless to everyone else. It never connects anywhere, so TLS costs nothing.
                silo.UseMutualTls(MutualTlsCredentials.SelfOnly("clouddeck-embedded-silo"));
            }

            silo.AddLogStreams(options => configuration.GetSection("CloudDeck:Streams").Bind(options));
            if (storage.IsPostgres)
            {
                // State and reminders in PostgreSQL through Orleans' ADO.NET providers on our schema; in cluster mode membership too.
                silo.UsePostgresCluster(storage.PostgresConnectionString!, options =>
                {
                    options.UseClustering = cluster.IsCluster;
                    options.GrainStorageSerializer = new SystemTextJsonGrainStorageSerializer();
                });
                silo.UsePostgresLogStore(storage.PostgresConnectionString!);
            }
            else
            {
                silo.AddSqliteGrainStorageAsDefault(options => options.DatabasePath = storage.SqlitePath);
                silo.UseSqliteReminders(options => options.DatabasePath = storage.SqlitePath);
                silo.UseSqliteLogStore(storage.SqliteStreamsPath);
            }

            silo.AddCallCycleDetection();
            silo.AddRejectedCallRetry();
            // Trace context across grain calls (and the spans of Orleans' sources); without a listener it creates none.
            silo.AddActivityPropagation();
            if (operators.Dashboard) silo.AddDashboard();
            silo.Configure<GrainCollectionOptions>(configuration.GetSection("CloudDeck:Runtime:Collection"));
        });
        // After UseOrleans: hosted services start in order, so the silo is up when this calls its grain.
        if (freshEmbedded) services.AddHostedService<FirstAccountSlot>();
        return builder;
    }

    /// <summary>
    /// Makes this process a client of a CloudDeck cluster (the API in cluster mode): grain calls go to the silos' gateways.
    /// Returns false, registering nothing, when CloudDeck:Cluster:Mode is Embedded.
    /// </summary>
    public static bool TryAddCloudDeckClusterClient(this IHostApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var storage = ReadStorage(configuration);
        var cluster = CloudDeckClusterOptions.Read(configuration, storage);
        if (!cluster.IsCluster)
        {
            return false;
        }

        var services = builder.Services;
        services.AddSingleton(storage);
        services.AddCloudDeckAccounts(configuration, storage.DataDirectory);
        services.AddCloudDeckLicenses(configuration, storage.DataDirectory, cluster: true);
        // Validated here too, so a wrong plan setting stops the API process as it stops a silo.
        services.AddCloudDeckPlans(configuration);
        services.AddCloudDeckUsage(configuration);
        // The API serves uploads and the edge from the same shared directory the silos' builds write to.
        services.AddCloudDeckArtifacts(configuration, storage.DataDirectory);
        services.AddSingleton(cluster);
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(options =>
            {
                options.ClusterId = cluster.ClusterId;
                options.ServiceId = ServiceId;
            });
            client.UsePostgresClustering(cluster.ConnectionString!);
            client.UseMutualTls(cluster.Tls.Load());
            // Orleans' client re-reads its gateway list every minute by default; a silo declared dead (a paused one keeps
            // its connections open) must stop receiving this API's calls as soon as the silos stop using it.
            client.Configure<GatewayOptions>(options => options.GatewayListRefreshPeriod = cluster.TableRefreshPeriod);
            client.AddLogStreams();
            client.AddRejectedCallRetry();
            client.AddActivityPropagation();
            // The API serves the dashboard from the silos' dashboard grains, which every silo of the cluster runs.
            if (OperatorOptions.Read(configuration).Dashboard) client.AddDashboard();
        });
        return true;
    }

    private static CloudDeckStorageOptions ReadStorage(IConfiguration configuration)
    {
        var storage = configuration.GetSection(CloudDeckStorageOptions.Section).Get<CloudDeckStorageOptions>() ?? new();
        storage.Validate();
        return storage;
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>Settings under <c>CloudDeck:Embedded:*</c> for the silo that embedded mode hosts in the API process.</summary>
public sealed class CloudDeckEmbeddedOptions
{
    public const string Section = "CloudDeck:Embedded";

    /// <summary>The loopback port of the embedded silo; 0 (the default) picks a free one at start.</summary>
    public int SiloPort { get; set; }

    public static CloudDeckEmbeddedOptions Read(IConfiguration configuration)
    {
        var options = configuration.GetSection(Section).Get<CloudDeckEmbeddedOptions>() ?? new();
        if (options.SiloPort is < 0 or > 65535)
        {
            throw new InvalidOperationException($"CloudDeck:Embedded:SiloPort must be 0 (pick a free port) or a port up to 65535 (was {options.SiloPort}).");
        }

        return options;
    }
}
