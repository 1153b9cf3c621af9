using Actors.Extensions.AdoNet;
using Orleans.Configuration;
using Actors.Extensions.Security;
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

    /// <summary>Where cluster clients (the API) connect. Must differ from <see cref="SiloPort"/>.</summary>
    public int GatewayPort { get; set; } = 30000;

    public string AdvertisedAddress { get; set; } = "127.0.0.1";

    /// <summary>Where the silo listens; unset: loopback if advertised on loopback, else every interface.</summary>
    public string? ListenAddress { get; set; }

    // Failure detection, passed on to Orleans' ClusterMembershipOptions; the defaults are FastFailureDetection's preset
    // (a SIGKILLed silo is declared dead in a few seconds instead of Orleans' ~15 s; the trade-off is written there).

    /// <summary>How often a silo probes each silo it watches, and how long a probe may stay unanswered.</summary>
    public TimeSpan ProbeTimeout { get; set; } = FastFailureDetection.ProbeTimeout;

    public int MissedProbesLimit { get; set; } = FastFailureDetection.NumMissedProbesLimit;

    public int VotesForDeathDeclaration { get; set; } = FastFailureDetection.NumVotesForDeathDeclaration;

    public int ProbedSilos { get; set; } = FastFailureDetection.NumProbedSilos;

    /// <summary>How long a suspicion vote counts towards a death declaration.</summary>
    public TimeSpan SuspicionLifetime { get; set; } = FastFailureDetection.DeathVoteExpirationTimeout;

    /// <summary>How often the membership table is read even without gossip.</summary>
    public TimeSpan TableRefreshPeriod { get; set; } = FastFailureDetection.TableRefreshTimeout;

    public TimeSpan IAmAlivePeriod { get; set; } = FastFailureDetection.IAmAliveTablePublishTimeout;

    /// <summary>
    /// Running as pods: Orleans' Kubernetes agent also watches the silo pods (labels <c>orleans/serviceId</c> =
    /// <c>clouddeck</c>, <c>orleans/clusterId</c> = <see cref="ClusterId"/>), so a deleted pod's silo is declared dead at
    /// once instead of after missed probes.
    /// </summary>
    public bool Kubernetes { get; set; }

    /// <summary>Mutual TLS on the silo and gateway ports; required in cluster mode.</summary>
    public ClusterTlsOptions Tls { get; set; } = new();

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

        if (options.IsCluster)
        {
            options.Tls.Validate();
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

        if (!System.Net.IPAddress.TryParse(AdvertisedAddress, out _))
        {
            throw new InvalidOperationException(
                $"CloudDeck:Cluster:AdvertisedAddress must be an IP address other silos and clients reach this silo at (was '{AdvertisedAddress}'; for example 10.0.0.5).");
        }

        if (ListenAddress is not null && !System.Net.IPAddress.TryParse(ListenAddress, out _))
        {
            throw new InvalidOperationException($"CloudDeck:Cluster:ListenAddress must be an IP address (was '{ListenAddress}').");
        }

        if (string.IsNullOrWhiteSpace(ClusterId))
        {
            throw new InvalidOperationException("CloudDeck:Cluster:ClusterId must not be empty.");
        }

        if (SiloPort is < 1 or > 65535 || GatewayPort is < 1 or > 65535 || SiloPort == GatewayPort)
        {
            throw new InvalidOperationException(
                $"CloudDeck:Cluster:SiloPort and GatewayPort must be two different ports from 1 to 65535 (were {SiloPort} and {GatewayPort}; for example 11111 and 30000).");
        }

        ValidateTimings();
    }

    private void ValidateTimings()
    {
        foreach (var (name, value) in new[]
                 {
                     (nameof(ProbeTimeout), ProbeTimeout), (nameof(SuspicionLifetime), SuspicionLifetime),
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

    /// <summary>This process's failure-detection settings, in Orleans' terms.</summary>
    public void ApplyTo(ClusterMembershipOptions options)
    {
        options.ProbeTimeout = ProbeTimeout;
        options.NumMissedProbesLimit = MissedProbesLimit;
        options.NumVotesForDeathDeclaration = VotesForDeathDeclaration;
        options.NumProbedSilos = ProbedSilos;
        options.DeathVoteExpirationTimeout = SuspicionLifetime;
        options.TableRefreshTimeout = TableRefreshPeriod;
        options.IAmAliveTablePublishTimeout = IAmAlivePeriod;
        options.EnableIndirectProbes = true;
        options.ExtendProbeTimeoutDuringDegradation = true;
    }
}

/// <summary>
/// Settings under <c>CloudDeck:Cluster:Tls:*</c>. The silo and gateway ports listen on the host's own addresses, where
/// builds in a container or anything else on the network could reach them: every silo and API process presents a
/// certificate issued by the cluster's own authority and accepts only peers that do.
/// </summary>
public sealed class ClusterTlsOptions
{
    /// <summary>This process's certificate (PEM); its key usages, if any, must allow client and server authentication.</summary>
    public string? CertificatePath { get; set; }

    /// <summary>The certificate's private key (PEM).</summary>
    public string? KeyPath { get; set; }

    /// <summary>The authority (PEM, one or more certificates) that issued every silo's and API process's certificate.</summary>
    public string? AuthorityPath { get; set; }

    public MutualTlsCredentials Load() => MutualTlsCredentials.FromPemFiles(CertificatePath!, KeyPath!, AuthorityPath!);

    internal void Validate()
    {
        foreach (var (name, path) in new[] { (nameof(CertificatePath), CertificatePath), (nameof(KeyPath), KeyPath), (nameof(AuthorityPath), AuthorityPath) })
        {
            if (string.IsNullOrWhiteSpace(path))
            {
                throw new InvalidOperationException(
                    $"CloudDeck:Cluster:Mode is Cluster, so silos and clients talk over mutual TLS: set CloudDeck:Cluster:Tls:{name} " +
                    "(CertificatePath and KeyPath: this process's PEM certificate and key; AuthorityPath: the PEM certificate of the " +
                    "authority that issued every process's certificate; docs/cluster.md shows how to make them with openssl).");
            }

            if (!File.Exists(path))
            {
                throw new InvalidOperationException($"CloudDeck:Cluster:Tls:{name} names '{path}', which does not exist.");
            }
        }

        try
        {
            var credentials = Load();
            if (!credentials.Trusts(credentials.Certificate))
            {
                throw new InvalidOperationException(
                    $"CloudDeck:Cluster:Tls:CertificatePath ('{credentials.Certificate.Subject}') was not issued by the authority in " +
                    "CloudDeck:Cluster:Tls:AuthorityPath, or is expired: the other processes would refuse it.");
            }
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            throw new InvalidOperationException($"CloudDeck:Cluster:Tls: the certificate, key or authority could not be read as PEM ({e.Message}).", e);
        }
    }
}
