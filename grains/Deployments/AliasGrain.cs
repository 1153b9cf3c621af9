using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Deployments;

namespace CloudDeck.Grains.Deployments;

public sealed class AliasState
{
    public string? ProjectKey { get; set; }

    public string? DeploymentId { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>Grows with every write and survives a removal, so an edge can tell a late answer from a newer change.</summary>
    public long Version { get; set; }
}

/// <summary>
/// One host name → the deployment it serves. The write is stored before the change is announced on
/// <see cref="AliasChanges"/>, so an edge that drops its cached answer on the announcement reads the new one.
/// Every write announces, even one that changes nothing: a caller retrying after a failed announcement gets it made.
/// </summary>
public sealed class AliasGrain([PersistentState("alias")] IPersistentState<AliasState> state, ILogStreamProvider streams, TimeProvider clock)
    : Grain, IAliasGrain
{
    public const int MaxHostLength = 253;

    private string Host => this.GetPrimaryKeyString();

    public async Task<string?> Set(string projectKey, string deploymentId)
    {
        CheckHost(Host);
        if (string.IsNullOrWhiteSpace(projectKey) || projectKey.Length > 300 || projectKey.Any(char.IsControl))
        {
            throw new InvalidFieldException("project", "must be a project key such as acme/web");
        }

        if (!DeploymentIds.IsWellFormed(deploymentId)) throw new InvalidFieldException("deployment_id", DeploymentIds.Rule);
        if (state.State.ProjectKey is { } owner && state.State.DeploymentId is not null && owner != projectKey)
        {
            throw new ConflictException($"The host '{Host}' already serves another project.");
        }

        var previous = state.State.DeploymentId;
        state.State.ProjectKey = projectKey;
        state.State.DeploymentId = deploymentId;
        await WriteAndAnnounceAsync();
        return previous;
    }

    public async Task Remove()
    {
        if (state.State.Version == 0) return;
        state.State.DeploymentId = null;
        state.State.ProjectKey = null;
        await WriteAndAnnounceAsync();
    }

    public Task<AliasView?> Get() => Task.FromResult(state.State is { DeploymentId: { } id, ProjectKey: { } project }
        ? new AliasView(Host, project, id, state.State.UpdatedAt, state.State.Version)
        : null);

    private async Task WriteAndAnnounceAsync()
    {
        state.State.Version++;
        state.State.UpdatedAt = clock.GetUtcNow();
        await state.WriteStateAsync();
        await streams.GetStream<AliasChange>(AliasChanges.Namespace, AliasChanges.Key)
            .AppendAsync(new AliasChange(Host, state.State.DeploymentId, state.State.Version));
    }

    /// <summary>The key is the host the edge looks up: lower-case, no port, no trailing dot.</summary>
    private static void CheckHost(string host)
    {
        var valid = host.Length is > 0 and <= MaxHostLength && !host.EndsWith('.') && !host.StartsWith('.')
                    && host.AsSpan().IndexOfAnyExcept("abcdefghijklmnopqrstuvwxyz0123456789-.") < 0 && !host.Contains("..", StringComparison.Ordinal);
        if (!valid) throw new InvalidFieldException("host", "must be a lower-case host name such as web-acme.localhost (no port)");
    }
}
