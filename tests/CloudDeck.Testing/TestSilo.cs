using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Hosting;
using Orleans.Runtime;

namespace CloudDeck.Testing;

/// <summary>
/// One Orleans silo in this process, alone on loopback (free ports, a cluster id of its own), configured by the test:
/// the embedded mode's shape without the API. Grain calls go through the silo's own grain factory.
/// </summary>
public sealed class TestSilo : IAsyncDisposable
{
    private readonly Action<ISiloBuilder> _configure;
    private readonly string _clusterId = "test-" + Guid.NewGuid().ToString("N")[..12];
    private IHost? _host;

    private TestSilo(Action<ISiloBuilder> configure) => _configure = configure;

    public IGrainFactory GrainFactory => Services.GetRequiredService<IGrainFactory>();

    public IServiceProvider Services => (_host ?? throw new InvalidOperationException("The silo is not running.")).Services;

    public static async Task<TestSilo> StartAsync(Action<ISiloBuilder> configure)
    {
        var silo = new TestSilo(configure);
        await silo.StartHostAsync();
        return silo;
    }

    /// <summary>Stops and starts the silo; <paramref name="graceful"/> false stops it without deactivating anything (a crash).</summary>
    public async Task RestartAsync(bool graceful)
    {
        await StopHostAsync(graceful);
        await StartHostAsync();
    }

    public async ValueTask DisposeAsync() => await StopHostAsync(graceful: true);

    private async Task StartHostAsync()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(siloPort: FreeLoopbackPort(), gatewayPort: FreeLoopbackPort(), serviceId: "clouddeck", clusterId: _clusterId);
            _configure(silo);
        });
        var host = builder.Build();
        await host.StartAsync();
        _host = host;
    }

    private async Task StopHostAsync(bool graceful)
    {
        if (_host is not { } host) return;
        _host = null;
        try
        {
            // A cancelled token makes Orleans stop at once, without deactivating (and so without writing) anything.
            await host.StopAsync(graceful ? CancellationToken.None : new CancellationToken(canceled: true));
        }
        catch (OperationCanceledException) when (!graceful)
        {
        }

        host.Dispose();
    }

    public static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

public static class ManualClockServices
{
    /// <summary>
    /// Makes <paramref name="clock"/> the clock of grains and domain services while Orleans' own machinery (membership,
    /// messaging, system timers, activation management, the directory) keeps real time: on a manual clock that jumps days,
    /// membership would find this silo's heartbeat stale, declare it dead and stop the process.
    /// </summary>
    public static IServiceCollection AddManualClock(this IServiceCollection services, TimeProvider clock)
    {
        services.AddSingleton(clock);
        foreach (var area in new[]
                 {
                     TimeProviderNames.Membership, TimeProviderNames.Messaging, TimeProviderNames.SystemTimers,
                     TimeProviderNames.ActivationManagement, TimeProviderNames.GrainDirectory,
                 })
        {
            services.AddKeyedSingleton(area, TimeProvider.System);
        }

        return services;
    }
}
