namespace Actors.Runtime;

/// <summary>
/// Settings of a silo in a multi-silo cluster. The failure-detection defaults declare a dead silo in about
/// three seconds (Orleans' take about fifteen): probes every second, a probe times out after one second, two
/// missed probes make a suspicion, and two fresh suspicions (or a majority of a small cluster) make it dead.
/// </summary>
public sealed class ClusterOptions
{
    /// <summary>Silos with the same id form one cluster; rows of other clusters in the same table are ignored.</summary>
    public string ClusterId { get; set; } = "default";

    /// <summary>PostgreSQL database holding the membership table.</summary>
    public string? MembershipConnectionString { get; set; }

    /// <summary>Port for silo-to-silo traffic. 0 picks a free port.</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>Port for cluster clients; 0 means clients use the silo port.</summary>
    public int GatewayPort { get; set; }

    /// <summary>Address other silos and clients use to reach this one.</summary>
    public string AdvertisedAddress { get; set; } = "127.0.0.1";

    /// <summary>
    /// Address the silo listens on. Unset: loopback when the advertised address is loopback, else all interfaces.
    /// The cluster port is not authenticated: keep it on a private network.
    /// </summary>
    public string? ListenAddress { get; set; }

    internal System.Net.IPAddress ResolveListenAddress() =>
        ListenAddress is { } configured ? System.Net.IPAddress.Parse(configured)
        : System.Net.IPAddress.TryParse(AdvertisedAddress, out var advertised) && System.Net.IPAddress.IsLoopback(advertised) ? advertised
        : System.Net.IPAddress.Any;

    public TimeSpan ProbePeriod { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(1);

    public int MissedProbesLimit { get; set; } = 2;

    public int VotesForDeathDeclaration { get; set; } = 2;

    /// <summary>How many other silos each silo probes.</summary>
    public int ProbedSilos { get; set; } = 3;

    /// <summary>How long a suspicion counts towards a death declaration.</summary>
    public TimeSpan SuspicionLifetime { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often the table is read even without gossip.</summary>
    public TimeSpan TableRefreshPeriod { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan IAmAlivePeriod { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How many times a request may be forwarded between silos before it fails.</summary>
    public int MaxForwardHops { get; set; } = 3;

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(MembershipConnectionString))
        {
            throw new InvalidOperationException("Cluster mode needs the membership database: set the PostgreSQL connection string (ClusterOptions.MembershipConnectionString).");
        }

        if (SiloPort is < 0 or > 65535 || GatewayPort is < 0 or > 65535)
        {
            throw new InvalidOperationException($"Silo port {SiloPort} and gateway port {GatewayPort} must be between 0 and 65535.");
        }

        if (MissedProbesLimit < 1 || VotesForDeathDeclaration < 1 || ProbedSilos < 1)
        {
            throw new InvalidOperationException("MissedProbesLimit, VotesForDeathDeclaration and ProbedSilos must be at least 1.");
        }
    }
}
