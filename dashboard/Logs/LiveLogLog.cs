using Microsoft.Extensions.Logging;

namespace CloudDeck.Dashboard.Logs;

internal static partial class LiveLogLog
{
    [LoggerMessage(Level = LogLevel.Debug, Message = "Closing the log hub connection of build {BuildId} failed")]
    public static partial void CloseFailed(ILogger logger, string buildId, Exception exception);
}
