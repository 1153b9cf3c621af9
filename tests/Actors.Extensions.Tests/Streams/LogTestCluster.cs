using Actors.Extensions.Streams;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.TestingHost;

namespace Actors.Extensions.Tests.Streams;

/// <summary>An in-process Orleans cluster with log streams, a log store and a reminder table that all its silos share.</summary>
internal sealed class LogTestCluster : IAsyncDisposable
{
    private LogTestCluster(InProcessTestCluster cluster) => Cluster = cluster;

    public InProcessTestCluster Cluster { get; }

    public IClusterClient Client => Cluster.Client;

    public ILogStreamProvider Streams => Client.ServiceProvider.GetRequiredService<ILogStreamProvider>();

    public static async Task<LogTestCluster> StartAsync(short silos, Action<LogStreamOptions>? options = null,
        Action<ISiloBuilder>? configureStore = null, Action<IServiceCollection>? services = null, bool reminders = true)
    {
        var store = new MemoryLogStore();
        var reminderTable = new SharedReminderTable();
        var builder = new InProcessTestClusterBuilder(silos);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddLogStreams(o =>
            {
                o.ConsumerReminderPeriod = TimeSpan.FromSeconds(2);
                options?.Invoke(o);
            });
            if (configureStore is null)
            {
                silo.UseMemoryLogStore(store);
            }
            else
            {
                configureStore(silo);
            }

            if (reminders)
            {
                silo.AddReminders();
                silo.Services.AddSingleton<IReminderTable>(reminderTable);
                silo.Configure<ReminderOptions>(o => o.MinimumReminderPeriod = TimeSpan.FromSeconds(1));
            }
            // A killed silo is declared dead within seconds, so its grains and reminders move on while the test waits.
            silo.Configure<ClusterMembershipOptions>(o =>
            {
                o.ProbeTimeout = TimeSpan.FromSeconds(1);
                o.NumMissedProbesLimit = 2;
                o.NumVotesForDeathDeclaration = 1;
                o.TableRefreshTimeout = TimeSpan.FromSeconds(1);
                o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(5);
            });
            services?.Invoke(silo.Services);
        });
        builder.ConfigureClient(client => client.AddLogStreams(options));
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return new LogTestCluster(cluster);
    }

    public InProcessSiloHandle SiloAt(string address) => Cluster.Silos.Single(silo => silo.SiloAddress.ToString() == address);

    public async ValueTask DisposeAsync() => await Cluster.DisposeAsync();
}

/// <summary>Polls a condition until it holds (or the patience runs out, which fails the test with the last state).</summary>
internal static class Eventually
{
    public static async Task HoldsAsync(Func<Task<bool>> condition, TimeSpan patience, Func<Task<string>>? describe = null)
    {
        var deadline = DateTime.UtcNow + patience;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Still not true after {patience}: {(describe is null ? "" : await describe())}");
            }

            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }
}
