namespace Actors.Runtime;

/// <summary>
/// What one process believes the cluster is: the active silos, from one read of the membership table.
/// Placement is rendezvous hashing over them: every silo with the same view picks the same owner, and when a
/// silo joins or leaves only the grains it wins or held move (about 1/N of them).
/// </summary>
internal sealed class ClusterView
{
    private readonly (SiloAddress Silo, ulong Hash, int GatewayPort)[] _active;

    public ClusterView(IReadOnlyList<MembershipEntry> entries, long version)
    {
        Entries = entries;
        Version = version;
        _active = entries.Where(e => e.Status == SiloStatus.Active)
            .OrderBy(e => e.Silo.ToString(), StringComparer.Ordinal)
            .Select(e => (e.Silo, GrainId.Fnv1a(14695981039346656037UL, e.Silo.ToString()), e.GatewayPort))
            .ToArray();
    }

    public static ClusterView Empty { get; } = new([], -1);

    public IReadOnlyList<MembershipEntry> Entries { get; }

    public long Version { get; }

    public int ActiveCount => _active.Length;

    public IEnumerable<SiloAddress> ActiveSilos => _active.Select(a => a.Silo);

    public bool IsActive(SiloAddress silo) => Array.Exists(_active, a => a.Silo == silo);

    public SiloAddress? Owner(GrainId grainId)
    {
        SiloAddress? best = null;
        var bestScore = 0UL;
        foreach (var (silo, hash, _) in _active)
        {
            var score = Mix(grainId.StableHash ^ hash);
            if (best is null || score > bestScore)
            {
                best = silo;
                bestScore = score;
            }
        }

        return best;
    }

    /// <summary>Where a client reaches a silo: its gateway port, or its silo port when it has none.</summary>
    public int GatewayPortOf(SiloAddress silo)
    {
        foreach (var (active, _, gatewayPort) in _active)
        {
            if (active == silo)
            {
                return gatewayPort == 0 ? silo.Port : gatewayPort;
            }
        }

        return silo.Port;
    }

    // SplitMix64's finalizer: spreads the combined hash so scores are independent per silo.
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
