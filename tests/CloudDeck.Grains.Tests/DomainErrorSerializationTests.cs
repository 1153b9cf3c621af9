using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Organizations;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace CloudDeck.Grains.Tests;

/// <summary>
/// What the API answers with (a field, a quota's limit, current value, maximum and reset, a wait) crosses the wire as
/// the exceptions' own typed fields through Orleans' serializer; nothing is read back out of a message.
/// </summary>
public sealed class DomainErrorSerializationTests
{
    private static T RoundTrip<T>(T error) where T : Exception
    {
        using var services = new ServiceCollection().AddSerializer(builder => builder.AddAssembly(typeof(QuotaRefusal).Assembly)).BuildServiceProvider();
        var serializer = services.GetRequiredService<Serializer>();
        return Assert.IsType<T>(serializer.Deserialize<Exception>(serializer.SerializeToArray<Exception>(error)));
    }

    [Fact]
    public void Quota_refusals_keep_their_typed_fields_and_their_messages_are_text_only()
    {
        var resetsAt = new DateTimeOffset(2026, 12, 7, 0, 0, 0, TimeSpan.Zero);
        var daily = RoundTrip(new RateLimitExceededException(new QuotaRefusal(QuotaLimits.BuildsPerDay, 5, 5, resetsAt), "Five builds a day."));
        var plan = RoundTrip(new PlanLimitExceededException(new QuotaRefusal(QuotaLimits.TeamMembers, 3, 3, null), "Three members."));

        Assert.Equal(new QuotaRefusal(QuotaLimits.BuildsPerDay, 5, 5, resetsAt), daily.Refusal);
        Assert.Equal("Five builds a day.", daily.Message);
        Assert.Equal(new QuotaRefusal(QuotaLimits.TeamMembers, 3, 3, null), plan.Refusal);
        Assert.Equal("Three members.", plan.Message);
    }

    [Fact]
    public void Field_and_wait_refusals_keep_their_typed_fields()
    {
        var invalid = RoundTrip(new InvalidFieldException("expires_at", "must be in the future"));
        var attempts = RoundTrip(new TooManyAttemptsException(TimeSpan.FromSeconds(89.2)));
        var limited = RoundTrip(new RateLimitedException("100 events a second", TimeSpan.FromSeconds(2.5)));

        Assert.Equal(("expires_at", "must be in the future"), (invalid.Field, invalid.Problem));
        Assert.Equal(90, attempts.RetryAfterSeconds);
        Assert.Equal(3, limited.RetryAfterSeconds);
    }
}
