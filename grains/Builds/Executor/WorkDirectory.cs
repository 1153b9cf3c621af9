using Microsoft.Extensions.Logging;

namespace CloudDeck.Grains.Builds.Executor;

/// <summary>Removal of a build's work directory once nothing reads it any more.</summary>
internal static class WorkDirectory
{
    /// <summary>
    /// Renames it to <c>&lt;name&gt;.removed</c> beside itself (instant, same file system), so its deletion can follow at
    /// leisure; answers where it now is (its own path when the rename failed, or when it does not exist).
    /// </summary>
    public static string SetAside(string directory, ILogger logger)
    {
        var aside = directory.TrimEnd(Path.DirectorySeparatorChar) + ".removed";
        try
        {
            if (!Directory.Exists(directory)) return directory;
            if (Directory.Exists(aside)) Directory.Delete(aside, recursive: true);
            Directory.Move(directory, aside);
            return aside;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning(e, "Could not set the work directory {Directory} aside; deleting it in place", directory);
            return directory;
        }
    }

    /// <summary>
    /// Deletes what earlier runs set aside under <paramref name="root"/> and did not get to delete (a silo stopped or killed
    /// mid-deletion); nothing else there is touched, since a build may be running in it.
    /// </summary>
    public static void DeleteSetAside(string root, ILogger logger)
    {
        if (!Directory.Exists(root)) return;
        foreach (var aside in Directory.EnumerateDirectories(root, "*.removed")) TryDelete(aside, logger);
    }

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
