// TEMPORARY (lead): call-cycle detection arrives with the adonet branch; deleted at merge.
using Orleans.Hosting;

namespace Actors.Extensions;

public static class LeadStubs
{
    public static ISiloBuilder AddCallCycleDetection(this ISiloBuilder b) => b;
    public static IClientBuilder AddCallCycleDetection(this IClientBuilder b) => b;
}
