using System.Text.Json;
using Actors.Extensions.Records;
using Microsoft.Extensions.Options;

namespace CloudDeck.Grains.Notifications;

/// <summary>
/// Webhook endpoints' delivery logs as rows of the record tables, one partition per endpoint, each delivery at its own
/// sequence: the endpoint grain keeps only the deliveries still pending, so its state stays small however long the log.
/// A pending delivery's row is rewritten after each attempt, so the log shows it as it stands.
/// </summary>
public sealed class WebhookDeliveryLog(IRecordStore records, IOptions<Orleans.Configuration.ClusterOptions> cluster)
{
    public const string Table = "webhook-deliveries";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.General);

    private string ServiceId => cluster.Value.ServiceId;

    public Task WriteAsync(string endpointKey, IEnumerable<WebhookDeliveryRecord> deliveries)
    {
        var rows = deliveries.Select(d => new RecordWrite(Table, endpointKey, d.Id, JsonSerializer.Serialize(d, Json), d.Sequence)).ToList();
        return rows.Count == 0 ? Task.CompletedTask : records.WriteAsync(ServiceId, rows, CancellationToken.None);
    }

    /// <summary>Up to <paramref name="limit"/> deliveries below sequence <paramref name="before"/>, newest first, and the next page's start.</summary>
    public async Task<(IReadOnlyList<WebhookDeliveryRecord> Page, long? NextBefore)> PageAsync(string endpointKey, long? before, int limit)
    {
        var rows = await records.ReadNewestAsync(ServiceId, Table, endpointKey, before, limit + 1, CancellationToken.None);
        var page = rows.Take(limit).Select(Read).ToList();
        return (page, rows.Count > limit ? page[^1].Sequence : null);
    }

    public async Task<WebhookDeliveryRecord?> FindAsync(string endpointKey, string deliveryId) =>
        await records.FindAsync(ServiceId, Table, endpointKey, deliveryId, CancellationToken.None) is { } row ? Read(row) : null;

    public Task DeleteAsync(string endpointKey) => records.DeletePartitionAsync(ServiceId, Table, endpointKey, CancellationToken.None);

    private static WebhookDeliveryRecord Read(StoredRecord row) =>
        JsonSerializer.Deserialize<WebhookDeliveryRecord>(row.Payload, Json) ?? throw new JsonException($"Delivery row '{row.Key}' is empty.");
}
