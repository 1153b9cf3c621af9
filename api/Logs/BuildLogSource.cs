using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Builds;

namespace CloudDeck.Api.Logs;

/// <summary>A build's log, opened for a caller the build's organization lets see it.</summary>
/// <param name="LastLine">The last line written so far (0 for none).</param>
public sealed record OpenedBuildLog(BuildView Build, ILogStream<BuildLogLine> Log, LogStreamInfo Info, long LastLine)
{
    /// <summary>The first line to deliver, when the client asked for <paramref name="requested"/> (values below 1 mean 1).</summary>
    /// <exception cref="InvalidFieldException">Beyond the next line to be written: no client can have seen that far.</exception>
    public long StartAt(long requested, string field) => StartAt(requested, LastLine, field);

    /// <summary>The first line to deliver of any log whose last line so far is <paramref name="lastLine"/>.</summary>
    /// <exception cref="InvalidFieldException">Beyond the next line to be written.</exception>
    public static long StartAt(long requested, long lastLine, string field)
    {
        var from = Math.Max(1, requested);
        if (from > lastLine + 1)
        {
            throw new InvalidFieldException(field, $"line {from} is beyond the end of the log, which has {lastLine} lines so far (the most is {lastLine + 1})");
        }

        return from;
    }
}

/// <summary>Where the hub and the HTTP endpoints get logs from: access is the build grain's decision, lines come from the stream.</summary>
public sealed class BuildLogSource(IGrainFactory grains, ILogStreamProvider streams)
{
    /// <exception cref="InvalidFieldException">The id is malformed (checked before it reaches a grain).</exception>
    /// <exception cref="NotFoundException">No such build, or another tenant's.</exception>
    public async Task<OpenedBuildLog> OpenAsync(Caller caller, string buildId, string idField)
    {
        if (!BuildIds.IsWellFormed(buildId)) throw new InvalidFieldException(idField, BuildIds.Rule);
        var build = await grains.GetGrain<IBuildGrain>(buildId).Get(caller);
        var log = streams.GetStream<BuildLogLine>(BuildLogs.Namespace, buildId);
        var info = await log.GetInfoAsync();
        return new OpenedBuildLog(build, log, info, info.Last);
    }

    /// <summary>The build's status now, for the completion message (access is checked again: it may have been revoked).</summary>
    public async Task<string> StatusAsync(Caller caller, string buildId) =>
        (await grains.GetGrain<IBuildGrain>(buildId).Get(caller)).Status;
}
