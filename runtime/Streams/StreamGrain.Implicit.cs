using Microsoft.Extensions.Logging;

namespace Actors.Runtime;

/// <summary>
/// Implicit subscriptions: each grain type subscribed to the namespace gets every item, in order, at least once, with a
/// cursor stored after each acknowledged batch. While a consumer lags, a reminder keeps the stream alive across crashes:
/// it reactivates the stream on whichever silo owns it, and delivery resumes from the stored cursor.
/// </summary>
internal sealed partial class StreamGrain
{
    private const string DeliveryReminder = "actors.stream.delivery";
    private static readonly TimeSpan DeliveryReminderPeriod = TimeSpan.FromMinutes(1);

    private readonly Dictionary<string, long> _cursors = new(StringComparer.Ordinal);
    private readonly HashSet<string> _delivering = new(StringComparer.Ordinal);
    private IReadOnlyList<string> _consumers = [];
    private bool _reminderRegistered;

    private async Task LoadImplicitConsumersAsync(CancellationToken cancellationToken)
    {
        _consumers = Activation.Runtime.Registry.ImplicitConsumersOf(_id.Namespace);
        if (_consumers.Count == 0)
        {
            return;
        }

        var stored = await _store.ReadCursorsAsync(_serviceId, _id, cancellationToken);
        foreach (var consumer in _consumers)
        {
            _cursors[consumer] = stored.GetValueOrDefault(consumer, _first - 1);
        }

        _reminderRegistered = Activation.Runtime.Reminders.IsAvailable && (await GetReminder(DeliveryReminder)) is not null;
        StartDeliveries();
    }

    private void OnItemsStored()
    {
        if (_consumers.Count == 0)
        {
            return;
        }

        if (!_reminderRegistered && Activation.Runtime.Reminders.IsAvailable)
        {
            _reminderRegistered = true;
            _ = RegisterDeliveryReminderAsync();
        }

        StartDeliveries();
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        StartDeliveries();
        if (_delivering.Count == 0 && _consumers.All(consumer => _cursors[consumer] >= _last))
        {
            _reminderRegistered = false;
            await UnregisterReminder(DeliveryReminder);
            // An append during the unregister may have registered it again, or found it still registered: settle it.
            if (!_reminderRegistered && _consumers.Any(consumer => _cursors[consumer] < _last))
            {
                _reminderRegistered = true;
                await RegisterDeliveryReminderAsync();
            }
        }
    }

    private async Task RegisterDeliveryReminderAsync()
    {
        try
        {
            await RegisterOrUpdateReminder(DeliveryReminder, DeliveryReminderPeriod, DeliveryReminderPeriod);
        }
        catch (Exception exception)
        {
            _reminderRegistered = false;
            _logger.LogWarning(exception, "Registering the delivery reminder of stream {Stream} failed", _id);
        }
    }

    private void StartDeliveries()
    {
        foreach (var consumer in _consumers)
        {
            if (!_retired && _cursors[consumer] < _last && _delivering.Add(consumer))
            {
                _ = DeliverAsync(consumer);
            }
        }
    }

    private async Task DeliverAsync(string consumer)
    {
        CallChainNode.Current = null; // Started by whichever append stored the items; not part of its call.
        var backoff = TimeSpan.FromMilliseconds(100);
        try
        {
            while (!_retired && _cursors[consumer] < _last)
            {
                var records = await RecordsAsync(Math.Max(_cursors[consumer] + 1, _first), _options.MaxReadBatch);
                if (records.Length == 0)
                {
                    return;
                }

                try
                {
                    var request = new DeliverStreamItemsRequest { Namespace = _id.Namespace, Key = _id.Key, Records = records };
                    await Activation.Runtime.Invoke(new GrainId(consumer, _id.Key), request);
                }
                catch (Exception exception) when (!_retired)
                {
                    _logger.LogWarning(exception, "Delivering stream {Stream} to {Consumer} failed; retrying in {Delay}", _id, consumer, backoff);
                    await Task.Delay(backoff);
                    backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
                    continue;
                }

                backoff = TimeSpan.FromMilliseconds(100);
                _cursors[consumer] = records[^1].Seq;
                try
                {
                    await _store.WriteCursorAsync(_serviceId, _id, consumer, records[^1].Seq, CancellationToken.None);
                }
                catch (Exception exception)
                {
                    // Delivery is at least once: a lost cursor write means the batch may come again after a crash.
                    _logger.LogWarning(exception, "Storing the cursor of {Consumer} on stream {Stream} failed", consumer, _id);
                }
            }
        }
        finally
        {
            _delivering.Remove(consumer);
        }
    }
}
