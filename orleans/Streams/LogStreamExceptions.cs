namespace Actors.Extensions.Streams;

/// <summary>An idempotent append found the stream somewhere other than where the producer expected it.</summary>
[GenerateSerializer, Alias("actors.log.sequence-conflict")]
public sealed class LogSequenceConflictException : Exception
{
    public LogSequenceConflictException()
    {
    }

    public LogSequenceConflictException(string message) : base(message)
    {
    }

    public LogSequenceConflictException(string message, Exception inner) : base(message, inner)
    {
    }
}

/// <summary>The stream was completed; it takes no more items.</summary>
[GenerateSerializer, Alias("actors.log.completed")]
public sealed class LogCompletedException : Exception
{
    public LogCompletedException()
    {
    }

    public LogCompletedException(string message) : base(message)
    {
    }

    public LogCompletedException(string message, Exception inner) : base(message, inner)
    {
    }
}

/// <summary>
/// The stream's activation stopped taking appends (it lost a write race to another activation, or storage failed under it);
/// nothing of the refused call was stored, so the client retries it on the next activation.
/// </summary>
[GenerateSerializer, Alias("actors.log.activation-retired")]
internal sealed class LogActivationRetiredException : Exception
{
    public LogActivationRetiredException()
    {
    }

    public LogActivationRetiredException(string message) : base(message)
    {
    }

    public LogActivationRetiredException(string message, Exception inner) : base(message, inner)
    {
    }
}
