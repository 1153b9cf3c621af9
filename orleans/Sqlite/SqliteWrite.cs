using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using Orleans.Storage;

namespace Actors.Extensions.Sqlite;

/// <summary>One write in a group commit. It runs inside the batch's transaction; its outcome is published after the commit.</summary>
internal abstract class SqliteWrite
{
    /// <summary>Runs inside the batch transaction. A stale ETag is recorded as this write's answer, not thrown:
    /// its statement changed nothing, so the rest of the batch still commits.</summary>
    public abstract void Execute(SqliteWriteCommands commands);

    /// <summary>Called after the commit: completes the caller's task.</summary>
    public abstract void Complete();

    public abstract void Fail(Exception exception);
}

internal abstract class SqliteWrite<T> : SqliteWrite
{
    private T _result = default!;
    private InconsistentStateException? _refusal;

    // Completed from one thread-pool work item per batch (see SqliteDatabase.Publish), never on the writer thread,
    // which goes straight back to committing; continuations then run inline there, saving a hop per write.
    public TaskCompletionSource<T> Completion { get; } = new();

    protected abstract T Run(SqliteWriteCommands commands);

    public sealed override void Execute(SqliteWriteCommands commands)
    {
        // Reset: after a failed batch the write is run again on its own.
        _refusal = null;
        try
        {
            _result = Run(commands);
        }
        catch (InconsistentStateException refusal)
        {
            _refusal = refusal;
        }
    }

    public sealed override void Complete()
    {
        if (_refusal is null)
        {
            Completion.TrySetResult(_result);
        }
        else
        {
            Completion.TrySetException(_refusal);
        }
    }

    // Rare, so one hop each: failures are reported from the writer thread, whose time belongs to commits.
    public sealed override void Fail(Exception exception) =>
        ThreadPool.UnsafeQueueUserWorkItem(static failure => failure.Completion.TrySetException(failure.Exception),
            (Completion, Exception: exception), preferLocal: false);
}

/// <summary>A write given as a function, for the rare ones (reminders) where an allocation does not matter.</summary>
internal sealed class SqliteDelegateWrite<T>(Func<SqliteWriteCommands, T> run) : SqliteWrite<T>
{
    protected override T Run(SqliteWriteCommands commands) => run(commands);
}

/// <summary>
/// The writer connection's statements, prepared once and reused by every batch (re-preparing a statement
/// costs more than running it). Used only by the writer thread.
/// </summary>
internal sealed partial class SqliteWriteCommands(SqliteConnection connection) : IDisposable
{
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);
    private SqliteTransaction? _transaction;

    public SqliteTransaction Begin()
    {
        _transaction = connection.BeginTransaction();
        return _transaction;
    }

    /// <summary>The prepared command for this SQL, with a parameter for each $name in it, bound to the current transaction.</summary>
    public SqliteCommand Get(string sql)
    {
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = connection.CreateCommand();
            command.CommandText = sql;
            foreach (var name in ParameterName().Matches(sql).Select(m => m.Value).Distinct(StringComparer.Ordinal))
            {
                command.Parameters.Add(new SqliteParameter { ParameterName = name });
            }

            _commands[sql] = command;
        }

        command.Transaction = _transaction;
        return command;
    }

    public void Dispose()
    {
        foreach (var command in _commands.Values)
        {
            command.Dispose();
        }
    }

    [GeneratedRegex(@"\$[a-z_]+")]
    private static partial Regex ParameterName();
}

/// <summary>A read-only connection of the pool, with its statements prepared on first use.</summary>
internal sealed class SqliteReader(string connectionString) : IDisposable
{
    private readonly SqliteConnection _connection = Open(connectionString);
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);

    private static SqliteConnection Open(string connectionString)
    {
        var connection = new SqliteConnection(connectionString);
        connection.Open();
        SqliteDatabase.ExecuteNonQuery(connection, "PRAGMA busy_timeout=30000;");
        return connection;
    }

    public T Run<T>(string sql, Action<SqliteParameterCollection> bind, Func<SqliteDataReader, T> read)
    {
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = _connection.CreateCommand();
            command.CommandText = sql;
            _commands[sql] = command;
        }

        command.Parameters.Clear();
        bind(command.Parameters);
        using var reader = command.ExecuteReader();
        return read(reader);
    }

    public void Dispose()
    {
        foreach (var command in _commands.Values)
        {
            command.Dispose();
        }

        _connection.Dispose();
    }
}
