using Actors.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.TestingHost;

namespace Actors.Extensions.Tests.Sqlite;

/// <summary>Bad settings stop the silo at start with a message that names the setting and shows an example.</summary>
public sealed class SqliteOptionsTests
{
    [Fact]
    public async Task Grain_storage_without_a_database_path_stops_the_silo_naming_the_setting()
    {
        var failure = await StartExpectingFailureAsync(silo => silo.AddSqliteGrainStorage("store", options => options.MaxBatchSize = 0));

        Assert.Contains("SqliteGrainStorage[store]:DatabasePath", failure.Message, StringComparison.Ordinal);
        Assert.Contains("SqliteGrainStorage[store]:MaxBatchSize must be between 1 and 100000 (for example 1024), not 0", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reminders_without_a_database_path_stop_the_silo_naming_the_setting()
    {
        var failure = await StartExpectingFailureAsync(silo => silo.UseSqliteReminders(options => options.DatabasePath = " "));

        Assert.Contains("SqliteReminders:DatabasePath must name the SQLite database file (for example \"./.data/grains.db\")", failure.Message, StringComparison.Ordinal);
    }

    private static async Task<OptionsValidationException> StartExpectingFailureAsync(Action<Orleans.Hosting.ISiloBuilder> configure)
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) => configure(silo));
        await using var cluster = builder.Build();
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => cluster.DeployAsync(TestContext.Current.CancellationToken));
        for (Exception? e = failure; e is not null; e = e.InnerException ?? (e as AggregateException)?.InnerExceptions.FirstOrDefault())
        {
            if (e is OptionsValidationException validation)
            {
                return validation;
            }
        }

        Assert.Fail($"The silo did not fail to start with an OptionsValidationException but with: {failure}");
        return null!;
    }
}
