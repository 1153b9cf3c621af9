using Npgsql;

namespace CloudDeck.Testing.Tests;

public sealed class PostgresServerTests(PostgresFixture postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Server_answers_select_version()
    {
        var version = await ScalarAsync(postgres.Server.AdminConnectionString, "select version()");

        Assert.StartsWith("PostgreSQL", Assert.IsType<string>(version), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Test_server_trades_durability_for_speed()
    {
        Assert.False(postgres.Server.Durable);
        Assert.Equal("off", await ScalarAsync(postgres.Server.AdminConnectionString, "show fsync"));
        Assert.Equal("300", await ScalarAsync(postgres.Server.AdminConnectionString, "show max_connections"));
    }

    [Fact]
    public async Task Created_databases_are_isolated_from_each_other()
    {
        var first = await postgres.Server.CreateDatabaseAsync("iso", Ct);
        var second = await postgres.Server.CreateDatabaseAsync("iso", Ct);
        Assert.NotEqual(first, second);

        await ScalarAsync(first, "create table widgets (id int primary key); insert into widgets values (1)");

        Assert.Equal(1L, await ScalarAsync(first, "select count(*) from widgets"));
        Assert.Equal(0L, await ScalarAsync(second, "select count(*) from information_schema.tables where table_name = 'widgets'"));
    }

    [Fact]
    public async Task Durable_server_keeps_fsync_and_dispose_is_idempotent_and_removes_everything()
    {
        _ = postgres.Server; // same skip/fail decision as the shared server
        var server = await PostgresServer.StartAsync(durable: true, Ct);
        string dir;
        try
        {
            dir = server.Directory;
            Assert.True(Directory.Exists(Path.Combine(dir, "data")));
            Assert.Equal("on", await ScalarAsync(server.AdminConnectionString, "show fsync"));
        }
        finally
        {
            await server.DisposeAsync();
        }
        await server.DisposeAsync();

        Assert.False(Directory.Exists(dir));
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => ScalarAsync(server.AdminConnectionString, "select 1"));
    }

    private static async Task<object?> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync(Ct);
    }
}
