namespace Actors.Extensions.Streams;

/// <summary>
/// Runs an initialization once, shared by every caller, and again after a failure: a database that was down when the
/// silo started must not leave the store broken for the life of the process.
/// </summary>
internal sealed class OnceUntilSuccess(Func<Task> initialize)
{
    private readonly Lock _lock = new();
    private Task? _task;

    public Task EnsureAsync()
    {
        var task = _task;
        if (task is { IsFaulted: false, IsCanceled: false })
        {
            return task;
        }

        lock (_lock)
        {
            if (_task is null || _task.IsFaulted || _task.IsCanceled)
            {
                _task = initialize();
            }

            return _task;
        }
    }
}
