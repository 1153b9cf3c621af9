using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Actors.Runtime.Testing;

/// <summary>
/// A silo in this process for grain tests, in the spirit of Orleans' InProcessTestCluster.
/// <see cref="RestartAsync"/> stops the silo gracefully (or abruptly) and starts a new one on the same storage,
/// which is how tests prove that state and reminders outlive a silo.
/// </summary>
public sealed class InProcessTestCluster : IAsyncDisposable
{
    private readonly Action<SiloBuilder> _configure;
    private IHost? _host;

    private InProcessTestCluster(Action<SiloBuilder> configure) => _configure = configure;

    public IServiceProvider Services => (_host ?? throw new InvalidOperationException("The silo is not running.")).Services;

    public IGrainFactory GrainFactory => Services.GetRequiredService<IGrainFactory>();

    /// <summary>Activations currently live in the silo.</summary>
    public int ActivationCount => Services.GetRequiredService<SiloHealth>().ActivationCount;

    internal GrainRuntime Runtime => Services.GetRequiredService<GrainRuntime>();

    public static async Task<InProcessTestCluster> StartAsync(Action<SiloBuilder> configure)
    {
        var cluster = new InProcessTestCluster(configure);
        await cluster.StartSiloAsync();
        return cluster;
    }

    private async Task StartSiloAsync()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddConsole();
        builder.Services.AddActorSilo(_configure);
        _host = builder.Build();
        await _host.StartAsync();
    }

    /// <summary>
    /// Stops the silo and starts a fresh one with the same configuration. With <paramref name="graceful"/> false,
    /// activations are dropped without deactivation, as if the process had died.
    /// </summary>
    public async Task RestartAsync(bool graceful = true)
    {
        await StopSiloAsync(graceful);
        await StartSiloAsync();
    }

    private async Task StopSiloAsync(bool graceful)
    {
        if (_host is null)
        {
            return;
        }

        if (!graceful)
        {
            _host.Services.GetRequiredService<GrainRuntime>().Abandon();
            await _host.Services.GetRequiredService<ReminderService>().DisposeAsync();
        }

        await _host.StopAsync();
        _host.Dispose();
        _host = null;
    }

    public async ValueTask DisposeAsync() => await StopSiloAsync(graceful: true);
}
