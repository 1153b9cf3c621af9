using Microsoft.Extensions.Logging;

namespace Actors.Extensions.Streams;

internal static partial class LogStreamLog
{
    [LoggerMessage(1, LogLevel.Warning, "Appending to log stream {Stream} failed; the activation retires and callers retry on the next one")]
    public static partial void Retiring(ILogger logger, Exception exception, LogStreamId stream);

    [LoggerMessage(2, LogLevel.Warning, "Trimming log stream {Stream} to its newest {Count} items failed; the next write retries")]
    public static partial void TrimFailed(ILogger logger, Exception exception, LogStreamId stream, long count);

    [LoggerMessage(3, LogLevel.Warning, "Log stream {Stream} has implicit consumers but this silo has no reminder service: delivery continues while the stream is active, not after a crash")]
    public static partial void NoReminders(ILogger logger, Exception exception, LogStreamId stream);

    [LoggerMessage(4, LogLevel.Warning, "Registering the delivery reminder of log stream {Stream} failed; the next append retries")]
    public static partial void ReminderFailed(ILogger logger, Exception exception, LogStreamId stream);

    [LoggerMessage(5, LogLevel.Warning, "Delivering log stream {Stream} to {Consumer} failed; retrying in {Delay}")]
    public static partial void DeliveryFailed(ILogger logger, Exception exception, LogStreamId stream, string consumer, TimeSpan delay);

    [LoggerMessage(6, LogLevel.Warning, "Storing the cursor of {Consumer} on log stream {Stream} failed; the batch may be delivered again after a crash")]
    public static partial void CursorWriteFailed(ILogger logger, Exception exception, LogStreamId stream, string consumer);

    [LoggerMessage(7, LogLevel.Warning, "Log retention sweep failed; the next one retries")]
    public static partial void SweepFailed(ILogger logger, Exception exception);

    [LoggerMessage(8, LogLevel.Information, "Log retention deleted {Count} items")]
    public static partial void Swept(ILogger logger, long count);

    [LoggerMessage(9, LogLevel.Warning, "A subscriber's read of log stream {Stream} failed; retrying from {Position}")]
    public static partial void SubscriberReadFailed(ILogger logger, Exception exception, LogStreamId stream, long position);
}
