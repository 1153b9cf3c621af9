using CloudDeck.Grains.Diagnostics;
using CloudDeck.Grains.Hosting;
using CloudDeck.Testing;
using Npgsql;

namespace CloudDeck.Grains.Tests.Diagnostics;

public sealed class ActivationJournalTests(PostgresFixture postgres)
{
    [Fact]
    public async Task Silos_recording_their_first_activation_at_once_all_create_the_table_without_a_race()
    {
        // Regression (seen in CI): the table was created under a session lock released before the CREATE committed,
        // so a second silo raced it and its first activation failed with 23505 on pg_type. The race needs the
        // creations to overlap, hence many rounds, each starting from a dropped table.
        var cancellation = TestContext.Current.CancellationToken;
        var connectionString = await postgres.Server.CreateDatabaseAsync("journal", cancellation);
        await using var admin = NpgsqlDataSource.Create(connectionString);
        for (var round = 0; round < 40; round++)
        {
            await using (var drop = admin.CreateCommand("DROP TABLE IF EXISTS clouddeck_activation_journal"))
            {
                await drop.ExecuteNonQueryAsync(cancellation);
            }

            var journals = Enumerable.Range(0, 8)
                .Select(_ => new ActivationJournal(new CloudDeckStorageOptions { StorageProvider = "Postgres", PostgresConnectionString = connectionString }))
                .ToArray();
            try
            {
                using var start = new Barrier(journals.Length);
                await Task.WhenAll(journals.Select((journal, i) => Task.Run(async () =>
                {
                    start.SignalAndWait(cancellation);
                    await journal.RecordAsync($"probe/{i}", Guid.NewGuid(), $"silo-{i}", cancellation);
                }, cancellation)));
            }
            finally
            {
                foreach (var journal in journals) await journal.DisposeAsync();
            }

            await using var count = admin.CreateCommand("SELECT count(*) FROM clouddeck_activation_journal");
            Assert.Equal(8L, (long)(await count.ExecuteScalarAsync(cancellation))!);
        }
    }
}
