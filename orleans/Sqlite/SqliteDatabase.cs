using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Actors.Extensions.Sqlite;

/// <summary>
/// One SQLite file: a single writer connection driven by a group-commit loop, and a small pool of reader
/// connections. SQLite allows one writer at a time, so instead of many connections fighting over the write lock,
/// every write is queued and the loop commits whatever has queued up in one transaction: while one transaction
/// is being committed (and fsynced), the next batch gathers, so throughput grows with concurrency and the fsync
/// is paid once per batch. WAL lets readers run beside the writer without blocking it.
/// A write's task completes only after its transaction committed, so an acknowledged write is on disk.
/// </summary>
internal sealed partial class SqliteDatabase : IAsyncDisposable
{
    private const int MaxIdleReaders = 16;

    /// <summary>The meter of <see cref="CommitSize"/>.</summary>
    public const string MeterName = "Actors.Extensions.Sqlite";

    private static readonly Meter Meter = new(MeterName);

    /// <summary>Writes per committed transaction, tagged with the database path: how much group commit is batching.</summary>
    private static readonly Histogram<int> CommitSize = Meter.CreateHistogram<int>(
        "sqlite.group_commit.writes", unit: "{write}", description: "Writes committed together in one SQLite transaction");

    private readonly string _writerConnectionString;
    private readonly string _readerConnectionString;
    private readonly int _maxBatchSize;
    private readonly ILogger _logger;
    private readonly Channel<SqliteWrite> _writes = Channel.CreateUnbounded<SqliteWrite>(new() { SingleReader = true });
    private readonly ConcurrentBag<SqliteReader> _idleReaders = [];
    private readonly TaskCompletionSource _writerStopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _initializationGate = new();
    private Task? _initialization;
    private Thread? _writerThread;
    private int _idleReaderCount;
    private int _disposed;

    public SqliteDatabase(string databasePath, SqliteDurability durability, int maxBatchSize, ILogger logger)
    {
        DatabasePath = Path.GetFullPath(databasePath);
        Durability = durability;
        _maxBatchSize = maxBatchSize;
        _logger = logger;
        var builder = new SqliteConnectionStringBuilder { DataSource = DatabasePath, Pooling = false, DefaultTimeout = 30 };
        _writerConnectionString = builder.ToString();
        builder.Mode = SqliteOpenMode.ReadOnly;
        _readerConnectionString = builder.ToString();
    }

    public string DatabasePath { get; }

    public SqliteDurability Durability { get; }

    /// <summary>Creates or checks the schema and starts the writer; idempotent, and retried after a failure.</summary>
    public Task InitializeAsync()
    {
        // Every write passes here: once started, no lock.
        if (Volatile.Read(ref _initialization) is { IsCompletedSuccessfully: true } started && _disposed == 0)
        {
            return started;
        }

        lock (_initializationGate)
        {
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            if (_initialization is null || _initialization.IsFaulted)
            {
                _initialization = Task.Run(Initialize);
            }

            return _initialization;
        }
    }

