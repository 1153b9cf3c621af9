using System.Threading.Channels;
using Microsoft.Data.Sqlite;

namespace Actors.Runtime;

/// <summary>
/// Grain state and reminders in one SQLite file (the embedded mode's database).
/// SQLite has one writer at a time, so writes go through a single writer loop that commits everything
/// queued in one transaction (group commit): throughput grows with concurrency instead of collapsing
/// into lock retries. WAL mode lets reads run beside it on pooled connections. A write's task completes
/// only after its transaction committed, so a write that returned survives the process being killed.
/// </summary>
public sealed partial class SqliteActorStore : IGrainStorage, IReminderTable, IActorStore, IAsyncDisposable
{
    private const int MaxBatch = 512;

    private readonly string _connectionString;
    private readonly Channel<IWriteOperation> _writes = Channel.CreateUnbounded<IWriteOperation>(new() { SingleReader = true });
    private readonly RetryingInitializer _initialized;
    private Task? _writerLoop;

    public SqliteActorStore(string databasePath, SqliteSynchronousMode synchronous = SqliteSynchronousMode.Normal)
    {
        DatabasePath = Path.GetFullPath(databasePath);
        Synchronous = synchronous;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = DatabasePath,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        _initialized = new RetryingInitializer(InitializeCoreAsync);
    }

    public string DatabasePath { get; }

    public SqliteSynchronousMode Synchronous { get; }

    public Task InitializeAsync(CancellationToken cancellationToken) => _initialized.EnsureAsync();

    private async Task InitializeCoreAsync()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(DatabasePath)!);
        var writer = await OpenAsync();
        using (var transaction = writer.BeginTransaction())
        {
            Execute(writer, transaction, ActorSchema.VersionTable);
            foreach (var (version, sql) in ActorSchema.Migrations("TEXT"))
            {
                using var check = writer.CreateCommand();
                check.Transaction = transaction;
                check.CommandText = "SELECT COUNT(*) FROM actors_schema_version WHERE version = $v";
                check.Parameters.AddWithValue("$v", version);
                if (Convert.ToInt64(check.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) > 0)
                {
                    continue;
                }

                Execute(writer, transaction, sql);
                Execute(writer, transaction, $"INSERT INTO actors_schema_version (version, applied_at) VALUES ({version}, {ActorSchema.NowMs()})");
            }

            transaction.Commit();
        }

        _writerLoop = Task.Factory.StartNew(() => RunWriterLoop(writer), TaskCreationOptions.LongRunning);
    }

    private static void Execute(SqliteConnection connection, SqliteTransaction? transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private async Task<SqliteConnection> OpenAsync()
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync();
        // WAL: readers never block the writer. NORMAL in WAL mode loses nothing when the process dies;
        // only an OS crash or power loss can drop the last commits (FULL closes that too, at an fsync per batch).
        Execute(connection, null,
            $"PRAGMA journal_mode=WAL; PRAGMA synchronous={Synchronous.ToString().ToUpperInvariant()}; PRAGMA busy_timeout=30000;");
        return connection;
    }

    private async Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, T> work, CancellationToken cancellationToken)
    {
        await _initialized.EnsureAsync();
        cancellationToken.ThrowIfCancellationRequested();
        var operation = new WriteOperation<T>(work);
        if (!_writes.Writer.TryWrite(operation))
        {
            throw new ObjectDisposedException(nameof(SqliteActorStore), "The store is closed.");
        }

        return await operation.Completion.Task;
    }

    private void RunWriterLoop(SqliteConnection connection)
    {
        var batch = new List<IWriteOperation>(MaxBatch);
        try
        {
            while (_writes.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
            {
                batch.Clear();
                while (batch.Count < MaxBatch && _writes.Reader.TryRead(out var next))
                {
                    batch.Add(next);
                }

                CommitBatch(connection, batch);
            }
        }
        finally
        {
            connection.Dispose();
        }
    }

    private static void CommitBatch(SqliteConnection connection, List<IWriteOperation> batch)
    {
        if (TryCommit(connection, batch))
        {
            foreach (var operation in batch)
            {
                operation.Publish();
            }

            return;
        }

        // Something other than a stale etag failed and rolled the batch back. Redo each write in a transaction
        // of its own, so that one bad write fails alone and the others still commit.
        foreach (var operation in batch)
        {
            List<IWriteOperation> single = [operation];
            if (TryCommit(connection, single, out var error))
            {
                operation.Publish();
            }
            else
            {
                operation.Fail(error!);
            }
        }
    }

    private static bool TryCommit(SqliteConnection connection, List<IWriteOperation> operations) =>
        TryCommit(connection, operations, out _);

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

        SqliteConnection.ClearAllPools();
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
        private Exception? _error;

        public TaskCompletionSource<T> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Run(SqliteConnection connection, SqliteTransaction transaction)
        {
            // A stale etag is this operation's answer, not the batch's failure: its statement changed nothing.
            _error = null;
            try
            {
                _result = work(connection, transaction);
            }
            catch (InconsistentStateException exception)
            {
                _error = exception;
            }
        }

        public void Publish()
        {
            if (_error is null)
            {
                Completion.TrySetResult(_result!);
            }
            else
            {
                Completion.TrySetException(_error);
            }
        }

        public void Fail(Exception exception) => Completion.TrySetException(exception);
    }
}

public enum SqliteSynchronousMode
{
    Off,
    Normal,
    Full,
}
