using CloudDeck.Grains.Usage;
using Microsoft.Extensions.Configuration;

namespace CloudDeck.Grains.Tests.Hosting;

public sealed class UsageOptionsTests
{
    private static UsageOptions Read(params (string Key, string Value)[] settings) =>
        UsageOptions.Read(new ConfigurationBuilder()
            .AddInMemoryCollection(settings.ToDictionary(s => $"{UsageOptions.Section}:{s.Key}", s => (string?)s.Value)).Build());

    [Fact]
    public void Defaults_work_and_wrong_settings_stop_the_start_naming_the_setting()
    {
        var defaults = Read();
        Assert.Equal((1000, 1000, 10_000, 20_000), (defaults.MaxBatchSize, defaults.EventsPerSecondPerToken, defaults.BurstEventsPerToken, defaults.IdempotencyIdsPerPeriod));
        Assert.Equal(50, Read(("EventsPerSecondPerToken", "50")).EventsPerSecondPerToken);

        Assert.Contains("CloudDeck:Usage:BurstEventsPerToken", Assert.Throws<InvalidOperationException>(() =>
            Read(("MaxBatchSize", "500"), ("BurstEventsPerToken", "100"))).Message, StringComparison.Ordinal);
        Assert.Contains("CloudDeck:Usage:IdempotencyIdsPerPeriod", Assert.Throws<InvalidOperationException>(() =>
            Read(("IdempotencyIdsPerPeriod", "0"))).Message, StringComparison.Ordinal);
        Assert.Contains("CloudDeck:Usage:MaxEventAge", Assert.Throws<InvalidOperationException>(() =>
            Read(("MaxEventAge", "-00:01:00"))).Message, StringComparison.Ordinal);
        Assert.Contains("CloudDeck:Usage", Assert.Throws<InvalidOperationException>(() =>
            Read(("MaxBatchSize", "lots"))).Message, StringComparison.Ordinal);
    }
}
