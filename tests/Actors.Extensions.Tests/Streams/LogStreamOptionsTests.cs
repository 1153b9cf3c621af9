using Actors.Extensions.Streams;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Actors.Extensions.Tests.Streams;

public sealed class LogStreamOptionsTests
{
    private static IOptions<LogStreamOptions> Bind(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddOptions<LogStreamOptions>().BindConfiguration("CloudDeck:Streams");
        services.AddSingleton<IValidateOptions<LogStreamOptions>, LogStreamOptionsValidator>();
        return services.BuildServiceProvider().GetRequiredService<IOptions<LogStreamOptions>>();
    }

    [Fact]
    public void Settings_bind_from_CloudDeck_Streams_including_retention_per_namespace()
    {
        var options = Bind(new()
        {
            ["CloudDeck:Streams:SubscriberBuffer"] = "256",
            ["CloudDeck:Streams:LiveWait"] = "00:00:05",
            ["CloudDeck:Streams:Retention:build-logs:MaxAge"] = "30.00:00:00",
            ["CloudDeck:Streams:Retention:runtime-logs:MaxCount"] = "100000",
        }).Value;

        Assert.Equal((256, TimeSpan.FromSeconds(5), 4096), (options.SubscriberBuffer, options.LiveWait, options.CacheSize));
        Assert.Equal(new LogRetention(TimeSpan.FromDays(30), null), options.Retention["build-logs"]);
        Assert.Equal(new LogRetention(null, 100_000), options.Retention["runtime-logs"]);
    }

    [Fact]
    public void Invalid_settings_are_refused_with_the_setting_named_and_an_example()
    {
        var options = Bind(new()
        {
            ["CloudDeck:Streams:SubscriberBuffer"] = "0",
            ["CloudDeck:Streams:Retention:build-logs:MaxCount"] = "-5",
        });

        var error = Assert.Throws<OptionsValidationException>(() => options.Value);
        Assert.Contains("CloudDeck:Streams:SubscriberBuffer must be at least 1 (for example 1024)", error.Message, StringComparison.Ordinal);
        Assert.Contains("CloudDeck:Streams:Retention:build-logs:MaxCount", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "key")]
    [InlineData("Build-Logs", "key")]
    [InlineData("build/logs", "key")]
    [InlineData("build-logs", "")]
    public void A_stream_id_refuses_a_bad_namespace_or_key(string ns, string key) =>
        Assert.Throws<ArgumentException>(() => new LogStreamId(ns, key));

    [Fact]
    public void A_stream_id_round_trips_through_its_grain_key_even_with_slashes_in_the_key()
    {
        var id = new LogStreamId("build-logs", "org/project/42");
        Assert.Equal("build-logs/org/project/42", id.ToString());
        Assert.Equal(id, LogStreamId.Parse(id.ToString()));
    }
}
