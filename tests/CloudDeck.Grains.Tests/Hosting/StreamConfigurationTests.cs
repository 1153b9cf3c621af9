using Actors.Extensions.Streams;
using CloudDeck.Grains.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace CloudDeck.Grains.Tests.Hosting;

public sealed class StreamConfigurationTests
{
    [Fact]
    public void Stream_settings_and_retention_per_namespace_come_from_CloudDeck_Streams()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["CloudDeck:DataDirectory"] = Directory.CreateTempSubdirectory("clouddeck-config-").FullName,
            ["CloudDeck:Streams:SubscriberBuffer"] = "64",
            ["CloudDeck:Streams:Retention:build-logs:MaxAge"] = "30.00:00:00",
            ["CloudDeck:Streams:Retention:usage:MaxCount"] = "1000",
        }).Build();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddConfiguration(configuration);
        builder.AddCloudDeckSilo();
        using var host = builder.Build();
        var provider = host.Services;

        var options = provider.GetRequiredService<IOptions<LogStreamOptions>>().Value;
        Assert.Equal(64, options.SubscriberBuffer);
        Assert.Equal(4096, options.CacheSize);
        Assert.Equal(new LogRetention(TimeSpan.FromDays(30), null), options.Retention["build-logs"]);
        Assert.Equal(new LogRetention(null, 1000), options.Retention["usage"]);
    }
}
