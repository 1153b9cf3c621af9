using System.Runtime.CompilerServices;
using System.Text.Json;
using Actors.Extensions.Records;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Projects;
using Microsoft.Extensions.Options;

namespace CloudDeck.Grains.Projects;

/// <summary>
/// A project's deployment history and the git push deliveries it deployed, as rows of the record tables
/// (<see cref="IRecordStore"/>, in the log streams' store): one row per deployment at its sequence, rewritten when its
/// status changes, read newest first in pages. The project grain keeps none of it in its state, so that state stays the
/// same size however many deployments a project has had.
/// </summary>
public sealed class ProjectHistory(IRecordStore records, IOptions<Orleans.Configuration.ClusterOptions> cluster)
{
    public const string DeploymentsTable = "deployments";
    public const string DeliveriesTable = "git-deliveries";

    private const int ScanPage = 200;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.General);

    private string ServiceId => cluster.Value.ServiceId;

    /// <summary>The deployment's row, at its sequence.</summary>
    public static RecordWrite Row(string projectKey, DeploymentView deployment) =>
        new(DeploymentsTable, projectKey, deployment.Id, JsonSerializer.Serialize(deployment, Json), deployment.Sequence);

    /// <summary>
    /// The rows that remember a delivery, by its payload's hash and by its id: each a row of its own, so either finds it.
    /// A row found earlier (<paramref name="earlier"/>, remembered longer ago than the window) is rewritten in its place.
    /// </summary>
    public static IEnumerable<RecordWrite> Rows(string projectKey, GitDelivery delivery, IReadOnlyDictionary<string, long> earlier)
    {
        var payload = JsonSerializer.Serialize(delivery, Json);
        foreach (var key in DeliveryKeys(delivery.DeliveryId, delivery.PayloadSha256))
        {
            yield return new RecordWrite(DeliveriesTable, projectKey, key, payload, earlier.TryGetValue(key, out var at) ? at : null);
        }
    }

    /// <summary>Answers each write's position.</summary>
    public Task<IReadOnlyList<long>> WriteAsync(IReadOnlyList<RecordWrite> writes) => records.WriteAsync(ServiceId, writes, CancellationToken.None);

    /// <summary>The highest sequence in the history (0 for none): where the next deployment's numbering continues.</summary>
    public Task<long> LastSequenceAsync(string projectKey) => records.LastPositionAsync(ServiceId, DeploymentsTable, projectKey, CancellationToken.None);

    public async Task<DeploymentView?> FindAsync(string projectKey, string deploymentId) =>
        await records.FindAsync(ServiceId, DeploymentsTable, projectKey, deploymentId, CancellationToken.None) is { } row ? Read(row) : null;

    /// <summary>
    /// Up to <paramref name="limit"/> deployments below sequence <paramref name="before"/> that <paramref name="include"/>
    /// takes, newest first, and the cursor of the next page (null when no older one is left).
    /// </summary>
    public async Task<(IReadOnlyList<DeploymentView> Page, long? NextBefore)> PageAsync(string projectKey, long? before, int limit,
        Func<DeploymentView, bool> include)
    {
        var page = new List<DeploymentView>(limit);
        await foreach (var deployment in NewestFirstAsync(projectKey, before))
        {
            if (!include(deployment)) continue;
            if (page.Count == limit) return (page, page[^1].Sequence);
            page.Add(deployment);
        }

        return (page, null);
    }

    /// <summary>Every deployment below <paramref name="before"/>, newest first, read a page at a time.</summary>
    public async IAsyncEnumerable<DeploymentView> NewestFirstAsync(string projectKey, long? before = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var cursor = before;
        while (true)
        {
            var rows = await records.ReadNewestAsync(ServiceId, DeploymentsTable, projectKey, cursor, ScanPage, cancellationToken);
            foreach (var row in rows)
            {
                yield return Read(row);
            }

            if (rows.Count < ScanPage) yield break;
            cursor = rows[^1].Position;
        }
    }

    /// <summary>
    /// The delivery seen with this id or this payload since <paramref name="since"/>, if any; and where each of its keys
    /// was remembered before (older rows, to be rewritten in place).
    /// </summary>
    public async Task<(GitDelivery? Earlier, IReadOnlyDictionary<string, long> Positions)> FindDeliveryAsync(
        string projectKey, string? deliveryId, string payloadSha256, DateTimeOffset since)
    {
        GitDelivery? earlier = null;
        var positions = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var key in DeliveryKeys(deliveryId, payloadSha256))
        {
            if (await records.FindAsync(ServiceId, DeliveriesTable, projectKey, key, CancellationToken.None) is not { } row) continue;
            positions[key] = row.Position;
            var delivery = JsonSerializer.Deserialize<GitDelivery>(row.Payload, Json)!;
            if (delivery.ReceivedAt > since && (earlier is null || delivery.ReceivedAt > earlier.ReceivedAt)) earlier = delivery;
        }

        return (earlier, positions);
    }

    /// <summary>The project is deleted: its history and deliveries go, so a project created again with its name starts empty.</summary>
    public async Task ForgetAsync(string projectKey)
    {
        await records.DeletePartitionAsync(ServiceId, DeploymentsTable, projectKey, CancellationToken.None);
        await records.DeletePartitionAsync(ServiceId, DeliveriesTable, projectKey, CancellationToken.None);
    }

    private static DeploymentView Read(StoredRecord row) => JsonSerializer.Deserialize<DeploymentView>(row.Payload, Json)! with { Sequence = row.Position };

    private static IEnumerable<string> DeliveryKeys(string? deliveryId, string payloadSha256)
    {
        yield return "sha256:" + payloadSha256;
        if (deliveryId is not null) yield return "id:" + deliveryId;
    }
}
