using System.Text.Json;
using Orleans.Metadata;

namespace Actors.Extensions.Streams;

/// <summary>
/// On a grain class that implements <see cref="ILogConsumer{T}"/>: every log stream of the namespace delivers its items to the
/// grain of this class whose key is the stream's key, activating it when needed, whether or not anyone subscribed. The
/// attribute becomes a property of the grain type in Orleans' cluster manifest, so every silo's log grains find the consumers.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class ImplicitLogConsumerAttribute(string @namespace) : Attribute, IGrainPropertiesProviderAttribute
{
    internal const string PropertyPrefix = "actors.log-consumer.";

    public string Namespace { get; } = @namespace;

    public void Populate(IServiceProvider services, Type grainClass, GrainType grainType, Dictionary<string, string> properties)
    {
        ArgumentNullException.ThrowIfNull(properties);
        _ = new LogStreamId(Namespace, "-"); // Validates the namespace where the mistake is made: at silo start.
        properties[PropertyPrefix + Namespace] = "true";
    }
}

/// <summary>
/// Implemented by grain classes with an <see cref="ImplicitLogConsumerAttribute"/>. Delivery is at least once and in order:
/// after a crash the items after the last acknowledged batch come again, so a consumer that must apply each item once keeps
/// the last position it applied (in its state) and skips what it has seen.
/// </summary>
public interface ILogConsumer<T> : ILogConsumerGrain
{
    Task OnNextBatchAsync(LogStreamId stream, IReadOnlyList<LogItem<T>> items);

    Task OnCompletedAsync(LogStreamId stream) => Task.CompletedTask;

    // The log grain calls the untyped grain interface; this turns the stored JSON back into T for the typed callbacks.
    Task ILogConsumerGrain.DeliverLogEntries(LogDelivery delivery) => LogConsumerAdapter.DeliverAsync(this, delivery);
}

/// <summary>
/// The grain interface a log grain calls on an implicit consumer, whatever its item type. Consumers implement it through
/// <see cref="ILogConsumer{T}"/>; nothing else should call it.
/// </summary>
[Alias("actors.log.ILogConsumerGrain")]
public interface ILogConsumerGrain : IGrainWithStringKey
{
    [Alias("deliver")]
    Task DeliverLogEntries(LogDelivery delivery);
}

/// <summary>A batch of one stream's stored entries, in order, for an implicit consumer.</summary>
[GenerateSerializer, Immutable, Alias("actors.log.delivery")]
public sealed record LogDelivery([property: Id(0)] LogStreamId Stream, [property: Id(1)] LogRecord[] Records);

internal static class LogConsumerAdapter
{
    public static async Task DeliverAsync<T>(ILogConsumer<T> consumer, LogDelivery delivery)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        var items = new List<LogItem<T>>(delivery.Records.Length);
        var completed = false;
        foreach (var record in delivery.Records)
        {
            if (record.IsCompletion)
            {
                completed = true;
                break;
            }

            items.Add(LogJson.ToItem<T>(record));
        }

        if (items.Count > 0)
        {
            await consumer.OnNextBatchAsync(delivery.Stream, items);
        }

        if (completed)
        {
            await consumer.OnCompletedAsync(delivery.Stream);
        }
    }
}

/// <summary>Items travel and rest as JSON, so stored history stays readable across versions of the item types.</summary>
internal static class LogJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    public static string Serialize<T>(T item) => JsonSerializer.Serialize(item, Options);

    public static LogItem<T> ToItem<T>(LogRecord record) =>
        new(JsonSerializer.Deserialize<T>(record.Payload!, Options)!, new LogPosition(record.Seq));
}
