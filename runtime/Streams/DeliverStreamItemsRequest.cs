using System.Collections.Concurrent;
using System.ComponentModel;
using System.Reflection;
using System.Text.Json;

namespace Actors.Runtime;

/// <summary>
/// Carries a batch of a stream to an implicitly subscribed grain. Public fields, because it crosses the wire like the
/// generated requests do.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class DeliverStreamItemsRequest : GrainRequest<VoidResult>
{
    public string Namespace = "";
    public string Key = "";
    public StreamRecord[] Records = [];

    public override string InterfaceName => "IStreamConsumer";

    public override string MethodName => "OnNextBatchAsync";

    public override ValueTask<VoidResult> InvokeAsync(object grain) =>
        FromTask(StreamConsumerInvoker.For(grain.GetType())(grain, new StreamId(Namespace, Key), Records,
            ((Grain)grain).Activation.Runtime.Options.SerializerOptions));
}

/// <summary>Calls a grain's <see cref="IStreamConsumer{T}"/> with typed items: one compiled path per grain class.</summary>
internal static class StreamConsumerInvoker
{
    private delegate Task Invoker(object grain, StreamId stream, StreamRecord[] records, JsonSerializerOptions json);

    private static readonly ConcurrentDictionary<Type, Invoker> Invokers = new();

    public static Func<object, StreamId, StreamRecord[], JsonSerializerOptions, Task> For(Type grainClass)
    {
        var invoker = Invokers.GetOrAdd(grainClass, Build);
        return (grain, stream, records, json) => invoker(grain, stream, records, json);
    }

    private static Invoker Build(Type grainClass)
    {
        var consumer = grainClass.GetInterfaces().SingleOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IStreamConsumer<>))
            ?? throw new InvalidOperationException($"{grainClass.Name} has an implicit stream subscription but does not implement IStreamConsumer<T> (exactly once).");
        var method = typeof(StreamConsumerInvoker).GetMethod(nameof(InvokeTyped), BindingFlags.NonPublic | BindingFlags.Static)!
            .MakeGenericMethod(consumer.GetGenericArguments()[0]);
        return method.CreateDelegate<Invoker>();
    }

    private static async Task InvokeTyped<T>(object grain, StreamId stream, StreamRecord[] records, JsonSerializerOptions json)
    {
        var consumer = (IStreamConsumer<T>)grain;
        var items = new List<StreamItem<T>>(records.Length);
        var completed = false;
        foreach (var record in records)
        {
            if (record.IsCompletion)
            {
                completed = true;
                break;
            }

            items.Add(new StreamItem<T>(JsonSerializer.Deserialize<T>(record.Payload!, json)!, new StreamSequenceToken(record.Seq)));
        }

        if (items.Count > 0)
        {
            await consumer.OnNextBatchAsync(stream, items);
        }

        if (completed)
        {
            await consumer.OnCompletedAsync(stream);
        }
    }
}
