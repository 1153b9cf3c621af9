using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Actors.Extensions.Hosting;
using Actors.Extensions.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Hosting;
using Orleans.Runtime;
using Orleans.Storage;

namespace Actors.Extensions.Bench;

/// <summary>One storage configuration to measure: a name for the report and how the silo registers provider "bench".</summary>
internal sealed record StorageSubject(string Name, int Grains, Action<ISiloBuilder, string> Register, Action<string>? PrepareDatabase = null)
{
    /// <summary>Calls the provider directly from a loop per writer instead of through grains: the storage's own ceiling.</summary>
    public bool Direct { get; init; }
}

/// <summary>
/// Grain state writes per second: a silo on localhost whose grains each write their state in a loop, every write
/// awaited before the next (as a grain does), all grains at once. A fresh silo and database file per round.
/// </summary>
internal static class StorageBench
{
    public const string ProviderName = "bench";

    public static StorageSubject Ours(SqliteDurability durability, int grains) =>
        new($"ours: SqliteGrainStorage, Durability={durability}", grains, (silo, database) =>
            silo.AddSqliteGrainStorage(ProviderName, options =>
            {
                options.DatabasePath = database;
                options.Durability = durability;
            }));

    public static StorageSubject Theirs(int grains) =>
        new("Orleans' ADO.NET storage, Microsoft.Data.Sqlite (WAL)", grains, (silo, database) =>
            silo.AddAdoNetGrainStorage(ProviderName, options =>
            {
                // Orleans' name for its SQLite support; it loads Microsoft.Data.Sqlite's SqliteFactory.
                options.Invariant = "System.Data.SQLite";
                options.ConnectionString = $"Data Source={database};Default Timeout=60";
            }),
            OrleansSqliteSchema.Create);

    /// <summary>Writes per second of wall time, and per second of this process's CPU time (steadier on a shared machine).</summary>
    public static async Task<(double PerSecond, double PerCpuSecond)> MeasureAsync(StorageSubject subject, string directory, TimeSpan warmup, TimeSpan duration)
    {
        var database = Path.Combine(directory, $"{Guid.NewGuid():N}.db");
        subject.PrepareDatabase?.Invoke(database);
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(FreePort(), FreePort(), serviceId: "bench", clusterId: $"bench-{Guid.NewGuid():N}");
            subject.Register(silo, database);
        });
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            if (subject.Direct)
            {
                var storage = host.Services.GetRequiredKeyedService<IGrainStorage>(ProviderName);
                await RunDirectAsync(storage, subject.Grains, warmup);
                var started = Stopwatch.StartNew();
                var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
                var direct = await RunDirectAsync(storage, subject.Grains, duration);
                return (direct / started.Elapsed.TotalSeconds, direct / (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds);
            }

            var factory = host.Services.GetRequiredService<IGrainFactory>();
            var grains = Enumerable.Range(0, subject.Grains).Select(i => factory.GetGrain<IStateWriterGrain>($"w{i}")).ToArray();
            await RunAsync(grains, warmup);
            var stopwatch = Stopwatch.StartNew();
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var writes = await RunAsync(grains, duration);
            return (writes / stopwatch.Elapsed.TotalSeconds, writes / (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    private static async Task<long> RunAsync(IStateWriterGrain[] grains, TimeSpan duration)
    {
        var deadline = DateTime.UtcNow + duration;
        var counts = await Task.WhenAll(grains.Select(g => g.WriteUntil(deadline)));
        return counts.Sum(c => (long)c);
    }

    private static async Task<long> RunDirectAsync(IGrainStorage storage, int writers, TimeSpan duration)
    {
        var deadline = DateTime.UtcNow + duration;
        var counts = await Task.WhenAll(Enumerable.Range(0, writers).Select(i => Task.Run(async () =>
        {
            var id = GrainId.Create("bench-direct", $"d{i}");
            var state = new GrainState<BenchState>(new BenchState());
            await storage.ReadStateAsync("bench", id, state);
            var writes = 0;
            while (DateTime.UtcNow < deadline)
            {
                state.State!.Count++;
                await storage.WriteStateAsync("bench", id, state);
                writes++;
            }

            return writes;
        })));
        return counts.Sum(c => (long)c);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
