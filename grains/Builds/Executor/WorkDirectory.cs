using Microsoft.Extensions.Logging;

namespace CloudDeck.Grains.Builds.Executor;

/// <summary>Removal of a build's work directory once nothing reads it any more.</summary>
internal static class WorkDirectory
{
    /// <summary>Deletes it; a failure is logged, not thrown: the build's result is already decided.</summary>
    public static void TryDelete(string directory, ILogger logger)
    {
        try
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning(e, "Could not delete the work directory {Directory}", directory);
        }
    }
}