    private void Initialize()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(DatabasePath)!);
        var writer = new SqliteConnection(_writerConnectionString);
        try
        {
            writer.Open();
            var synchronous = Durability == SqliteDurability.Full ? "FULL" : "NORMAL";
            // busy_timeout: another process (an operator's sqlite3, a second silo by mistake) may hold the lock briefly.
            ExecuteNonQuery(writer, $"PRAGMA journal_mode=WAL; PRAGMA synchronous={synchronous}; PRAGMA busy_timeout=30000;");
            var outcome = SqliteSchema.Ensure(writer, DatabasePath);
            LogOpened(_logger, DatabasePath, Durability, outcome.FoundVersion, SqliteSchema.CurrentVersion);
            if (outcome.ImportedStates + outcome.ImportedReminders > 0)
            {
                LogImported(_logger, DatabasePath, outcome.ImportedStates, outcome.ImportedReminders);
            }
        }
        catch (Exception exception)
        {
            writer.Dispose();
            LogOpenFailed(_logger, exception, DatabasePath);
            throw;
        }

        _writerThread = new Thread(() => RunWriter(writer)) { IsBackground = true, Name = "sqlite-group-commit" };
        _writerThread.Start();
    }

    /// <summary>Queues a write for the next group commit; the task completes once it is committed.</summary>
    public async Task<T> WriteAsync<T>(SqliteWrite<T> write, CancellationToken cancellationToken)
    {
        var initialization = InitializeAsync();
        if (!initialization.IsCompletedSuccessfully)
        {
            await initialization.ConfigureAwait(false);
        }

        // Once queued, a write cannot be withdrawn: its outcome is decided by the commit, not the caller.
        cancellationToken.ThrowIfCancellationRequested();
        if (!_writes.Writer.TryWrite(write))
        {
            throw new ObjectDisposedException(nameof(SqliteDatabase), $"The SQLite database '{DatabasePath}' is closed.");
        }

        return await write.Completion.Task.ConfigureAwait(false);
    }

    /// <summary>Runs a read on a pooled read-only connection (beside the writer, thanks to WAL).</summary>
    public async Task<T> ReadAsync<T>(string sql, Action<SqliteParameterCollection> bind, Func<SqliteDataReader, T> read)
    {
        var initialization = InitializeAsync();
        if (!initialization.IsCompletedSuccessfully)
        {
            await initialization.ConfigureAwait(false);
        }

        if (_idleReaders.TryTake(out var reader))
        {
            Interlocked.Decrement(ref _idleReaderCount);
        }
        else
        {
            reader = new SqliteReader(_readerConnectionString);
        }

        var healthy = false;
        try
        {
            var result = reader.Run(sql, bind, read);
            healthy = true;
            return result;
        }
        finally
        {
            // Kept for the next read unless the pool is full; a counter, not ConcurrentBag.Count, which locks every thread's list.
            var kept = false;
            if (healthy && _disposed == 0)
            {
                if (Interlocked.Increment(ref _idleReaderCount) <= MaxIdleReaders)
                {
                    _idleReaders.Add(reader);
                    kept = true;
                }
                else
                {
                    Interlocked.Decrement(ref _idleReaderCount);
                }
            }

            if (!kept)
            {
                reader.Dispose();
            }
        }
    }

    private void RunWriter(SqliteConnection connection)
    {
        var commands = new SqliteWriteCommands(connection);
        var batch = new List<SqliteWrite>(Math.Min(_maxBatchSize, 4096));
        try
        {
            // A dedicated thread may block: it waits only when nothing is queued.
            while (_writes.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
            {
                batch.Clear();
                while (batch.Count < _maxBatchSize && _writes.Reader.TryRead(out var write))
                {
                    batch.Add(write);
                }

                Commit(commands, batch);
            }
        }
        catch (Exception exception)
        {
            LogWriterStopped(_logger, exception, DatabasePath);
            FailQueued(exception);
        }
        finally
        {
            commands.Dispose();
            connection.Dispose();
            _writerStopped.TrySetResult();
        }
    }

    private void Commit(SqliteWriteCommands commands, List<SqliteWrite> batch)
    {
        if (TryCommit(commands, batch, out var error))
        {
            return;
        }

        if (batch.Count == 1)
        {
            LogWriteFailed(_logger, error, DatabasePath);
            batch[0].Fail(error);
            return;
        }

        // Something other than a stale ETag (those are answers, not errors) rolled the whole batch back, say a full
        // disk or a value SQLite refused. Redo each write alone so one bad write fails alone and the rest commit.
        LogBatchRetried(_logger, error, DatabasePath, batch.Count);
        List<SqliteWrite> single = [null!];
        foreach (var write in batch)
        {
            single[0] = write;
            if (!TryCommit(commands, single, out var singleError))
            {
                LogWriteFailed(_logger, singleError, DatabasePath);
                write.Fail(singleError);
            }
        }
    }

    private bool TryCommit(SqliteWriteCommands commands, List<SqliteWrite> batch, out Exception error)
    {
        try
        {
            using (var transaction = commands.Begin())
            {
                foreach (var write in batch)
                {
                    write.Execute(commands);
                }

                transaction.Commit();
            }

            CommitSize.Record(batch.Count, new KeyValuePair<string, object?>("database", DatabasePath));
            Publish(batch);

            error = null!;
            return true;
        }
        catch (Exception exception)
        {
            error = exception;
            return false;
        }
    }

    /// <summary>
    /// Completes the committed writes' tasks from one thread-pool work item: the writer thread returns to the queue at
    /// once, and the batch costs one hop instead of one per write. Callers' continuations run inline there; Orleans
    /// resumes grain code on the activation's own scheduler, so what runs inline is short.
    /// </summary>
    private static void Publish(List<SqliteWrite> batch) =>
        ThreadPool.UnsafeQueueUserWorkItem(static writes =>
        {
            foreach (var write in writes)
            {
                write.Complete();
            }
        }, batch.ToArray(), preferLocal: false);

    private void FailQueued(Exception exception)
    {
        _writes.Writer.TryComplete();
        while (_writes.Reader.TryRead(out var write))
        {
            write.Fail(new ObjectDisposedException($"The SQLite writer of '{DatabasePath}' stopped: {exception.Message}", exception));
        }
    }

    internal static void ExecuteNonQuery(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>Commits what is queued, then closes every connection (the last close checkpoints the WAL).</summary>
    public async ValueTask DisposeAsync()
    {
        lock (_initializationGate)
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }
        }

        _writes.Writer.TryComplete();
        if (_initialization is { } initialization)
        {
            // An opening still under way would start the writer after this check: let it finish (or fail) first.
            await initialization.ContinueWith(static _ => { }, TaskScheduler.Default).ConfigureAwait(false);
        }

        if (_writerThread is not null)
        {
            await _writerStopped.Task.ConfigureAwait(false);
        }

        while (_idleReaders.TryTake(out var reader))
        {
            reader.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "SQLite database {DatabasePath} opened (durability {Durability}; schema version found {FoundVersion}, current {CurrentVersion})")]
    private static partial void LogOpened(ILogger logger, string databasePath, SqliteDurability durability, int foundVersion, int currentVersion);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "SQLite database {DatabasePath}: imported {States} grain states and {Reminders} reminders from the retired runtime's actors_* tables, which were left in place and can be dropped")]
    private static partial void LogImported(ILogger logger, string databasePath, int states, int reminders);

    [LoggerMessage(Level = LogLevel.Error, Message = "SQLite database {DatabasePath} could not be opened")]
    private static partial void LogOpenFailed(ILogger logger, Exception exception, string databasePath);

    [LoggerMessage(Level = LogLevel.Warning, Message = "SQLite database {DatabasePath}: a batch of {Count} writes failed and is retried one write at a time")]
    private static partial void LogBatchRetried(ILogger logger, Exception exception, string databasePath, int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "SQLite database {DatabasePath}: a write failed")]
    private static partial void LogWriteFailed(ILogger logger, Exception exception, string databasePath);

    [LoggerMessage(Level = LogLevel.Critical, Message = "SQLite database {DatabasePath}: the writer stopped; queued writes fail")]
    private static partial void LogWriterStopped(ILogger logger, Exception exception, string databasePath);
}
