using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.Grains.Billing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CloudDeck.Grains.Organizations;

/// <summary>
/// One plan's limits as configured; -1 means unlimited. Bandwidth is set in GB (10^9 bytes) and storage in MB (10^6
/// bytes); both are counted in bytes.
/// </summary>
public sealed record PlanLimits(
    long ConcurrentBuilds,
    long BuildsPerDay,
    long BuildMinutesPerMonth,
    long DeploymentsPerDay,
    long BandwidthGbPerMonth,
    long Projects,
    long TeamMembers,
    long StorageMb)
{
    public long Maximum(string limit) => limit switch
    {
        QuotaLimits.ConcurrentBuilds => ConcurrentBuilds,
        QuotaLimits.BuildsPerDay => BuildsPerDay,
        QuotaLimits.BuildMinutesPerMonth => BuildMinutesPerMonth,
        QuotaLimits.DeploymentsPerDay => DeploymentsPerDay,
        QuotaLimits.BandwidthBytesPerMonth => BandwidthGbPerMonth == QuotaLimits.Unlimited ? QuotaLimits.Unlimited : BandwidthGbPerMonth * 1_000_000_000,
        QuotaLimits.Projects => Projects,
        QuotaLimits.TeamMembers => TeamMembers,
        QuotaLimits.StorageBytes => StorageMb == QuotaLimits.Unlimited ? QuotaLimits.Unlimited : StorageMb * 1_000_000,
        _ => throw new ArgumentException($"Unknown quota limit '{limit}'.", nameof(limit)),
    };
}

/// <summary>
/// Plans under <c>CloudDeck:Plans:{Hobby|Pro|Team|Enterprise}:{setting}</c>, laid over defaults modelled on Vercel's and
/// Netlify's public tiers. Validated when the process starts: a wrong value stops it with a message naming the setting.
/// </summary>
public sealed class PlanOptions
{
    public const string Section = "CloudDeck:Plans";

    public static readonly IReadOnlyDictionary<string, PlanLimits> Defaults = new Dictionary<string, PlanLimits>(StringComparer.Ordinal)
    {
        // Hobby: Vercel Hobby (1 concurrent build, 100 deployments a day, 6,000 build minutes, 100 GB, 200 projects, one person).
        // Storage: what the deployments' files take, deduplicated (1 GB, as free blob and object stores give).
        [PlanNames.Hobby] = new(ConcurrentBuilds: 1, BuildsPerDay: 100, BuildMinutesPerMonth: 6_000, DeploymentsPerDay: 100,
            BandwidthGbPerMonth: 100, Projects: 200, TeamMembers: 1, StorageMb: 1_000),
        // Pro: Vercel Pro (more concurrency, 6,000 deployments a day, 1 TB), seats capped where Vercel bills per seat.
        [PlanNames.Pro] = new(ConcurrentBuilds: 3, BuildsPerDay: 6_000, BuildMinutesPerMonth: 24_000, DeploymentsPerDay: 6_000,
            BandwidthGbPerMonth: 1_000, Projects: -1, TeamMembers: 10, StorageMb: 100_000),
        [PlanNames.Team] = new(ConcurrentBuilds: 12, BuildsPerDay: 12_000, BuildMinutesPerMonth: 60_000, DeploymentsPerDay: 12_000,
            BandwidthGbPerMonth: 5_000, Projects: -1, TeamMembers: 100, StorageMb: 1_000_000),
        [PlanNames.Enterprise] = new(ConcurrentBuilds: 50, BuildsPerDay: -1, BuildMinutesPerMonth: -1, DeploymentsPerDay: -1,
            BandwidthGbPerMonth: -1, Projects: -1, TeamMembers: -1, StorageMb: -1),
    };

    /// <summary>Keeps the limit in bytes within a long.</summary>
    private const long MaxBandwidthGb = 1_000_000_000;

    /// <summary>Keeps the limit in bytes within a long.</summary>
    private const long MaxStorageMb = 1_000_000_000_000;

    private static readonly string[] SettingNames = [.. typeof(PlanLimits).GetProperties().Select(p => p.Name).Where(n => n != "EqualityContract")];

