using Actors.Runtime;
using Microsoft.Extensions.Configuration;

namespace CloudDeck.Grains.Hosting;

/// <summary>Settings under <c>CloudDeck:Cluster:*</c>: whether this process is alone (embedded) or part of a cluster.</summary>
public sealed class CloudDeckClusterOptions
{
    public const string Section = "CloudDeck:Cluster";

    /// <summary><c>Embedded</c> (one process, the default) or <c>Cluster</c>.</summary>
    public string Mode { get; set; } = "Embedded";

    public string ClusterId { get; set; } = "clouddeck";

    /// <summary>Membership database; defaults to CloudDeck:PostgresConnectionString.</summary>
    public string? ConnectionString { get; set; }

    public int SiloPort { get; set; } = 11111;

    /// <summary>Where cluster clients (the API) connect; 0 means the silo port.</summary>
    public int GatewayPort { get; set; }

    public string AdvertisedAddress { get; set; } = "127.0.0.1";

    /// <summary>Where the silo listens; unset: loopback if advertised on loopback, else every interface.</summary>
    public string? ListenAddress { get; set; }

    // Failure detection, passed on to the runtime's ClusterOptions; the defaults are the runtime's.
    private static readonly ClusterOptions RuntimeDefaults = new();

    /// <summary>How often a silo probes each of the silos it watches.</summary>
    public TimeSpan ProbePeriod { get; set; } = RuntimeDefaults.ProbePeriod;

    /// <summary>How long a probe may go unanswered before it counts as missed.</summary>
    public TimeSpan ProbeTimeout { get; set; } = RuntimeDefaults.ProbeTimeout;

    public int MissedProbesLimit { get; set; } = RuntimeDefaults.MissedProbesLimit;

    public int VotesForDeathDeclaration { get; set; } = RuntimeDefaults.VotesForDeathDeclaration;

    public int ProbedSilos { get; set; } = RuntimeDefaults.ProbedSilos;

    /// <summary>How long a suspicion vote counts towards a death declaration.</summary>
    public TimeSpan SuspicionLifetime { get; set; } = RuntimeDefaults.SuspicionLifetime;

    public TimeSpan TableRefreshPeriod { get; set; } = RuntimeDefaults.TableRefreshPeriod;

    public TimeSpan IAmAlivePeriod { get; set; } = RuntimeDefaults.IAmAlivePeriod;

    public bool IsCluster => string.Equals(Mode, "Cluster", StringComparison.OrdinalIgnoreCase);

    public static CloudDeckClusterOptions Read(IConfiguration configuration, CloudDeckStorageOptions storage)
    {
        var options = configuration.GetSection(Section).Get<CloudDeckClusterOptions>() ?? new();
        options.ConnectionString ??= storage.PostgresConnectionString;
        options.Validate(storage);
        if (options.IsCluster && string.IsNullOrWhiteSpace(configuration["CloudDeck:Auth:SigningKey"]))
        {
            // One process issues a token, another checks it: a key generated per process would refuse them.
            throw new InvalidOperationException(
                "CloudDeck:Cluster:Mode is Cluster: set CloudDeck:Auth:SigningKey to the same base64 key (32 bytes or more, " +
                "for example `openssl rand -base64 32`) on every silo and API process.");
        }

        return options;
    }

    private void Validate(CloudDeckStorageOptions storage)
    {
        if (!IsCluster)
        {
            if (!string.Equals(Mode, "Embedded", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException($"CloudDeck:Cluster:Mode must be Embedded or Cluster (was '{Mode}').");
            }

            return;
        }

        if (!string.Equals(storage.StorageProvider, "Postgres", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException(
                "CloudDeck:Cluster:Mode is Cluster, so every silo must share its state: set CloudDeck:StorageProvider=Postgres and CloudDeck:PostgresConnectionString.");
        }

        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            throw new InvalidOperationException(
                "CloudDeck:Cluster:Mode is Cluster: set CloudDeck:PostgresConnectionString (or CloudDeck:Cluster:ConnectionString) for the membership table.");
        }

        if (string.IsNullOrWhiteSpace(AdvertisedAddress))
        {
            throw new InvalidOperationException("CloudDeck:Cluster:AdvertisedAddress must not be empty: other silos and clients reach this silo there.");
        }

        if (ListenAddress is not null && !System.Net.IPAddress.TryParse(ListenAddress, out _))
        {
            throw new InvalidOperationException($"CloudDeck:Cluster:ListenAddress must be an IP address (was '{ListenAddress}').");
        }

        if (string.IsNullOrWhiteSpace(ClusterId))
        {
            throw new InvalidOperationException("CloudDeck:Cluster:ClusterId must not be empty.");
        }

        ValidateTimings();
    }

    private void ValidateTimings()
    {
        foreach (var (name, value) in new[]
                 {
                     (nameof(ProbePeriod), ProbePeriod), (nameof(ProbeTimeout), ProbeTimeout), (nameof(SuspicionLifetime), SuspicionLifetime),
                     (nameof(TableRefreshPeriod), TableRefreshPeriod), (nameof(IAmAlivePeriod), IAmAlivePeriod),
                 })
        {
            // Zero would make the probe and refresh loops spin; a day is far past any useful detection time.
            if (value <= TimeSpan.Zero || value > TimeSpan.FromDays(1))
            {
                throw new InvalidOperationException($"CloudDeck:Cluster:{name} must be more than 0 and at most 1.00:00:00 (was '{value}').");
            }
        }

        foreach (var (name, value) in new[]
                 {
                     (nameof(MissedProbesLimit), MissedProbesLimit), (nameof(VotesForDeathDeclaration), VotesForDeathDeclaration),
                     (nameof(ProbedSilos), ProbedSilos),
                 })
        {
            if (value < 1)
            {
                throw new InvalidOperationException($"CloudDeck:Cluster:{name} must be at least 1 (was {value}).");
            }
        }
    }

    public void ApplyTo(ClusterOptions options)
    {
        options.ClusterId = ClusterId;
        options.MembershipConnectionString = ConnectionString;
        options.SiloPort = SiloPort;
        options.GatewayPort = GatewayPort;
        options.AdvertisedAddress = AdvertisedAddress;
        options.ListenAddress = ListenAddress;
        options.ProbePeriod = ProbePeriod;
        options.ProbeTimeout = ProbeTimeout;
        options.MissedProbesLimit = MissedProbesLimit;
        options.VotesForDeathDeclaration = VotesForDeathDeclaration;
        options.ProbedSilos = ProbedSilos;
        options.SuspicionLifetime = SuspicionLifetime;
        options.TableRefreshPeriod = TableRefreshPeriod;
        options.IAmAlivePeriod = IAmAlivePeriod;
    }
}
