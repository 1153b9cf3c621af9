using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Builds;

namespace CloudDeck.GrainInterfaces.Diagnostics;

/// <summary>
/// A stand-in for the build pipeline (until its issue lands), keyed by build id: creates a build in an organization and
/// writes a synthetic log to it at a given rate, then finishes the build. Lets tests, benchmarks and operators exercise
/// live logs end to end. Only mapped to HTTP when diagnostics are enabled.
/// </summary>
[Alias("clouddeck.ISyntheticBuildGrain")]
public interface ISyntheticBuildGrain : IGrainWithStringKey
{
    /// <summary>
    /// Creates the build as <paramref name="caller"/> (who must be allowed to deploy in the organization) and starts
    /// producing. Answers once the build exists; the lines follow in the background.
    /// </summary>
    Task<BuildView> Start(Caller caller, SyntheticBuildRequest request);

    [ReadOnly]
    Task<SyntheticBuildProgress> GetProgress();
}

/// <param name="Lines">How many lines to write (lines over 16 KiB become several log lines).</param>
/// <param name="LinesPerSecond">The pace; 0 writes as fast as the stream takes them.</param>
/// <param name="LineBytes">UTF-8 bytes of each line's text, mixing 1- to 4-byte characters.</param>
/// <param name="Status">The status the build finishes with.</param>
[GenerateSerializer, Immutable, Alias("clouddeck.SyntheticBuildRequest")]
public sealed record SyntheticBuildRequest(
    string Organization,
    string Project = SyntheticBuildRequest.DefaultProject,
    int Lines = 100,
    int LinesPerSecond = 0,
    int LineBytes = 100,
    string Status = BuildStatuses.Succeeded)
{
    public const string DefaultProject = "synthetic";
    public const int MaxLines = 1_000_000;
    public const int MaxLinesPerSecond = 1_000_000;
    public const int MinLineBytes = 16;
    public const int MaxLineBytes = 1024 * 1024;
    public const long MaxTotalBytes = 512L * 1024 * 1024;

    /// <summary>The first thing wrong with the request, as (field, problem); null when it is fine.</summary>
    public (string Field, string Problem)? Problem() =>
        Lines is < 0 or > MaxLines ? ("lines", $"must be 0–{MaxLines:N0}")
        : LinesPerSecond is < 0 or > MaxLinesPerSecond ? ("lines_per_second", $"must be 0–{MaxLinesPerSecond:N0} (0: as fast as possible)")
        : LineBytes is < MinLineBytes or > MaxLineBytes ? ("line_bytes", $"must be {MinLineBytes}–{MaxLineBytes:N0}")
        : (long)Lines * LineBytes > MaxTotalBytes ? ("lines", $"lines × line_bytes must be at most {MaxTotalBytes:N0} bytes")
        : !BuildStatuses.IsTerminal(Status) ? ("status", $"must be one of {string.Join(", ", BuildStatuses.Terminal)}")
        : null;
}

/// <param name="LogLines">Lines appended to the log so far (more than <paramref name="Produced"/> when long lines were split).</param>
[GenerateSerializer, Immutable, Alias("clouddeck.SyntheticBuildProgress")]
public sealed record SyntheticBuildProgress(string BuildId, int Lines, int Produced, long LogLines, bool Finished);