    public PlanOptions(IReadOnlyDictionary<string, PlanLimits> plans) => Plans = plans;

    public IReadOnlyDictionary<string, PlanLimits> Plans { get; }

    public PlanLimits For(string plan) => Plans.TryGetValue(plan, out var limits) ? limits : Plans[PlanNames.Default];

    /// <exception cref="InvalidOperationException">A setting is wrong; the message names it.</exception>
    public static PlanOptions Read(IConfiguration configuration)
    {
        var plans = new Dictionary<string, PlanLimits>(Defaults, StringComparer.Ordinal);
        foreach (var planSection in configuration.GetSection(Section).GetChildren())
        {
            var plan = planSection.Key.ToLowerInvariant();
            if (!plans.TryGetValue(plan, out var limits))
            {
                throw Invalid(planSection.Key, $"is not a plan; the plans are Hobby, Pro, Team and Enterprise");
            }

            foreach (var setting in planSection.GetChildren())
            {
                var name = SettingNames.FirstOrDefault(n => string.Equals(n, setting.Key, StringComparison.OrdinalIgnoreCase))
                    ?? throw Invalid($"{planSection.Key}:{setting.Key}", $"is not a plan setting; they are {string.Join(", ", SettingNames)}");
                if (!long.TryParse(setting.Value, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var value)
                    || value < QuotaLimits.Unlimited)
                {
                    throw Invalid($"{planSection.Key}:{setting.Key}", $"must be a whole number, 0 or more, or -1 for unlimited (was '{setting.Value}')");
                }

                if (name == nameof(PlanLimits.BandwidthGbPerMonth) && value > MaxBandwidthGb)
                {
                    throw Invalid($"{planSection.Key}:{setting.Key}", $"must be at most {MaxBandwidthGb} (GB), or -1 for unlimited");
                }

                if (name == nameof(PlanLimits.StorageMb) && value > MaxStorageMb)
                {
                    throw Invalid($"{planSection.Key}:{setting.Key}", $"must be at most {MaxStorageMb} (MB), or -1 for unlimited");
                }

                limits = With(limits, name, value);
            }

            plans[plan] = limits;
        }

        return new PlanOptions(plans);
    }

    private static PlanLimits With(PlanLimits limits, string setting, long value) => setting switch
    {
        nameof(PlanLimits.ConcurrentBuilds) => limits with { ConcurrentBuilds = value },
        nameof(PlanLimits.BuildsPerDay) => limits with { BuildsPerDay = value },
        nameof(PlanLimits.BuildMinutesPerMonth) => limits with { BuildMinutesPerMonth = value },
        nameof(PlanLimits.DeploymentsPerDay) => limits with { DeploymentsPerDay = value },
        nameof(PlanLimits.BandwidthGbPerMonth) => limits with { BandwidthGbPerMonth = value },
        nameof(PlanLimits.Projects) => limits with { Projects = value },
        nameof(PlanLimits.TeamMembers) => limits with { TeamMembers = value },
        nameof(PlanLimits.StorageMb) => limits with { StorageMb = value },
        _ => limits,
    };

    private static InvalidOperationException Invalid(string setting, string problem) => new($"{Section}:{setting} {problem}.");
}

public static class PlanServices
{
    /// <summary>Plan settings (<c>CloudDeck:Plans:*</c>), validated now so a wrong value stops the process at start.</summary>
    /// <exception cref="InvalidOperationException">A setting is wrong; the message names it.</exception>
    /// <remarks>Also the allowance of accounts whose email is not verified (<c>CloudDeck:Accounts:*</c>), which limits the same uploads and deployments.</remarks>
    /// <remarks>And billing (<c>CloudDeck:Billing:*</c>): with it on, Stripe decides each organization's plan.</remarks>
    public static IServiceCollection AddCloudDeckPlans(this IServiceCollection services, IConfiguration configuration) =>
        services.AddSingleton(PlanOptions.Read(configuration)).AddSingleton(UnverifiedAccountOptions.Read(configuration))
            .AddCloudDeckBilling(configuration);
}
