using CloudDeck.GrainInterfaces.Usage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CloudDeck.Grains.Usage;

/// <summary>Settings under <c>CloudDeck:Usage</c>. Every one has a default that works embedded.</summary>
public sealed class UsageOptions
{
    public const string Section = "CloudDeck:Usage";

    /// <summary>Events one <c>POST /api/v1/usage/events</c> may carry.</summary>
    public int MaxBatchSize { get; set; } = 1000;

    /// <summary>The most bytes that request's body may have.</summary>
    public int MaxBodyBytes { get; set; } = 512 * 1024;

    /// <summary>Events per second each API token (or session) may report, refilling its token bucket.</summary>
    public int EventsPerSecondPerToken { get; set; } = 1000;

    /// <summary>The bucket's size: events a token may report at once after a quiet spell. At least <see cref="MaxBatchSize"/>.</summary>
    public int BurstEventsPerToken { get; set; } = 10_000;

    /// <summary>
    /// Idempotency ids a meter remembers per organization and billing period (the newest; older ones are forgotten).
    /// An SDK retry is counted once if its id is among them.
    /// </summary>
    public int IdempotencyIdsPerPeriod { get; set; } = 20_000;

    /// <summary>Billing periods a meter keeps (the newest); older ones are dropped.</summary>
    public int RetainedPeriods { get; set; } = 24;

    /// <summary>Distinct kinds a meter counts per period; events of further kinds are dropped (and logged).</summary>
    public int MaxKindsPerPeriod { get; set; } = 64;

    /// <summary>How old a reported event's time may be (ingest answers 400 beyond it).</summary>
    public TimeSpan MaxEventAge { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How far ahead of the server's clock a reported event's time may be.</summary>
    public TimeSpan MaxClockSkew { get; set; } = TimeSpan.FromMinutes(5);

    /// <exception cref="InvalidOperationException">A setting is wrong; the message names it.</exception>
    public static UsageOptions Read(IConfiguration configuration)
    {
        var options = new UsageOptions();
        try
        {
            configuration.GetSection(Section).Bind(options);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"{Section} could not be read ({e.Message}).", e);
        }

        options.Validate();
        return options;
    }

    private void Validate()
    {
        if (MaxBatchSize < 1) throw Invalid(nameof(MaxBatchSize), "must be at least 1");
        if (MaxBodyBytes < 1024) throw Invalid(nameof(MaxBodyBytes), "must be at least 1024");
        if (EventsPerSecondPerToken < 1) throw Invalid(nameof(EventsPerSecondPerToken), "must be at least 1");
        if (BurstEventsPerToken < MaxBatchSize) throw Invalid(nameof(BurstEventsPerToken), $"must be at least MaxBatchSize ({MaxBatchSize}), or a full batch could never pass");
        if (IdempotencyIdsPerPeriod < 1) throw Invalid(nameof(IdempotencyIdsPerPeriod), "must be at least 1");
        if (RetainedPeriods < 2) throw Invalid(nameof(RetainedPeriods), "must be at least 2 (this period and the last)");
        if (MaxKindsPerPeriod < UsageKinds.BuiltIn.Count) throw Invalid(nameof(MaxKindsPerPeriod), $"must be at least {UsageKinds.BuiltIn.Count} (the built-in kinds)");
        if (MaxEventAge <= TimeSpan.Zero) throw Invalid(nameof(MaxEventAge), "must be a positive time span such as 7.00:00:00");
        if (MaxClockSkew < TimeSpan.Zero) throw Invalid(nameof(MaxClockSkew), "must not be negative");
    }

    private static InvalidOperationException Invalid(string name, string problem) => new($"{Section}:{name} {problem}.");
}

public static class UsageServices
{
    /// <summary>Usage settings for the meter and ingest grains and the API; validated now, so a wrong one stops the process at start.</summary>
    public static IServiceCollection AddCloudDeckUsage(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(UsageOptions.Read(configuration));
        services.TryAddSingleton(TimeProvider.System);
        return services;
    }
}
