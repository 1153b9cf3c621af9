using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.GrainInterfaces.Deployments;

namespace CloudDeck.Grains.Builds.Executor;

/// <summary>What one build must do, as its grain knows it.</summary>
public sealed record BuildJob(string BuildId, string Organization, string Project, string DeploymentId, string Environment, DeploymentSource Source);

/// <summary>
/// Runs builds. Called outside any grain turn; reports each stage through <see cref="BuildContext.AdvanceAsync"/>
/// (which throws <see cref="OperationCanceledException"/> once the build has ended elsewhere) and writes every line to
/// <see cref="BuildContext.Log"/>. Cancellation (cancel, timeout, shutdown) must kill every process it started.
/// </summary>
public interface IBuildExecutor
{
    Task<BuildOutcome> ExecuteAsync(BuildJob job, BuildContext context, CancellationToken cancellationToken);
}

public sealed class BuildContext(BuildLogWriter log, Func<string, Task<bool>> advance, IGrainFactory grains)
{
    public BuildLogWriter Log { get; } = log;

    public IGrainFactory Grains { get; } = grains;

    /// <summary>Set when the grain said the build has ended: the run stops without reporting a result of its own.</summary>
    public bool Superseded { get; private set; }

    /// <summary>
    /// Reports the stage. The wait ends with <paramref name="cancellationToken"/>: a cancel holds the grain's turn while
    /// it waits for this run to stop, so the report could not be answered before then.
    /// </summary>
    public async Task AdvanceAsync(string status, CancellationToken cancellationToken)
    {
        if (await advance(status).WaitAsync(cancellationToken)) return;
        Superseded = true;
        throw new OperationCanceledException("The build ended elsewhere.");
    }
}
