namespace CloudDeck.Dashboard.Logs;

// The /hubs/logs messages as the hub sends them (snake_case JSON).

public sealed record LogLineMessage(string BuildId, long Line, DateTimeOffset Time, string Stream, string Text);

public sealed record LogCompletedMessage(string BuildId, string Status);

public sealed record LogErrorMessage(string BuildId, string Message);

public sealed record JoinedBuild(string BuildId, string Status, long FromLine, long LastLine);

/// <summary>A line as the page keeps it: its number, stream and styled segments.</summary>
public sealed record LogLine(long Number, string Stream, IReadOnlyList<AnsiSegment> Segments);
