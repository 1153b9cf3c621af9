using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Hosting;

namespace Actors.Extensions.AdoNet;

/// <summary>
/// A <see cref="ClusterMembershipOptions"/> preset under which a silo that dies without saying so
/// (SIGKILL, power loss) is declared Dead within a few seconds, so its grains answer elsewhere within 5 s.
/// </summary>
/// <remarks>
/// <para>Orleans' defaults take ~15 s or more: probes every 5 s, 3 missed probes, then two votes.
/// A killed process refuses connections at once, so each probe of it fails immediately and the
/// detection time is about <c>NumMissedProbesLimit × probe period</c>; the probe period adapts between
/// <c>ProbeTimeout / 2</c> and <c>4 × ProbeTimeout</c> from measured probe round trips.</para>
/// <para>The trade-off: a silo that stalls for about 2 s (a long GC pause, a starved CPU, a network
/// hiccup) can be declared dead although it is alive; it then stops itself and its grains move.
/// Two safety nets stay on: indirect probes (the last probe goes through another silo, so one bad link
/// does not kill a silo) and <c>ExtendProbeTimeoutDuringDegradation</c> (a monitor that is itself
/// struggling waits longer before it votes). docs/orleans-postgresql.md has the figures.</para>
/// </remarks>
public static class FastFailureDetection
{
    /// <summary>Probe period basis; effective timeouts adapt between 0.5 s and 4 s.</summary>
    public static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(1);

    /// <summary>Missed probes before a monitor votes.</summary>
    public const int NumMissedProbesLimit = 2;

    /// <summary>Monitors per silo: in a cluster of up to 4 every silo watches all the others.</summary>
    public const int NumProbedSilos = 3;

    /// <summary>Votes needed to declare death (Orleans caps it at half the active silos, rounded up).</summary>
    public const int NumVotesForDeathDeclaration = 2;

    /// <summary>A suspicion older than this no longer counts: votes from a passing hiccup expire quickly.</summary>
    public static readonly TimeSpan DeathVoteExpirationTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Re-read of the membership table when gossip was missed.</summary>
    public static readonly TimeSpan TableRefreshTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Heartbeat written to the table (used for silos that cannot be probed and for defunct-row cleanup).</summary>
    public static readonly TimeSpan IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Applies the preset to <paramref name="options"/> (for callers that bind the rest from configuration).</summary>
    public static void Apply(ClusterMembershipOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.ProbeTimeout = ProbeTimeout;
        options.NumMissedProbesLimit = NumMissedProbesLimit;
        options.NumProbedSilos = NumProbedSilos;
        options.NumVotesForDeathDeclaration = NumVotesForDeathDeclaration;
        options.DeathVoteExpirationTimeout = DeathVoteExpirationTimeout;
        options.TableRefreshTimeout = TableRefreshTimeout;
        options.IAmAliveTablePublishTimeout = IAmAliveTablePublishTimeout;
        options.EnableIndirectProbes = true;
        options.ExtendProbeTimeoutDuringDegradation = true;
        options.UseLivenessGossip = true;
    }

    /// <summary>
    /// Registers the preset. Configuration applied after this call (for example options bound from
    /// <c>appsettings.json</c> with <c>Configure&lt;ClusterMembershipOptions&gt;</c>) still wins.
    /// </summary>
    public static ISiloBuilder ConfigureFastFailureDetection(this ISiloBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Configure<ClusterMembershipOptions>(Apply);
        return builder;
    }
}
