using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces.Builds;

namespace CloudDeck.Api.Logs;

/// <summary>A log line as clients receive it: the hub's <c>line</c> message and the data of an SSE <c>line</c> event.</summary>
public sealed record BuildLogLineMessage(string BuildId, long Line, DateTimeOffset Time, string Stream, string Text)
{
    public static BuildLogLineMessage From(string buildId, LogItem<BuildLogLine> item) =>
        new(buildId, item.Position.SequenceNumber, item.Item.Time, item.Item.Stream, item.Item.Text);
}

/// <summary>A line of a server's runtime log as clients receive it: the data of an SSE <c>line</c> event.</summary>
public sealed record RuntimeLogLineMessage(string DeploymentId, long Line, DateTimeOffset Time, string Stream, string Text)
{
    public static RuntimeLogLineMessage From(string deploymentId, LogItem<BuildLogLine> item) =>
        new(deploymentId, item.Position.SequenceNumber, item.Item.Time, item.Item.Stream, item.Item.Text);
}

/// <summary>Following a runtime log stopped; reconnect with Last-Event-ID to resume.</summary>
public sealed record RuntimeLogErrorMessage(string DeploymentId, string Message);

/// <summary>The last message of a followed log: the build's final status.</summary>
public sealed record BuildLogCompletedMessage(string BuildId, string Status);

/// <summary>Following stopped for a reason other than the end of the log; join (or reconnect) again to resume.</summary>
public sealed record BuildLogErrorMessage(string BuildId, string Message);

/// <summary>What <c>JoinBuild</c> answers.</summary>
public sealed record JoinedBuild(string BuildId, string Status, long FromLine, long LastLine);

public static class BuildLogMessageNames
{
    public const string Line = "line";
    public const string Completed = "completed";
    public const string Error = "error";
}
