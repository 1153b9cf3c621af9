using System.Threading.Channels;
using Microsoft.Data.Sqlite;

namespace Actors.Extensions.Streams;

/// <summary>
/// Log streams in a SQLite file of their own (streams.db beside the state database), so a busy log never queues behind
/// grain state writes. SQLite has one writer at a time: every write goes through one writer loop that commits whatever is
/// queued in one transaction (group commit), so throughput grows with concurrency. WAL lets reads run beside it. A write's
/// task completes only after its transaction committed, so an acknowledged append survives the process being killed.
/// </summary>
public sealed partial class SqliteLogStore : ILogStore, IAsyncDisposable
{
    private const int MaxOperationsPerTransaction = 512;
    private const int SchemaVersion = 2;

    private readonly string _connectionString;
    private readonly Channel<IWriteOperation> _writes = Channel.CreateUnbounded<IWriteOperation>(new() { SingleReader = true });
    private readonly OnceUntilSuccess _initialized;
    private Task? _writerLoop;

    public SqliteLogStore(string databasePath)
    {
        ArgumentException.ThrowIfNullOrEmpty(databasePath);
        DatabasePath = Path.GetFullPath(databasePath);
        _connectionString = new SqliteConnectionStringBuilder { DataSource = DatabasePath, Pooling = true, DefaultTimeout = 30 }.ToString();
        _initialized = new OnceUntilSuccess(InitializeCoreAsync);
    }

    public string DatabasePath { get; }

    public Task InitializeAsync() => _initialized.EnsureAsync();

    private async Task InitializeCoreAsync()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(DatabasePath)!);
        var writer = await OpenAsync();
        try
        {
            using var transaction = writer.BeginTransaction();
            Execute(writer, transaction, """
                CREATE TABLE IF NOT EXISTS log_schema_version (version INTEGER NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL);
                """);
            var found = Convert.ToInt64(Scalar(writer, transaction, "SELECT COALESCE(MAX(version), 0) FROM log_schema_version"), System.Globalization.CultureInfo.InvariantCulture);
            if (found > SchemaVersion)
            {
                throw new InvalidOperationException(
                    $"{DatabasePath} holds log streams of schema version {found}, newer than this build's {SchemaVersion}: run the newer build, or move the file away to start empty.");
            }

            if (found < 1)
            {
                Execute(writer, transaction, LogSchema.Version1);
                Execute(writer, transaction, $"INSERT INTO log_schema_version (version, applied_at) VALUES (1, {DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()})");
            }

            if (found < 2)
            {
                Execute(writer, transaction, Records.RecordSchema.Version2);
                Execute(writer, transaction, $"INSERT INTO log_schema_version (version, applied_at) VALUES (2, {DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()})");
            }

            transaction.Commit();
        }
        catch
        {
            await writer.DisposeAsync();
            throw;
        }

        _writerLoop = Task.Factory.StartNew(() => RunWriterLoop(writer), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    private static void Execute(SqliteConnection connection, SqliteTransaction? transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private async Task<SqliteConnection> OpenAsync()
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync();
        // WAL: readers never block the writer. NORMAL in WAL mode loses nothing when the process dies; only an OS crash or
        // power loss can drop the last commits.
        Execute(connection, null, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;");
        return connection;
    }

    private async Task<SqliteConnection> OpenReaderAsync(CancellationToken cancellationToken)
    {
        await _initialized.EnsureAsync();
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    private async Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, T> work, CancellationToken cancellationToken)
    {
        await _initialized.EnsureAsync();
        cancellationToken.ThrowIfCancellationRequested();
        var operation = new WriteOperation<T>(work);
        if (!_writes.Writer.TryWrite(operation))
        {
            throw new ObjectDisposedException(nameof(SqliteLogStore), "The log store is closed.");
        }

        return await operation.Completion.Task;
    }

    private void RunWriterLoop(SqliteConnection connection)
    {
        var batch = new List<IWriteOperation>(MaxOperationsPerTransaction);
        try
        {
            while (_writes.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
            {
                batch.Clear();
                while (batch.Count < MaxOperationsPerTransaction && _writes.Reader.TryRead(out var next))
                {
                    batch.Add(next);
                }

                CommitBatch(connection, batch);
            }
        }
        finally
        {
            DisposePreparedWrites();
            connection.Dispose();
        }
    }

    private static void CommitBatch(SqliteConnection connection, List<IWriteOperation> batch)
    {
        if (TryCommit(connection, batch, out _))
        {
            batch.ForEach(operation => operation.Publish());
            return;
        }

        // One write failed (a duplicate position, say) and rolled the batch back: redo each in a transaction of its own, so
        // the bad one fails alone, wholly, and the others still commit.
        foreach (var operation in batch)
        {
            if (TryCommit(connection, [operation], out var error))
            {
                operation.Publish();
            }
            else
            {
                operation.Fail(error!);
            }
        }
    }

    private static bool TryCommit(SqliteConnection connection, List<IWriteOperation> operations, out Exception? error)
    {
        try
        {
            using var transaction = connection.BeginTransaction();
            foreach (var operation in operations)
            {
                operation.Run(connection, transaction);
            }

            transaction.Commit();
            error = null;
            return true;
        }
        catch (Exception exception)
        {
            error = exception;
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _writes.Writer.TryComplete();
        if (_writerLoop is not null)
        {
            await _writerLoop;
        }

        // Only this file's pool: other SQLite stores in the process keep theirs.
        using var pooled = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(pooled);
    }

    private interface IWriteOperation
    {
        void Run(SqliteConnection connection, SqliteTransaction transaction);

        void Publish();

        void Fail(Exception exception);
    }

    /// <summary>Runs inside the batch transaction; its outcome is published only after the commit.</summary>
    private sealed class WriteOperation<T>(Func<SqliteConnection, SqliteTransaction, T> work) : IWriteOperation
    {
        private T? _result;

        public TaskCompletionSource<T> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Run(SqliteConnection connection, SqliteTransaction transaction) => _result = work(connection, transaction);

        public void Publish() => Completion.TrySetResult(_result!);

        public void Fail(Exception exception) => Completion.TrySetException(exception);
    }
}

/// <summary>The log tables, the same in SQLite and PostgreSQL. Payloads are JSON text, readable by any later version.</summary>
internal static class LogSchema
{
    public const string Version1 = """
        CREATE TABLE IF NOT EXISTS log_items (
            service_id  TEXT NOT NULL,
            stream_ns   TEXT NOT NULL,
            stream_key  TEXT NOT NULL,
            seq         BIGINT NOT NULL,
            appended_at BIGINT NOT NULL,
            payload     TEXT NULL,
            PRIMARY KEY (service_id, stream_ns, stream_key, seq)
        );
        CREATE INDEX IF NOT EXISTS log_items_by_age ON log_items (service_id, stream_ns, appended_at);
        CREATE TABLE IF NOT EXISTS log_cursors (
            service_id TEXT NOT NULL,
            stream_ns  TEXT NOT NULL,
            stream_key TEXT NOT NULL,
            consumer   TEXT NOT NULL,
            seq        BIGINT NOT NULL,
            PRIMARY KEY (service_id, stream_ns, stream_key, consumer)
        );
        """;

    public const string StreamFilter = "service_id = @s AND stream_ns = @ns AND stream_key = @k";
}
