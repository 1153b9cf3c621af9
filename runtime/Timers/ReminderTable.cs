namespace Actors.Runtime;

/// <summary>Durable reminder rows. Implemented by the SQLite and PostgreSQL stores.</summary>
public interface IReminderTable
{
    Task<IReadOnlyList<GrainReminder>> ReadAllAsync(string serviceId, CancellationToken cancellationToken);

    Task<IReadOnlyList<GrainReminder>> ReadGrainAsync(string serviceId, GrainId grainId, CancellationToken cancellationToken);

    /// <returns>The stored reminder with its new etag.</returns>
    Task<GrainReminder> UpsertAsync(string serviceId, GrainId grainId, string name, DateTimeOffset startAt, TimeSpan period,
        CancellationToken cancellationToken);

    Task<bool> RemoveAsync(string serviceId, GrainId grainId, string name, CancellationToken cancellationToken);
}
