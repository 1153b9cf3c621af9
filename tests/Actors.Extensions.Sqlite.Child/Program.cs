// A one-silo process on a SQLite file, for the test that SIGKILLs it mid-write:
//   write <database> <grains> <durability> <silo port> <gateway port>
//       every grain increments its counter in a loop; after each acknowledged write: "ack <grain> <count>"
//   read <database> <grains> <durability> <silo port> <gateway port>
//       prints "count <grain> <count>" for every grain, then "done", and exits
using System.Globalization;
using Actors.Extensions.Hosting;
using Actors.Extensions.Sqlite;
using Actors.Extensions.Sqlite.Child;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans;

if (args.Length != 6 || args[0] is not ("write" or "read"))
{
    Console.Error.WriteLine("usage: write|read <database> <grains> <Normal|Full> <silo port> <gateway port>");
    return 2;
}

var (mode, database, grains) = (args[0], args[1], int.Parse(args[2], CultureInfo.InvariantCulture));
var durability = Enum.Parse<SqliteDurability>(args[3]);
var (siloPort, gatewayPort) = (int.Parse(args[4], CultureInfo.InvariantCulture), int.Parse(args[5], CultureInfo.InvariantCulture));

var builder = Host.CreateApplicationBuilder();
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.UseOrleans(silo =>
{
    silo.UseLocalhostClustering(siloPort, gatewayPort, serviceId: "sqlite-child", clusterId: "sqlite-child");
    silo.AddSqliteGrainStorage(CounterGrain.StorageName, options =>
    {
        options.DatabasePath = database;
        options.Durability = durability;
    });
});
using var host = builder.Build();
await host.StartAsync();
var factory = host.Services.GetRequiredService<IGrainFactory>();

if (mode == "read")
{
    for (var i = 0; i < grains; i++)
    {
        Console.WriteLine($"count {i} {await factory.GetGrain<ICounterGrain>($"g{i}").Get()}");
    }

    Console.WriteLine("done");
    await host.StopAsync();
    return 0;
}

Console.WriteLine("ready");
await Task.WhenAll(Enumerable.Range(0, grains).Select(async i =>
{
    var grain = factory.GetGrain<ICounterGrain>($"g{i}");
    while (true)
    {
        var count = await grain.Increment();
        // Printed only once the write is acknowledged; the test trusts nothing else.
        Console.WriteLine($"ack {i} {count}");
    }
}));
return 0;
